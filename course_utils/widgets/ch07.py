"""Chapter 07: an IoU explorer (two boxes moved by sliders) and an NMS explorer (score and IoU thresholds)."""
import html

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["iou_explorer", "nms_explorer"]

register({
    "ch07w.iou_title": {"ja": "IoU 探検: 2 つの箱をスライダーで動かし、交差 (intersection) と和集合 (union) を見ましょう",
                        "en": "IoU explorer: move the two boxes with the sliders and watch the intersection and the union"},
    "ch07w.ax": {"ja": "A の x1", "en": "A x1"},
    "ch07w.ay": {"ja": "A の y1", "en": "A y1"},
    "ch07w.bx": {"ja": "B の x1", "en": "B x1"},
    "ch07w.by": {"ja": "B の y1", "en": "B y1"},
    "ch07w.bw": {"ja": "B の幅", "en": "B width"},
    "ch07w.bh": {"ja": "B の高さ", "en": "B height"},
    "ch07w.box_a": {"ja": "箱 A", "en": "box A"},
    "ch07w.box_b": {"ja": "箱 B", "en": "box B"},
    "ch07w.inter": {"ja": "交差 (intersection)", "en": "intersection"},
    "ch07w.union": {"ja": "和集合 (union) = 塗られた部分全体", "en": "union = all the shaded area"},
    "ch07w.iou_line": {"ja": "IoU = 交差 / 和集合 = {inter:g} / {union:g} = {iou:.3f}",
                       "en": "IoU = intersection / union = {inter:g} / {union:g} = {iou:.3f}"},
    "ch07w.iou_readout": {"ja": "A = {a}、B = {b}: 交差 {inter:g}、和集合 {area_a:g} + {area_b:g} − {inter:g} = {union:g}、"
                                "IoU = {iou:.3f} ({verdict})",
                          "en": "A = {a}, B = {b}: intersection {inter:g}, union {area_a:g} + {area_b:g} − {inter:g} = "
                                "{union:g}, IoU = {iou:.3f} ({verdict})"},
    "ch07w.hit": {"ja": "IoU ≥ 0.5: 検出として「当たり」", "en": "IoU ≥ 0.5: a hit as a detection"},
    "ch07w.miss": {"ja": "IoU < 0.5: 検出として「外れ」", "en": "IoU < 0.5: a miss as a detection"},
    "ch07w.nms_title": {"ja": "NMS 探検: スコアの閾値と IoU の閾値を変えて、どの箱が残るかを見ましょう",
                        "en": "NMS explorer: change the score threshold and the IoU threshold; see which boxes survive"},
    "ch07w.score_thr": {"ja": "スコア閾値", "en": "score threshold"},
    "ch07w.iou_thr": {"ja": "IoU 閾値", "en": "IoU threshold"},
    "ch07w.nms_summary": {"ja": "候補 {n} 個 → スコア >= {s:.2f} は {above} 個 → NMS (IoU > {i:.2f} を除去) 後 {kept} 個 "
                                "(抑制 {suppressed} 個)",
                          "en": "{n} candidates → {above} with score >= {s:.2f} → {kept} after NMS (IoU > {i:.2f} "
                                "removed; {suppressed} suppressed)"},
    "ch07w.kept": {"ja": "残った箱", "en": "kept"},
    "ch07w.suppressed": {"ja": "抑制された箱", "en": "suppressed"},
    "ch07w.below": {"ja": "スコア閾値未満", "en": "below the score threshold"},
    "ch07w.truth": {"ja": "正解", "en": "ground truth"},
})


# ---------------------------------------------------------------------------------- IoU
def _iou_state(a, b):
    """Everything the IoU widget shows, for two xyxy boxes."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    w, h = np.maximum(hi - lo, 0.0)
    inter = float(w * h)
    area_a = float((a[2] - a[0]) * (a[3] - a[1]))
    area_b = float((b[2] - b[0]) * (b[3] - b[1]))
    union = area_a + area_b - inter
    return {"box_a": tuple(a.tolist()), "box_b": tuple(b.tolist()),
            "inter_box": tuple(np.r_[lo, hi].tolist()) if inter > 0 else None,
            "inter": inter, "area_a": area_a, "area_b": area_b, "union": union,
            "iou": inter / union if union > 0 else 0.0}


def iou_readout_html(state) -> str:
    verdict = t("ch07w.hit") if state["iou"] >= 0.5 else t("ch07w.miss")
    fmt = lambda box: "[" + ", ".join(f"{v:g}" for v in box) + "]"  # noqa: E731
    text = t("ch07w.iou_readout", a=fmt(state["box_a"]), b=fmt(state["box_b"]), inter=state["inter"],
             area_a=state["area_a"], area_b=state["area_b"], union=state["union"], iou=state["iou"], verdict=verdict)
    return f"<p class='cu-iou-readout'>{html.escape(text)}</p>"


def _draw_iou(state, canvas):
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    for key, colour, name in (("box_a", "tab:blue", t("ch07w.box_a")), ("box_b", "tab:orange", t("ch07w.box_b"))):
        x1, y1, x2, y2 = state[key]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, facecolor=colour, alpha=0.25, edgecolor=colour,
                               linewidth=2, label=name))
    if state["inter_box"] is not None:
        x1, y1, x2, y2 = state["inter_box"]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, facecolor="tab:red", alpha=0.55, hatch="//",
                               edgecolor="darkred", linewidth=1.5, label=t("ch07w.inter")))
    ax.plot([], [], color="grey", alpha=0.5, linewidth=8, label=t("ch07w.union"))
    ax.set_xlim(0, canvas)
    ax.set_ylim(canvas, 0)  # image coordinates: y grows downwards
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(t("ch07w.iou_line", inter=state["inter"], union=state["union"], iou=state["iou"]), fontsize=9)
    fig.tight_layout()
    return fig


def iou_explorer(box_a=(20, 20, 60, 60), box_b=(40, 30, 90, 80), canvas: int = 100):
    """Sliders move box A (``ax``, ``ay``: its top-left corner, size fixed) and box B (``bx``, ``by``, ``bw``, ``bh``).

    Boxes are xyxy in a ``canvas`` × ``canvas`` picture (y downwards, as in images). The figure
    fills both boxes (their union), hatches the intersection and prints IoU = intersection /
    union; ``widget.readout`` says the same in text. ``widget.state``: ``box_a``, ``box_b``,
    ``inter_box`` (None when they do not overlap), ``inter``, ``area_a``, ``area_b``,
    ``union``, ``iou``.
    """
    a = [float(v) for v in box_a]
    aw, ah = a[2] - a[0], a[3] - a[1]
    b = [float(v) for v in box_b]

    def slider(value, key, top, low=0):  # 380 px with an 80 px label: a track of about 220 px at 1280×720
        return W.IntSlider(value=int(value), min=low, max=int(top), description=t(key), continuous_update=False,
                           **lecture_layout("80px", "380px"))

    controls = {
        "ax": slider(a[0], "ch07w.ax", canvas - aw), "ay": slider(a[1], "ch07w.ay", canvas - ah),
        "bx": slider(b[0], "ch07w.bx", canvas - 1), "by": slider(b[1], "ch07w.by", canvas - 1),
        "bw": slider(b[2] - b[0], "ch07w.bw", canvas, low=1), "bh": slider(b[3] - b[1], "ch07w.bh", canvas, low=1),
    }
    readout = W.HTML()

    def compute(ax, ay, bx, by, bw, bh):
        return _iou_state((ax, ay, ax + aw, ay + ah), (bx, by, bx + bw, by + bh))

    def draw(state):
        readout.value = iou_readout_html(state)
        return _draw_iou(state, canvas)

    box = explorer(controls, compute, draw, title=t("ch07w.iou_title"),
                   layout=[["ax", "ay"], ["bx", "by"], ["bw", "bh"], "output", readout])
    box.readout = readout
    box.add_class("cu-iou-explorer")
    return box


# ---------------------------------------------------------------------------------- NMS
def _nms_state(boxes, scores, score_threshold, iou_threshold):
    """Greedy NMS (torchvision's rule: suppress when IoU > threshold) on the boxes above the score threshold.

    Also records, for every suppressed box, the kept box that removed it.
    """
    import torch
    from torchvision.ops import box_iou, nms

    above = np.flatnonzero(scores >= score_threshold)
    if above.size:
        keep_local = nms(torch.from_numpy(boxes[above]).double(), torch.from_numpy(scores[above]).double(),
                         float(iou_threshold)).numpy()
        kept = above[keep_local]
    else:
        kept = np.zeros(0, dtype=np.int64)
    suppressed = np.setdiff1d(above, kept)
    by = {}
    if suppressed.size:
        ious = box_iou(torch.from_numpy(boxes[suppressed]).double(), torch.from_numpy(boxes[kept]).double()).numpy()
        for row, i in enumerate(suppressed):  # the first kept box (highest score) that overlaps it too much
            hits = [int(kept[j]) for j in range(len(kept)) if ious[row, j] > iou_threshold and scores[kept[j]] >= scores[i]]
            by[int(i)] = hits[0] if hits else None
    return {"score_threshold": float(score_threshold), "iou_threshold": float(iou_threshold),
            "n": len(boxes), "above": [int(i) for i in above], "kept": [int(i) for i in kept],
            "suppressed": [int(i) for i in suppressed], "suppressed_by": by,
            "n_above": int(above.size), "n_kept": int(kept.size), "n_suppressed": int(suppressed.size)}


def nms_summary(state) -> str:
    return t("ch07w.nms_summary", n=state["n"], s=state["score_threshold"], above=state["n_above"],
             i=state["iou_threshold"], kept=state["n_kept"], suppressed=state["n_suppressed"])


def _draw_nms(state, boxes, scores, image, truth, extent):
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    if image is not None:
        from ..viz import to_display

        ax.imshow(to_display(image))
    else:
        ax.set_xlim(0, extent)
        ax.set_ylim(extent, 0)
    ax.set_aspect("equal")
    above = set(state["above"])
    for i in range(len(boxes)):
        if i in above:
            continue
        x1, y1, x2, y2 = boxes[i]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="lightgrey", linewidth=0.6,
                               linestyle=":"))
    for i in state["suppressed"]:
        x1, y1, x2, y2 = boxes[i]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="grey", linewidth=0.9,
                               linestyle="--"))
    for rank, i in enumerate(state["kept"]):
        x1, y1, x2, y2 = boxes[i]
        colour = plt.cm.tab10(rank % 10)
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=2.2))
        ax.text(x1, y1, f"{scores[i]:.2f}", color="white", fontsize=7, va="bottom",
                bbox=dict(facecolor=colour, alpha=0.85, pad=1, edgecolor="none"))
    if truth is not None:
        for x1, y1, x2, y2 in np.asarray(truth, dtype=float).reshape(-1, 4):
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="white", linewidth=1.2,
                                   linestyle="-."))
    handles = [plt.Line2D([], [], color="tab:blue", lw=2.2, label=t("ch07w.kept")),
               plt.Line2D([], [], color="grey", lw=0.9, ls="--", label=t("ch07w.suppressed")),
               plt.Line2D([], [], color="lightgrey", lw=0.8, ls=":", label=t("ch07w.below"))]
    if truth is not None:
        handles.append(plt.Line2D([], [], color="black", lw=1.2, ls="-.", label=t("ch07w.truth")))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(nms_summary(state), fontsize=7.5, wrap=True)
    fig.tight_layout()
    return fig


def nms_explorer(boxes=None, scores=None, image=None, truth=None, score_threshold: float = 0.3,
                 iou_threshold: float = 0.5):
    """Sliders ``score_threshold`` and ``iou_threshold`` over candidate boxes; kept boxes drawn bold.

    ``boxes`` (n, 4) xyxy and ``scores`` (n,): a detector's raw candidates (default: 60
    detector-like candidates of :func:`course_utils.timing.nms_candidates` in a 300 × 300
    picture); ``image`` drawn below them and ``truth`` (k, 4) ground-truth boxes drawn
    dash-dotted when given. NMS follows torchvision (``IoU > threshold`` suppresses).
    ``widget.state``: ``kept`` (indices, best score first), ``suppressed``, ``above``,
    ``suppressed_by`` (index → the kept box that removed it), the counts ``n``,
    ``n_above``, ``n_kept``, ``n_suppressed`` and both thresholds.
    """
    if boxes is None:
        from ..timing import nms_candidates

        boxes, scores = nms_candidates(60, seed=1, image=300.0, per_object=12)
    boxes = np.asarray(boxes.detach().cpu() if hasattr(boxes, "detach") else boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64).reshape(-1)
    extent = float(max(boxes.max(initial=1.0), 1.0)) * 1.05
    def slider(value, key):  # 440 px with a 120 px label: a track of about 240 px at 1280×720
        return W.FloatSlider(value=value, min=0.0, max=1.0, step=0.05, readout_format=".2f", description=t(key),
                             continuous_update=False, **lecture_layout("120px", "440px"))

    controls = {"score_threshold": slider(score_threshold, "ch07w.score_thr"),
                "iou_threshold": slider(iou_threshold, "ch07w.iou_thr")}
    readout = W.HTML()

    def compute(score_threshold, iou_threshold):
        return _nms_state(boxes, scores, score_threshold, iou_threshold)

    def draw(state):
        readout.value = f"<p class='cu-nms-readout'>{html.escape(nms_summary(state))}</p>"
        return _draw_nms(state, boxes, scores, image, truth, extent)

    box = explorer(controls, compute, draw, title=t("ch07w.nms_title"),
                   layout=[list(controls), "output", readout])
    box.readout = readout
    box.add_class("cu-nms-explorer")
    return box
