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


def build_course():
    """``tools/build_course.py`` as a module (``tools/`` is scripts, not a package), loaded once."""
    import importlib.util
    import sys

    module = sys.modules.get("build_course")
    if module is None or not hasattr(module, "main"):
        spec = importlib.util.spec_from_file_location("build_course", ROOT / "tools" / "build_course.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["build_course"] = module
        spec.loader.exec_module(module)
    return module
