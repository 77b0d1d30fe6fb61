"""Chapter 05: a pooling explorer on a real photo (kernel size, stride, max / average)."""
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["pooling_explorer", "pooling_figure"]

register({
    "ch05w.title": {"ja": "プーリング探検: カーネルサイズ k・ストライド s・max / average を変えて、出力とその形を見ましょう",
                    "en": "Pooling explorer: change the kernel size k, the stride s and max / average; "
                          "watch the output and its shape"},
    "ch05w.kernel": {"ja": "k (窓)", "en": "k (window)"},
    "ch05w.stride": {"ja": "s (ストライド)", "en": "s (stride)"},
    "ch05w.mode": {"ja": "種類", "en": "mode"},
    "ch05w.max": {"ja": "最大 (max)", "en": "max"},
    "ch05w.avg": {"ja": "平均 (average)", "en": "average"},
    "ch05w.input": {"ja": "入力 {h}×{w} (チャネル {c})", "en": "input {h}×{w} ({c} channels)"},
    "ch05w.output": {"ja": "{mode} k={k}, s={s} → {h}×{w}", "en": "{mode} k={k}, s={s} → {h}×{w}"},
    "ch05w.max_pool": {"ja": "最大値プーリング", "en": "max pooling"},
    "ch05w.avg_pool": {"ja": "平均値プーリング", "en": "average pooling"},
    "ch05w.summary": {"ja": "出力の大きさ: floor(({h} − {k}) / {s}) + 1 = {ho},  floor(({w} − {k}) / {s}) + 1 = {wo}  "
                            "→ 画素数は入力の {ratio:.1%}。窓の重なり: {overlap}",
                      "en": "output size: floor(({h} − {k}) / {s}) + 1 = {ho},  floor(({w} − {k}) / {s}) + 1 = {wo}  "
                            "→ {ratio:.1%} of the input pixels. Overlapping windows: {overlap}"},
    "ch05w.yes": {"ja": "あり (s < k)", "en": "yes (s < k)"},
    "ch05w.no": {"ja": "なし", "en": "no"},
    "ch05w.gap": {"ja": "(s > k なので窓の間の画素は使われません)", "en": "(s > k: pixels between windows are skipped)"},
    "ch05w.zoom": {"ja": "中央 {n}×{n} 画素の拡大: 上の段の窓 → 下の出力画素",
                   "en": "centre {n}×{n} pixels: windows of the top row → output pixels below"},
})


def pool_image(image, k: int, stride: int, mode: str = "max") -> np.ndarray:
    """Pool a (H, W) or (H, W, C) image with torch (floor, like ``F.max_pool2d``); float32 out."""
    import torch
    import torch.nn.functional as F

    arr = np.asarray(image, dtype=np.float32)
    chw = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    x = torch.from_numpy(np.ascontiguousarray(chw))[None]
    y = F.max_pool2d(x, k, stride) if mode == "max" else F.avg_pool2d(x, k, stride)
    out = y[0].numpy()
    return out[0] if arr.ndim == 2 else np.transpose(out, (1, 2, 0))


def _compute(image, k, stride, mode):
    h, w = image.shape[:2]
    out = pool_image(image, k, stride, mode)
    ho, wo = out.shape[:2]
    return {"k": int(k), "stride": int(stride), "mode": mode, "input_shape": tuple(image.shape),
            "output_shape": tuple(out.shape), "output": out, "image": image,
            "ratio": (ho * wo) / (h * w), "overlap": stride < k, "gap": stride > k}


def _draw(state):
    image, out = state["image"], state["output"]
    h, w = image.shape[:2]
    ho, wo = state["output_shape"][:2]
    k, s = state["k"], state["stride"]
    mode_name = t("ch05w.max_pool" if state["mode"] == "max" else "ch05w.avg_pool")
    fig = plt.figure(figsize=(11, 4.6))
    grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1.3, 0.9])
    cmap = "gray" if image.ndim == 2 else None
    ax_in, ax_out = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
    ax_in.imshow(image, cmap=cmap, vmin=0, vmax=255)
    ax_in.set_title(t("ch05w.input", h=h, w=w, c=1 if image.ndim == 2 else image.shape[2]), fontsize=10)
    # the output drawn over the same area as the input: bigger pixels, not a resized image
    ax_out.imshow(np.clip(out, 0, 255).astype(np.uint8), cmap=cmap, vmin=0, vmax=255,
                  interpolation="nearest")
    ax_out.set_title(t("ch05w.output", mode=mode_name, k=k, s=s, h=ho, w=wo), fontsize=10)
    # zoom: a few windows in the middle of the photo, and the output pixels they give
    n = max(1, min(4, ho, wo))
    i0, j0 = max(0, ho // 2 - n // 2), max(0, wo // 2 - n // 2)
    r0, c0 = i0 * s, j0 * s
    size_r, size_c = (n - 1) * s + k, (n - 1) * s + k
    ax_zi, ax_zo = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])
    ax_zi.imshow(image[r0:r0 + size_r, c0:c0 + size_c], cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
    ax_zo.imshow(np.clip(out[i0:i0 + n, j0:j0 + n], 0, 255).astype(np.uint8), cmap=cmap, vmin=0, vmax=255,
                 interpolation="nearest")
    colours = ("tab:red", "tab:orange", "tab:green", "tab:blue")
    for j in range(n):  # the first row of windows and the output pixels they make
        ax_zi.add_patch(plt.Rectangle((j * s - 0.5, -0.5 + 0.15 * j), k, k, fill=False,
                                      edgecolor=colours[j % 4], linewidth=2))
        ax_zo.add_patch(plt.Rectangle((j - 0.5, -0.5), 1, 1, fill=False, edgecolor=colours[j % 4], linewidth=2))
    ax_zi.set_title(t("ch05w.zoom", n=size_r), fontsize=8)
    for ax in (ax_in, ax_out, ax_zi, ax_zo):
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])
    overlap = t("ch05w.yes") if state["overlap"] else t("ch05w.no")
    if state["gap"]:
        overlap += " " + t("ch05w.gap")
    fig.suptitle(t("ch05w.summary", h=h, w=w, k=k, s=s, ho=ho, wo=wo, ratio=state["ratio"], overlap=overlap),
                 fontsize=9)
    fig.tight_layout()
    return fig


def _load(image):
    if image is None or isinstance(image, str):
        from ..data import sample_image

        image = sample_image(image or "chelsea")
    return np.asarray(image)


def pooling_figure(image=None, k: int = 4, stride: int = 4, mode: str = "max"):
    """A static picture of :func:`pooling_explorer` for one setting (for a reader without a running
    kernel): the photo, its pooled version, and the zoom on a few windows. Returns the Figure."""
    return _draw(_compute(_load(image), k, stride, mode))


def pooling_explorer(image=None, k: int = 2, stride: int = 2, mode: str = "max", max_kernel: int = 16):
    """Sliders ``k`` and ``stride``, toggle ``mode`` ("max" / "avg"), on a real photo.

    ``image``: a uint8 (H, W) or (H, W, 3) array, or the name of a photo of
    :func:`course_utils.data.sample_image` (default "chelsea", the cat, 300×451: odd sizes show
    the rounding down). ``widget.state`` holds ``output`` (the pooled image), ``output_shape``,
    ``input_shape``, ``ratio`` (output pixels / input pixels), ``overlap`` and the control values.
    """
    image = _load(image)
    limit = max(1, min(max_kernel, *image.shape[:2]))
    controls = {
        "k": W.IntSlider(value=min(k, limit), min=1, max=limit, description=t("ch05w.kernel"),
                         continuous_update=False, **lecture_layout("120px", "440px")),
        "stride": W.IntSlider(value=min(stride, limit), min=1, max=limit, description=t("ch05w.stride"),
                              continuous_update=False, **lecture_layout("120px", "440px")),
        "mode": W.ToggleButtons(options=[(t("ch05w.max"), "max"), (t("ch05w.avg"), "avg")], value=mode,
                                description=t("ch05w.mode"), **lecture_layout("60px", "340px", button_width="130px")),
    }
    return explorer(controls, lambda k, stride, mode: _compute(image, k, stride, mode), _draw,
                    title=t("ch05w.title"))
