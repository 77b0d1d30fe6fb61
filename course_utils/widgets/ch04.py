"""Chapter 04 widgets: a 1-D kernel editor, a sliding-window stepper and a 3×3 kernel editor."""
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["moving_average_explorer", "conv_stepper", "conv_stepper_figure", "kernel_editor"]

register({
    "ch04w.weights": {"ja": "重み", "en": "weights"},
    "ch04w.signal": {"ja": "信号", "en": "signal"},
    "ch04w.signal_source": {"ja": "資料の例 (9 個)", "en": "source example (9 values)"},
    "ch04w.signal_stock": {"ja": "株価 (終値)", "en": "stock price (close)"},
    "ch04w.bad_weights": {"ja": "重みを読めません: {text!r}。数をカンマか空白で区切って、和が 0 にならないように入力してください。",
                        "en": "Cannot read the weights {text!r}: type numbers separated by commas or spaces, "
                              "with a sum other than 0."},
    "ch04w.too_long": {"ja": "重みが信号より長すぎます ({k} > {n})。", "en": "More weights than samples ({k} > {n})."},
    "ch04w.input": {"ja": "入力", "en": "input"},
    "ch04w.output": {"ja": "移動平均 (出力)", "en": "moving average (output)"},
    "ch04w.ma_title": {"ja": "重み {w} (正規化後 {wn}) → 出力 {n} 個",
                     "en": "weights {w} (normalised {wn}) → {n} outputs"},
    "ch04w.day": {"ja": "営業日", "en": "trading day"},
    "ch04w.index": {"ja": "位置", "en": "position"},
    "ch04w.step": {"ja": "ステップ", "en": "step"},
    "ch04w.stride": {"ja": "ストライド", "en": "stride"},
    "ch04w.padding": {"ja": "パディング", "en": "padding"},
    "ch04w.step_title": {"ja": "出力 ({i}, {j}) = 積の和 = {value:.2f}  (ステップ {step}/{n})",
                       "en": "output ({i}, {j}) = sum of products = {value:.2f}  (step {step}/{n})"},
    "ch04w.products": {"ja": "窓 × フィルタ = 積", "en": "window × filter = products"},
    "ch04w.image": {"ja": "入力画像", "en": "input image"},
    "ch04w.kernel": {"ja": "フィルタ (カーネル)", "en": "filter (kernel)"},
    "ch04w.feature_map": {"ja": "出力 (特徴マップ)", "en": "output (feature map)"},
    "ch04w.preset": {"ja": "プリセット", "en": "preset"},
    "ch04w.custom": {"ja": "自分で編集", "en": "custom"},
    "ch04w.identity": {"ja": "恒等 (identity)", "en": "identity"},
    "ch04w.edge1": {"ja": "エッジ検出 1 (斜め)", "en": "edge detection 1 (diagonal)"},
    "ch04w.edge2": {"ja": "エッジ検出 2 (4 近傍ラプラシアン)", "en": "edge detection 2 (4-neighbour Laplacian)"},
    "ch04w.edge3": {"ja": "エッジ検出 3 (8 近傍ラプラシアン)", "en": "edge detection 3 (8-neighbour Laplacian)"},
    "ch04w.sharpen": {"ja": "鮮鋭化 (sharpen)", "en": "sharpen"},
    "ch04w.box": {"ja": "平均ぼかし 1/9 (box blur)", "en": "box blur (1/9)"},
    "ch04w.gauss": {"ja": "ガウスぼかし 3×3 (1/16)", "en": "Gaussian blur 3×3 (1/16)"},
    "ch04w.kernel_title": {"ja": "カーネル (和 = {s:.3g})", "en": "kernel (sum = {s:.3g})"},
    "ch04w.result_clip": {"ja": "結果 ([0, 1] に切り詰めて表示)", "en": "result (shown clipped to [0, 1])"},
    "ch04w.result_abs": {"ja": "結果の絶対値 (和 0 のカーネル: エッジの強さ)",
                       "en": "|result| (kernel sums to 0: edge strength)"},
})

SOURCE_SIGNAL = np.array([2, 3, 4, 2, 6, 7, 5, 9, 4], dtype=float)
SOURCE_IMAGE = np.array([[0, 2, 2, 0, 1, 0, 0],
                         [1, 8, 7, 5, 2, 3, 0],
                         [3, 6, 9, 7, 6, 1, 0],
                         [1, 4, 5, 2, 4, 0, 1],
                         [0, 2, 2, 1, 2, 1, 4]], dtype=float)
SOURCE_FILTER = np.array([[0.2, 0.0, 0.4],
                          [0.1, 0.3, 0.2],
                          [0.0, 0.1, 0.1]])

KERNEL_PRESETS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge1": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float),
    "edge2": np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=float),
    "edge3": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "box": np.ones((3, 3)) / 9,
    "gauss": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
}


def stock_prices() -> np.ndarray:
    """Daily closing prices (Google, 2004–2008) from matplotlib's bundled sample data.

    A real, noisy signal that needs no network; falls back to a seeded random walk if the
    sample file is missing from the matplotlib installation.
    """
    try:
        from matplotlib import cbook

        data = cbook.get_sample_data("goog.npz")
        data = data if hasattr(data, "files") else np.load(data)
        return np.asarray(data["price_data"]["adj_close"], dtype=float)
    except Exception:  # a stripped matplotlib: same length, a random walk
        rng = np.random.default_rng(0)
        return 200 + np.cumsum(rng.normal(0.3, 5.0, size=1047))


def _parse_weights(text: str):
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        return None
    if not values or not np.isfinite(values).all() or abs(sum(values)) < 1e-12:
        return None
    return np.array(values)


def _moving_average(x, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(x, len(kernel))
    return windows @ kernel / kernel.sum()


def moving_average_explorer(weights: str = "1, 1, 1", signal: str = "source"):
    """Edit a 1-D kernel (text of numbers) and see the moving average of a signal.

    ``state``: ``kernel`` (as typed), ``normalised`` (divided by its sum), ``x`` (the signal),
    ``output`` ("valid", length len(x) − len(kernel) + 1), ``offset`` (where the output is
    drawn: the window's centre) and ``error`` (None or a message).
    """
    controls = {
        "weights": W.Text(value=weights, description=t("ch04w.weights"), continuous_update=False,
                          **lecture_layout("60px", "340px")),
        "signal": W.Dropdown(options=[(t("ch04w.signal_source"), "source"), (t("ch04w.signal_stock"), "stock")],
                             value=signal, description=t("ch04w.signal"), **lecture_layout("60px", "340px")),
    }
    prices = stock_prices()[-250:]

    def compute(weights, signal):
        x = SOURCE_SIGNAL if signal == "source" else prices
        kernel = _parse_weights(weights)
        if kernel is None:
            return {"x": x, "error": t("ch04w.bad_weights", text=weights)}
        if len(kernel) > len(x):
            return {"x": x, "error": t("ch04w.too_long", k=len(kernel), n=len(x))}
        return {"x": x, "kernel": kernel, "normalised": kernel / kernel.sum(), "output": _moving_average(x, kernel),
                "offset": (len(kernel) - 1) / 2, "signal": signal, "error": None}

    def draw(state):
        if state["error"]:
            print(state["error"])
            return None
        fig, ax = plt.subplots(figsize=(8, 3.2))
        x, out = state["x"], state["output"]
        small = state["signal"] == "source"
        ax.plot(np.arange(len(x)), x, "o-" if small else "-", color="tab:gray", alpha=0.8, label=t("ch04w.input"))
        ax.plot(state["offset"] + np.arange(len(out)), out, "o-" if small else "-", color="tab:red", lw=2,
                label=t("ch04w.output"))
        if small:
            for i, v in enumerate(out):
                ax.annotate(f"{v:.2f}", (state["offset"] + i, v), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=8, color="tab:red")
        ax.set_xlabel(t("ch04w.index") if small else t("ch04w.day"))
        w, wn = _short(state["kernel"]), _short(state["normalised"])
        ax.set_title(t("ch04w.ma_title", w=w, wn=wn, n=len(out)), fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    return explorer(controls, compute, draw)


def _short(values, most: int = 6) -> str:
    """[1, 0, 1] or, for long kernels, [0.04, 0.04, …, 0.04] (25)."""
    texts = [f"{v:.3g}" for v in values]
    if len(texts) > most:
        return f"[{texts[0]}, {texts[1]}, …, {texts[-1]}] ({len(texts)})"
    return "[" + ", ".join(texts) + "]"


def _positions(shape, kernel_shape, stride, padding):
    h, w = shape[0] + 2 * padding, shape[1] + 2 * padding
    ho, wo = (h - kernel_shape[0]) // stride + 1, (w - kernel_shape[1]) // stride + 1
    return ho, wo


def _stepper_compute(step, stride, padding):
    padded = np.pad(SOURCE_IMAGE, padding)
    ho, wo = _positions(SOURCE_IMAGE.shape, SOURCE_FILTER.shape, stride, padding)
    n = ho * wo
    step = min(step, n - 1)
    i, j = divmod(step, wo)
    kh, kw = SOURCE_FILTER.shape
    output = np.full((ho, wo), np.nan)
    for s in range(step + 1):
        r, c = divmod(s, wo)
        output[r, c] = np.sum(padded[r * stride:r * stride + kh, c * stride:c * stride + kw] * SOURCE_FILTER)
    window = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]
    products = window * SOURCE_FILTER
    return {"i": i, "j": j, "step": step, "n_steps": n, "stride": stride, "padding": padding,
            "padded": padded, "window": window, "products": products, "value": float(products.sum()),
            "output": output, "out_shape": (ho, wo)}


def _stepper_draw(state):
    from matplotlib.patches import Rectangle

    padded, p, s = state["padded"], state["padding"], state["stride"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw={"width_ratios": [padded.shape[1], 3.6,
                                                                                   state["out_shape"][1] + 0.6]})
    ax = axes[0]
    ax.imshow(padded, cmap="Blues", vmin=0, vmax=12)
    top, left = state["i"] * s, state["j"] * s
    for r in range(padded.shape[0]):
        for c in range(padded.shape[1]):
            inside = top <= r < top + 3 and left <= c < left + 3
            pad = r < p or c < p or r >= padded.shape[0] - p or c >= padded.shape[1] - p
            text = f"{padded[r, c]:g}"
            if inside:
                text += f"\n×{SOURCE_FILTER[r - top, c - left]:g}"
            ax.text(c, r, text, ha="center", va="center", fontsize=7 if inside else 8,
                    color="tab:gray" if pad else "black", fontweight="bold" if inside else "normal")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), 3, 3, fill=False, edgecolor="tab:red", linewidth=2.5))
    ax.set_title(t("ch04w.image"), fontsize=10)
    ax = axes[1]
    ax.imshow(state["products"], cmap="Oranges", vmin=0, vmax=max(3.0, state["products"].max()))
    for r in range(3):
        for c in range(3):
            ax.text(c, r, f"{state['window'][r, c]:g}×{SOURCE_FILTER[r, c]:g}\n={state['products'][r, c]:.2g}",
                    ha="center", va="center", fontsize=7)
    ax.set_title(t("ch04w.products"), fontsize=10)
    ax = axes[2]
    out = state["output"]
    ax.imshow(np.nan_to_num(out, nan=0.0), cmap="Greens", vmin=0, vmax=12)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            if not np.isnan(out[r, c]):
                ax.text(c, r, f"{out[r, c]:.1f}", ha="center", va="center", fontsize=8,
                        fontweight="bold" if (r, c) == (state["i"], state["j"]) else "normal")
    ax.add_patch(Rectangle((state["j"] - 0.5, state["i"] - 0.5), 1, 1, fill=False, edgecolor="tab:red",
                           linewidth=2.5))
    ax.set_title(t("ch04w.feature_map"), fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.suptitle(t("ch04w.step_title", i=state["i"], j=state["j"], value=state["value"], step=state["step"] + 1,
                   n=state["n_steps"]), fontsize=11)
    fig.tight_layout()
    return fig


def conv_stepper(step: int = 0, stride: int = 1, padding: int = 0):
    """Move the 3×3 filter of the source example over its 5×7 image, one output at a time.

    ``state``: ``i``, ``j`` (the output position), ``window`` (the 3×3 input patch),
    ``products`` (window × kernel), ``value`` (their sum), ``output`` (the outputs computed
    so far, NaN for the rest), ``out_shape`` and ``n_steps``.
    """
    ho, wo = _positions(SOURCE_IMAGE.shape, SOURCE_FILTER.shape, 1, 1)
    controls = {
        "step": W.IntSlider(value=step, min=0, max=ho * wo - 1, description=t("ch04w.step"), **lecture_layout("90px", "400px")),
        "stride": W.IntSlider(value=stride, min=1, max=3, description=t("ch04w.stride"), **lecture_layout("90px", "400px")),
        "padding": W.IntSlider(value=padding, min=0, max=2, description=t("ch04w.padding"), **lecture_layout("90px", "400px")),
    }

    box = explorer(controls, _stepper_compute, _stepper_draw)

    def resize(*_):  # the number of steps depends on stride and padding
        controls["step"].max = box.state["n_steps"] - 1

    controls["stride"].observe(resize, names="value")
    controls["padding"].observe(resize, names="value")
    resize()
    return box


def conv_stepper_figure(step: int = 1, stride: int = 1, padding: int = 0):
    """A static picture of :func:`conv_stepper` at one ``step`` (0-based): the window on the image,
    the products and the outputs computed so far. Returns the Figure."""
    return _stepper_draw(_stepper_compute(step, stride, padding))


def _filter_same(image, kernel):
    """Zero-padded 'same' cross-correlation by shift-and-add (what the notebook teaches)."""
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)))
    out = np.zeros_like(image, dtype=float)
    for u in range(kh):
        for v in range(kw):
            out += kernel[u, v] * padded[u:u + image.shape[0], v:v + image.shape[1]]
    return out


def _default_image(size=256):
    from ..data import sample_image

    image = sample_image("camera").astype(float) / 255.0
    step = max(1, image.shape[0] // size)
    return image[::step, ::step]


def kernel_editor(preset: str = "sharpen", image=None):
    """Edit a 3×3 kernel (nine boxes, or a preset from the source's gallery) and filter a photo.

    ``image``: a grey float image in [0, 1] (default: scikit-image's "camera", 256×256).
    ``state``: ``kernel`` (3×3), ``kernel_sum``, ``output`` (zero-padded, same size),
    ``display`` ("clip" or "abs": kernels that sum to 0 are shown as |output|).
    Controls: ``k00`` … ``k22`` (the nine weights) and, outside ``controls``, ``box.preset``.
    """
    image = _default_image() if image is None else np.asarray(image, dtype=float)
    start = KERNEL_PRESETS.get(preset, KERNEL_PRESETS["sharpen"])
    controls = {f"k{r}{c}": W.FloatText(value=round(float(start[r, c]), 4), layout=W.Layout(width="5.5em"))
                for r in range(3) for c in range(3)}
    options = [(t(f"ch04w.{name}"), name) for name in KERNEL_PRESETS] + [(t("ch04w.custom"), "custom")]
    preset_box = W.Dropdown(options=options, value=preset if preset in KERNEL_PRESETS else "custom",
                            description=t("ch04w.preset"), **lecture_layout("80px", "320px"))

    def compute(**values):
        kernel = np.array([[values[f"k{r}{c}"] for c in range(3)] for r in range(3)], dtype=float)
        out = _filter_same(image, kernel)
        total = float(kernel.sum())
        return {"kernel": kernel, "kernel_sum": total, "output": out, "display": "abs" if abs(total) < 1e-9 else "clip",
                "min": float(out.min()), "max": float(out.max())}

    def draw(state):
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 0.6, 1]})
        axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[0].set_title(t("ch04w.image"), fontsize=10)
        k = state["kernel"]
        lim = max(1e-9, np.abs(k).max())
        axes[1].imshow(k, cmap="coolwarm", vmin=-lim, vmax=lim)
        for r in range(3):
            for c in range(3):
                strong = abs(k[r, c]) > 0.6 * lim  # dark red / dark blue cell: write in white
                axes[1].text(c, r, f"{k[r, c]:.3g}", ha="center", va="center", fontsize=9,
                             color="white" if strong else "black", fontweight="bold" if strong else "normal")
        axes[1].set_title(t("ch04w.kernel_title", s=state["kernel_sum"]), fontsize=10)
        out = state["output"]
        if state["display"] == "abs":
            shown = np.abs(out) / max(1e-9, np.abs(out).max())
            axes[2].set_title(t("ch04w.result_abs"), fontsize=9)
        else:
            shown = np.clip(out, 0, 1)
            axes[2].set_title(t("ch04w.result_clip"), fontsize=9)
        axes[2].imshow(shown, cmap="gray", vmin=0, vmax=1)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        fig.tight_layout()
        return fig

    grid = W.GridBox(list(controls.values()), layout=W.Layout(grid_template_columns="repeat(3, 6em)"))
    box = explorer(controls, compute, draw, layout=[[preset_box, grid], "output"])
    box.preset = preset_box

    def on_preset(change):  # the nine cells at once: one redraw, and on_cell sees the whole new kernel
        if change["new"] != "custom":
            kernel = KERNEL_PRESETS[change["new"]]
            box.set(**{f"k{r}{c}": round(float(kernel[r, c]), 4) for r in range(3) for c in range(3)})

    def on_cell(change):  # a hand-edited cell that leaves the preset's kernel: the preset becomes "custom"
        if preset_box.value == "custom":
            return
        kernel = np.array([[controls[f"k{r}{c}"].value for c in range(3)] for r in range(3)])
        if not np.allclose(kernel, KERNEL_PRESETS[preset_box.value], atol=1e-4):
            preset_box.value = "custom"

    preset_box.observe(on_preset, names="value")
    for c in controls.values():
        c.observe(on_cell, names="value")
    return box
