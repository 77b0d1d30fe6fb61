"""Chapter 06: move, turn and scale one test image and watch each model's prediction."""
import html

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["transform_explorer"]

register({
    "ch06w.title": {"ja": "テスト画像を動かす・回す・拡大縮小する: それぞれのモデルの予測はどう変わるか",
                    "en": "Shift, rotate and scale a test image: how does each model's prediction change?"},
    "ch06w.index": {"ja": "画像", "en": "image"},
    "ch06w.shift_x": {"ja": "右へ (画素)", "en": "right (px)"},
    "ch06w.shift_y": {"ja": "下へ (画素)", "en": "down (px)"},
    "ch06w.angle": {"ja": "回転 (度)", "en": "rotate (°)"},
    "ch06w.scale": {"ja": "倍率", "en": "scale"},
    "ch06w.input": {"ja": "入力 (正解 {label})", "en": "input (true: {label})"},
    "ch06w.input_nolabel": {"ja": "入力", "en": "input"},
    "ch06w.probs": {"ja": "予測確率", "en": "predicted probability"},
    "ch06w.class": {"ja": "クラス", "en": "class"},
    "ch06w.pred": {"ja": "{name}: {pred} ({p:.2f})", "en": "{name}: {pred} ({p:.2f})"},
    "ch06w.readout": {"ja": "予測 (確率)", "en": "prediction (probability)"},
})


def readout_html(state, name_of) -> str:
    """Each model's prediction as text (✓/✗ against the label): ``<p class="cu-predictions">``."""
    parts = []
    for name, pred in state["pred"].items():
        mark = "" if state["label"] is None else (" ✓" if state["correct"][name] else " ✗")
        text = t("ch06w.pred", name=name, pred=name_of(pred), p=state["probs"][name][pred]) + mark
        parts.append(html.escape(text))
    shift_x, shift_y, angle, scale = state["params"]
    params = f"({shift_x:+.0f}, {shift_y:+.0f}) px, {angle:+.0f}°, ×{scale:.2f}"
    return (f"<p class='cu-predictions'><b>{html.escape(t('ch06w.readout'))}</b> [{params}]: "
            + " · ".join(parts) + "</p>")


def _predict(models, x):
    import torch

    probs = {}
    with torch.no_grad():
        for name, model in models.items():
            was_training = model.training
            model.eval()
            try:
                device = next(model.parameters()).device
            except StopIteration:
                device = x.device
            out = model(x.to(device)).float().softmax(1)[0].cpu().numpy()
            model.train(was_training)
            probs[name] = [float(v) for v in out]
    return probs


def transform_explorer(models: dict, images, transform, class_names=None, labels=None):
    """Sliders for one of ``images`` (N, 1, H, W) and its shift / rotation / scale.

    ``transform(x, shift=(dx, dy), angle=deg, scale=s)`` is the notebook's own affine function
    (x a (1, C, H, W) float tensor). ``models`` maps a name to a classifier returning logits.
    ``widget.state`` holds ``index``, ``label``, ``image`` (H, W array), ``probs`` (name → list),
    ``pred`` (name → class index) and ``correct`` (name → bool, when ``labels`` are given).
    """
    import torch

    images = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float32)
    models = dict(models)

    def slider(kind, key, **range_):  # 400 px with a 90 px label: a track of about 230 px at 1280×720
        return kind(description=t(key), continuous_update=False, **range_, **lecture_layout("90px", "400px"))

    controls = {
        "index": slider(W.IntSlider, "ch06w.index", value=0, min=0, max=len(images) - 1),
        "shift_x": slider(W.FloatSlider, "ch06w.shift_x", value=0.0, min=-8.0, max=8.0, step=1.0),
        "shift_y": slider(W.FloatSlider, "ch06w.shift_y", value=0.0, min=-8.0, max=8.0, step=1.0),
        "angle": slider(W.FloatSlider, "ch06w.angle", value=0.0, min=-180.0, max=180.0, step=5.0),
        "scale": slider(W.FloatSlider, "ch06w.scale", value=1.0, min=0.5, max=1.5, step=0.05),
    }

    def compute(index, shift_x, shift_y, angle, scale):
        x = torch.from_numpy(images[index:index + 1])
        moved = transform(x, shift=(float(shift_x), float(shift_y)), angle=float(angle), scale=float(scale))
        probs = _predict(models, moved)
        pred = {name: int(np.argmax(p)) for name, p in probs.items()}
        label = None if labels is None else int(labels[index])
        state = {"index": int(index), "label": label, "image": moved[0, 0].detach().cpu().numpy(),
                 "probs": probs, "pred": pred, "params": (float(shift_x), float(shift_y), float(angle), float(scale))}
        if label is not None:
            state["correct"] = {name: p == label for name, p in pred.items()}
        return state

    def name_of(k):
        return str(class_names[k]) if class_names is not None else str(k)

    readout = W.HTML()

    def draw(state):
        readout.value = readout_html(state, name_of)   # the same numbers as text (as chapter 01's truth table)
        k = len(next(iter(state["probs"].values())))
        fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [1, 2.6]})
        ax_img.imshow(state["image"], cmap="gray", vmin=0, vmax=1)
        ax_img.axis("off")
        ax_img.set_title(t("ch06w.input", label=name_of(state["label"])) if state["label"] is not None
                         else t("ch06w.input_nolabel"), fontsize=9)
        width = 0.8 / max(1, len(state["probs"]))
        for i, (name, p) in enumerate(state["probs"].items()):
            pred = state["pred"][name]
            ax_bar.bar(np.arange(k) + (i - (len(state["probs"]) - 1) / 2) * width, p, width=width,
                       label=t("ch06w.pred", name=name, pred=name_of(pred), p=p[pred]))
        ax_bar.set_xticks(range(k), [name_of(j) for j in range(k)], fontsize=8,
                          rotation=30 if class_names is not None and max(len(name_of(j)) for j in range(k)) > 3 else 0)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_ylabel(t("ch06w.probs"))
        ax_bar.set_xlabel(t("ch06w.class"))
        # beside the bars, not over them: a confident model's bar reaches 1.0 in any corner of the axes
        ax_bar.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
        fig.tight_layout()
        return fig

    box = explorer(controls, compute, draw, title=t("ch06w.title"),
                   layout=[["index"], ["shift_x", "shift_y"], ["angle", "scale"], "output", readout])
    box.readout = readout
    box.add_class("cu-transform-explorer")
    return box
