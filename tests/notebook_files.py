"""The course's notebooks, as the tests see them."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = ["00_introduction", "01_perceptron", "02_learning", "03_backprop", "04_convolution",
            "05_pooling", "06_cnn_classification", "07_detection", "08_segmentation", "09_gan"]


def notebooks(lang=None):
    langs = [lang] if lang else ["ja", "en"]
    return sorted(p for la in langs for p in (NOTEBOOKS / la).glob("*.ipynb"))


def slugs():
    return sorted({p.stem for p in notebooks()})

