"""Chapter 08: an up-sampling explorer (nearest, bilinear, transposed convolution, pixel shuffle) and a
dilation explorer (receptive field of stacked dilated 3×3 convolutions, measured by a gradient)."""
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["upsampling_explorer", "upsample", "dilation_explorer", "dilated_footprint"]

METHODS = ("nearest", "bilinear", "transposed", "pixel_shuffle")

register({
    "ch08w.title": {"ja": "アップサンプリング探検: 方法・倍率 s・転置畳み込みのカーネル k を変えて、出力とはんこの重なりを見ましょう",
                    "en": "Up-sampling explorer: change the method, the factor s and the transposed convolution's kernel k; "
                          "watch the output and the overlapping stamps"},
    "ch08w.method": {"ja": "方法", "en": "method"},
    "ch08w.nearest": {"ja": "最近傍", "en": "nearest"},
    "ch08w.bilinear": {"ja": "バイリニア", "en": "bilinear"},
    "ch08w.transposed": {"ja": "転置畳み込み", "en": "transposed conv"},
    "ch08w.pixel_shuffle": {"ja": "ピクセルシャッフル", "en": "pixel shuffle"},
    "ch08w.factor": {"ja": "s (倍率)", "en": "s (factor)"},
    "ch08w.kernel": {"ja": "k (カーネル)", "en": "k (kernel)"},
    "ch08w.input": {"ja": "入力 {h}×{w}", "en": "input {h}×{w}"},
    "ch08w.output": {"ja": "{method} → {h}×{w}", "en": "{method} → {h}×{w}"},
    "ch08w.counts": {"ja": "はんこの重なりの回数 (内側: {values})", "en": "overlapping stamps (inside: {values})"},
    "ch08w.no_counts": {"ja": "(重なりは転置畳み込みだけ)", "en": "(overlaps: transposed convolution only)"},
    "ch08w.summary_transposed": {
        "ja": "出力の高さ = (H − 1)·s + k = ({h} − 1)·{s} + {k} = {ho}。k が s の倍数{even}",
        "en": "output height = (H − 1)·s + k = ({h} − 1)·{s} + {k} = {ho}. k is {even}"},
    "ch08w.even": {"ja": "なので内側の重なりは一様です", "en": "a multiple of s: the inner overlaps are uniform"},
    "ch08w.uneven": {"ja": "ではないので、重なりが場所で変わります (チェッカーボード)",
                     "en": "not a multiple of s: the overlaps vary from place to place (checkerboard)"},
    "ch08w.summary_other": {"ja": "出力の高さ = s·H = {s}·{h} = {ho} (重みを学習しない補間)",
                            "en": "output height = s·H = {s}·{h} = {ho} (interpolation, nothing to learn)"},
    "ch08w.summary_shuffle": {
        "ja": "出力の高さ = s·H = {s}·{h} = {ho}。{c} = s² チャネル (入力の各画素を s² 通りに変えたもの) を s×s のブロックに並べ替えます",
        "en": "output height = s·H = {s}·{h} = {ho}. The {c} = s² channels (the input, varied in s² ways) are rearranged "
              "into s×s blocks"},
    "ch08w.dil_title": {"ja": "膨張率探検: 3×3 畳み込みを 3 層重ね、各層の膨張率 d を変えて、出力の中央 1 画素の受容野を見ましょう",
                        "en": "Dilation explorer: three stacked 3×3 convolutions; change each layer's dilation d and watch the "
                              "receptive field of the centre output pixel"},
    "ch08w.dil": {"ja": "層 {i} の d", "en": "layer {i}: d"},
    "ch08w.dil_plot": {"ja": "勾配が届く入力画素 (受容野 {r}×{r})", "en": "input pixels reached by the gradient ({r}×{r} field)"},
    "ch08w.dil_summary": {
        "ja": "受容野 = 1 + 2·({terms}) = {r} 画素 (勾配で測定: {measured})。受容野の中で使われる画素 {coverage:.0%}{grid}",
        "en": "receptive field = 1 + 2·({terms}) = {r} pixels (measured by the gradient: {measured}). "
              "Pixels used inside it: {coverage:.0%}{grid}"},
    "ch08w.gridding": {"ja": " — 穴がある (グリッド化)", "en": " — holes (gridding)"},
})


def _pattern(size=6):
    """A small test image: a bright diagonal bar and a dot on a dark background, values in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.clip(1.0 - np.abs(yy - xx) / 1.5, 0, 1) * 0.8
    image[size // 5, size - 1 - size // 5] = 1.0
    return image.astype(np.float32)


def upsample(image, method: str, factor: int, kernel: int = 3):
    """Up-sample a (H, W) float image with torch; returns ``(output, counts)``.

    ``counts`` (transposed convolution only, else None) is how many kernel stamps cover each
    output pixel: a transposed convolution with stride ``factor`` and an all-ones kernel of
    size ``kernel`` applied to an all-ones input. The transposed convolution uses an averaging
    kernel (all ones / ``(kernel / factor)**2``). Pixel shuffle uses ``factor**2`` channels made
    from the image by shifting it, so each s×s block shows neighbouring values.
    """
    import torch
    import torch.nn.functional as F

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]
    counts = None
    if method == "nearest":
        out = F.interpolate(x, scale_factor=factor, mode="nearest")
    elif method == "bilinear":
        out = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    elif method == "transposed":
        weight = torch.ones(1, 1, kernel, kernel) / (kernel / factor) ** 2
        out = F.conv_transpose2d(x, weight, stride=factor)
        counts = F.conv_transpose2d(torch.ones_like(x), torch.ones(1, 1, kernel, kernel), stride=factor)[0, 0].numpy()
    else:
        shifts = [torch.roll(x, shifts=(i, j), dims=(2, 3)) for i in range(factor) for j in range(factor)]
        out = F.pixel_shuffle(torch.cat(shifts, dim=1), factor)
    return out[0, 0].numpy(), counts


def _compute(image, method, factor, kernel):
    out, counts = upsample(image, method, factor, kernel)
    h, w = image.shape
    state = {"method": method, "factor": int(factor), "kernel": int(kernel), "image": image, "output": out,
             "input_shape": (h, w), "output_shape": tuple(out.shape), "counts": counts,
             "uniform": None, "inner_counts": None}
    if counts is not None:
        inner = counts[kernel:-kernel, kernel:-kernel] if min(counts.shape) > 2 * kernel else counts
        state["inner_counts"] = sorted(int(v) for v in np.unique(inner))
        state["uniform"] = len(state["inner_counts"]) == 1
    return state


def _draw(state):
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    h, w = state["input_shape"]
    ho, wo = state["output_shape"]
    method_name = t(f"ch08w.{state['method']}")
    axes[0].imshow(state["image"], cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title(t("ch08w.input", h=h, w=w), fontsize=10)
    axes[1].imshow(state["output"], cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    axes[1].set_title(t("ch08w.output", method=method_name, h=ho, w=wo), fontsize=10)
    s, k = state["factor"], state["kernel"]
    if state["counts"] is not None:
        counts = state["counts"]
        axes[2].imshow(counts, cmap="magma", vmin=0, vmax=max(1, counts.max()), interpolation="nearest")
        if counts.size <= 900:
            for (i, j), v in np.ndenumerate(counts):
                axes[2].text(j, i, int(v), ha="center", va="center", fontsize=5,
                             color="white" if v < counts.max() * 0.6 else "black")
        axes[2].set_title(t("ch08w.counts", values=state["inner_counts"]), fontsize=10)
        summary = t("ch08w.summary_transposed", h=h, s=s, k=k, ho=ho,
                    even=t("ch08w.even" if state["uniform"] else "ch08w.uneven"))
    else:
        axes[2].text(0.5, 0.5, t("ch08w.no_counts"), ha="center", va="center", transform=axes[2].transAxes)
        if state["method"] == "pixel_shuffle":
            summary = t("ch08w.summary_shuffle", s=s, h=h, ho=ho, c=s * s)
        else:
            summary = t("ch08w.summary_other", s=s, h=h, ho=ho)
    for ax in axes:
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(summary, fontsize=9)
    fig.tight_layout()
    return fig


def upsampling_explorer(image=None, method: str = "transposed", factor: int = 2, kernel: int = 3):
    """Toggle ``method``, sliders ``factor`` (2–4) and ``kernel`` (1–8, used by the transposed convolution).

    ``image``: a small (H, W) float array in [0, 1] (default: a 6×6 pattern). ``widget.state`` holds
    ``output``, ``output_shape``, ``counts`` (stamps per output pixel, transposed convolution only),
    ``inner_counts`` (the distinct counts away from the border) and ``uniform`` (one inner count:
    no checkerboard), with the control values.
    """
    image = _pattern() if image is None else np.asarray(image, dtype=np.float32)
    controls = {  # a 100 px label and 420 px: slider tracks of about 240 px at 1280×720
        "method": W.ToggleButtons(options=[(t(f"ch08w.{m}"), m) for m in METHODS], value=method,
                                  description=t("ch08w.method"), **lecture_layout("60px", "680px", button_width="150px")),
        "factor": W.IntSlider(value=factor, min=2, max=4, description=t("ch08w.factor"), continuous_update=False,
                              **lecture_layout("100px", "420px")),
        "kernel": W.IntSlider(value=kernel, min=1, max=8, description=t("ch08w.kernel"), continuous_update=False,
                              **lecture_layout("100px", "420px")),
    }
    box = explorer(controls, lambda **v: _compute(image, **v), _draw, title=t("ch08w.title"),
                   layout=[["method"], ["factor", "kernel"], "output"])
    box.add_class("cu-upsampling-explorer")
    return box


def dilated_footprint(dilations, kernel: int = 3):
    """|∂ centre output / ∂ input| of stacked all-ones ``kernel``×``kernel`` convolutions with these dilations.

    Returns ``(footprint, receptive_field)``: the non-zero part of the gradient (a square array) and
    the formula's receptive field 1 + Σ (k − 1)·d.
    """
    import torch

    r = 1 + sum((kernel - 1) * int(d) for d in dilations)
    size = r + 4
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    y = x
    for d in dilations:
        weight = torch.ones(1, 1, kernel, kernel)
        y = torch.nn.functional.conv2d(y, weight, padding=int(d) * (kernel - 1) // 2, dilation=int(d))
    y[0, 0, size // 2, size // 2].backward()
    grad = x.grad[0, 0].numpy()
    ys, xs = np.nonzero(grad)
    return grad[ys.min():ys.max() + 1, xs.min():xs.max() + 1], r


def _dil_compute(**values):
    dilations = [int(values[f"d{i}"]) for i in range(1, len(values) + 1)]
    footprint, r = dilated_footprint(dilations)
    return {"dilations": dilations, "receptive_field": r, "measured": int(footprint.shape[0]), "footprint": footprint,
            "coverage": float((footprint > 0).mean()), "gridding": bool((footprint == 0).any())}


def _dil_draw(state):
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.imshow(state["footprint"] > 0, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(t("ch08w.dil_plot", r=state["measured"]), fontsize=10)
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    terms = " + ".join(str(d) for d in state["dilations"])
    fig.suptitle(t("ch08w.dil_summary", terms=terms, r=state["receptive_field"], measured=state["measured"],
                   coverage=state["coverage"], grid=t("ch08w.gridding") if state["gridding"] else ""), fontsize=8)
    fig.tight_layout()
    return fig


def dilation_explorer(dilations=(2, 2, 2), max_dilation: int = 6):
    """Sliders ``d1``, ``d2``, ``d3``: the dilations of three stacked 3×3 convolutions.

    ``widget.state`` holds ``receptive_field`` (formula 1 + 2·Σd), ``measured`` (side of the
    gradient's footprint), ``coverage`` (share of the field's pixels that reach the output),
    ``gridding`` (holes in the field) and ``footprint``.
    """
    controls = {f"d{i}": W.IntSlider(value=int(d), min=1, max=max_dilation, description=t("ch08w.dil", i=i),
                                     continuous_update=False, **lecture_layout("90px", "400px"))
                for i, d in enumerate(dilations, start=1)}   # a track of about 230 px at 1280×720
    box = explorer(controls, _dil_compute, _dil_draw, title=t("ch08w.dil_title"))
    box.add_class("cu-dilation-explorer")
    return box
