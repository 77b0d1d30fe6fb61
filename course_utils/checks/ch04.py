"""Chapter 04: convolution (moving average, 2-D convolution, output size, parameter counts).

Every check compares with a real implementation (NumPy's sliding windows for the moving
average, ``torch.nn.functional.conv2d`` for the convolutions, the shape torch produces for
the output size, ``sum(p.numel())`` of ``torch.nn.Conv2d`` for the parameter count) and
recognises the typical mistakes: a flipped kernel, padding on one side only, an ignored
stride, an off-by-one size, channels in the wrong axis, a forgotten bias or groups.
"""
import numbers

import numpy as np

from ..i18n import register, t
from .core import Check, Failure, assert_close, call, call_unchanged, fail, failure_text, on_repeat, to_numpy, seed

__all__ = ["moving_average", "conv2d_single", "conv2d", "conv_output_size", "conv_params"]

register({
    "ch04.hint": {"ja": "ヒント: {hint}", "en": "Hint: {hint}"},
    "ch04.ma_normalise": {
        "ja": "重みの和で割っていないようです (結果が正解の {factor:g} 倍)。移動平均では重みを合計 1 に正規化します。",
        "en": "The weights do not seem normalised (the result is {factor:g} times the answer). A moving average "
              "divides by the sum of the weights.",
    },
    "ch04.ma_normalise_form": {"ja": " 書き方: kernel / kernel.sum()", "en": " The form: kernel / kernel.sum()"},
    "ch04.flip_1d": {
        "ja": "重みが逆順に掛かっています (np.convolve は重みを反転します)。窓の左端に kernel[0] を掛けてください "
              "(np.correlate と同じ向き)。",
        "en": "The weights are applied in reverse order (np.convolve flips the kernel). Multiply the left end of "
              "each window by kernel[0], as np.correlate does.",
    },
    "ch04.valid_1d": {
        "ja": "出力の長さは「valid」の {n} です (窓が信号の中に完全に収まる位置だけ)。",
        "en": "The output length is the \"valid\" one, {n} (only positions where the whole window lies inside "
              "the signal).",
    },
    "ch04.valid_1d_form": {"ja": " 式: len(x) - len(kernel) + 1", "en": " The formula: len(x) - len(kernel) + 1"},
    "ch04.int_dtype": {
        "ja": "結果が整数型 ({dtype}) です。np.zeros_like(x) は整数の x から整数配列を作り、小数を切り捨てます。"
              "浮動小数点の配列を用意してください。",
        "en": "The result has an integer dtype ({dtype}). np.zeros_like(x) of an integer x is an integer array "
              "and drops the fractions; allocate a float array.",
    },
    "ch04.int_dtype_form": {"ja": " (例: np.zeros(n, dtype=float))", "en": " (e.g. np.zeros(n, dtype=float))"},
    "ch04.flip_2d": {
        "ja": "カーネルが上下左右に反転しています (数学の「真の畳み込み」)。深層学習の畳み込みは相互相関 "
              "(cross-correlation) です: 窓の左上に kernel[0, 0] を掛けてください。",
        "en": "The kernel is flipped up-down and left-right (the mathematical \"true convolution\"). Deep learning's "
              "convolution is cross-correlation: the top-left of each window is multiplied by kernel[0, 0].",
    },
    "ch04.one_sided": {
        "ja": "パディングが片側だけに付いているようです。上下左右の 4 辺すべてに padding 個ずつ 0 を足してください。",
        "en": "The padding seems to be on one side only. Add padding zeros on all four sides.",
    },
    "ch04.one_sided_form": {"ja": " 書き方: np.pad(img, padding) または np.pad(img, ((p, p), (p, p)))",
                            "en": " The form: np.pad(img, padding) or np.pad(img, ((p, p), (p, p)))"},
    "ch04.stride": {
        "ja": "stride={stride} が効いていないようです (stride=1 の結果と同じ形)。窓は stride ずつ動かします。",
        "en": "stride={stride} seems ignored (the shape of the stride-1 result). The window moves by stride.",
    },
    "ch04.stride_form": {"ja": " 出力の行 i の窓は、入力の行 i*stride から始まります。",
                         "en": " Output row i starts at input row i*stride."},
    "ch04.size": {
        "ja": "出力サイズは {ho}×{wo} です。端の位置を 1 つ落としたり足したりしていませんか?",
        "en": "The output size is {ho} by {wo}. Did you lose or add one position at the edge?",
    },
    "ch04.size_form": {"ja": " 式: floor((H + 2·padding − kh) / stride) + 1 = {ho}、floor((W + 2·padding − kw) / stride) + 1 = {wo}",
                       "en": " The formula: floor((H + 2·padding − kh) / stride) + 1 = {ho} by "
                             "floor((W + 2·padding − kw) / stride) + 1 = {wo}"},
    "ch04.channels": {
        "ja": "軸の順番を確認してください: x は (N, C, H, W)、w は (F, C, kh, kw)、出力は (N, F, Ho, Wo) です "
              "(PyTorch と同じ NCHW。OpenCV や matplotlib の (H, W, C) ではありません)。",
        "en": "Check the axis order: x is (N, C, H, W), w is (F, C, kh, kw) and the output is (N, F, Ho, Wo) "
              "(PyTorch's NCHW, not the (H, W, C) of OpenCV or matplotlib).",
    },
    "ch04.bias_missing": {
        "ja": "バイアス b が足されていません。フィルタ f の出力全体に b[f] を足してください。",
        "en": "The bias b is not added. Add b[f] to the whole output map of filter f.",
    },
    "ch04.bias_axis": {
        "ja": "バイアスが間違った軸に足されています。out + b は最後の軸 (幅) に沿って足されます。"
              "フィルタの軸 (axis 1) に合わせてください。",
        "en": "The bias is added along the wrong axis: out + b broadcasts along the last axis (the width). "
              "Add it along the filter axis (axis 1).",
    },
    "ch04.bias_axis_form": {"ja": " 書き方: b[None, :, None, None]", "en": " The form: b[None, :, None, None]"},
    "ch04.not_int": {
        "ja": "整数 (int) を返してください ({got!r} が返りました)。切り捨ての整数の割り算なら int のままです。",
        "en": "Return an integer (int); got {got!r}. A floor (integer) division keeps the result an int.",
    },
    "ch04.not_int_form": {"ja": " (演算子 //)", "en": " (the operator //)"},
    "ch04.size_off_by_one": {
        "ja": "1 ずれています。最初の窓の位置の分と、(膨張した) カーネルが覆う画素数を確認してください。",
        "en": "Off by one. Check the count for the first window position and the number of pixels the (dilated) "
              "kernel covers.",
    },
    "ch04.size_formula": {"ja": " 式: floor((h + 2p − d·(k − 1) − 1) / s) + 1。",
                          "en": " The formula: floor((h + 2p − d·(k − 1) − 1) / s) + 1."},
    "ch04.size_padding": {
        "ja": "パディングは両側に付くので 2·padding を足します。",
        "en": "Padding is added on both sides, so add 2·padding.",
    },
    "ch04.size_stride": {
        "ja": "stride で割るのを忘れていませんか? 窓は stride ずつ進みます。",
        "en": "Did you forget to divide by the stride? The window advances stride pixels at a time.",
    },
    "ch04.size_dilation": {
        "ja": "dilation (膨張) が効いていません。間隔 d で広げたカーネルは k 画素より広い範囲を覆います。",
        "en": "The dilation is ignored. A kernel spread out with gaps d covers more than k pixels.",
    },
    "ch04.size_dilation_form": {"ja": " 実効サイズ: d·(k − 1) + 1", "en": " Its extent: d·(k − 1) + 1 pixels."},
    "ch04.params_groups": {
        "ja": "groups が反映されていません。groups=g では各フィルタが入力チャネルの 1/g だけを見ます。",
        "en": "groups is not taken into account. With groups=g each filter sees only 1/g of the input channels.",
    },
    "ch04.params_groups_formula": {"ja": " 重みは c_out × (c_in / g) × k × k 個です。",
                                   "en": " There are c_out × (c_in / g) × k × k weights."},
    "ch04.params_bias_groups": {
        "ja": "バイアスをグループごとに数えていませんか? バイアスは出力チャネルごとに 1 個 (groups によらず c_out 個) です。",
        "en": "Is the bias counted per group? There is one bias per output channel (c_out, whatever groups is).",
    },
    "ch04.params_bias_one": {
        "ja": "バイアスを層全体で 1 個と数えていませんか? バイアスは出力チャネルごとに 1 個 (計 c_out 個) です。",
        "en": "Is the bias counted once for the whole layer? There is one bias per output channel (c_out in all).",
    },
    "ch04.params_bias_missing": {
        "ja": "bias=True のときは出力チャネルごとにバイアスが 1 個 (計 c_out 個) 加わります。",
        "en": "With bias=True there is one bias per output channel (c_out more parameters).",
    },
    "ch04.params_bias_extra": {
        "ja": "bias=False のときはバイアスを数えません。",
        "en": "With bias=False there is no bias to count.",
    },
    "ch04.params_kernel": {
        "ja": "カーネルは k × k の 2 次元です。k を 2 回掛けましたか?",
        "en": "The kernel is k × k (two dimensions): did you multiply by k twice?",
    },
})


def L(ja: str, en: str) -> str:
    """A case name in the course language (one language per message)."""
    from ..i18n import language

    return ja if language() == "ja" else en


def _hint(key, **values) -> str:
    return t("ch04.hint", hint=t(key, **values))


def _hint_form(key, **values) -> str:
    """A hint that names the mistake, and its form (``key + "_form"``) when the same case fails again."""
    return _hint(key, **values) + on_repeat(t(key + "_form", **values))


def _numeric_array(got, expected):
    """The answer as a NumPy array when it is a finite numeric one; else None (assert_close will say why)."""
    arr = to_numpy(got, kind=f"ndarray {np.shape(expected)}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None
    if arr.size and not np.isfinite(arr.astype(np.float64)).all():
        return None
    return arr


def _close(a, b, rtol, atol) -> bool:
    return a.shape == b.shape and np.allclose(a.astype(np.float64), b, rtol=rtol, atol=atol)


def _compare(got, expected, rtol, atol, wrong_values=(), wrong_shapes=(), shape_hint=None):
    """assert_close with targeted hints.

    ``wrong_values``: (array, hint) pairs: a typical wrong answer and what to say when the
    student's answer equals it. ``wrong_shapes``: (shape, hint) pairs, the same for shapes;
    ``shape_hint`` is appended to any other shape mismatch.
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = _numeric_array(got, expected)
    if arr is not None and arr.shape != expected.shape:
        for shape, hint in wrong_shapes:
            if arr.shape == tuple(shape):
                fail(t("check.shape", expected=expected.shape, got=arr.shape) + "\n" + hint)
        if shape_hint:
            fail(t("check.shape", expected=expected.shape, got=arr.shape) + "\n" + shape_hint)
    if arr is not None and arr.shape == expected.shape and not _close(arr, expected, rtol, atol):
        for value, hint in wrong_values:
            if value is not None and _close(arr, np.asarray(value, dtype=np.float64), rtol, atol):
                fail(_hint_after_values(arr, expected, rtol, atol) + "\n" + hint)
        if np.issubdtype(arr.dtype, np.integer) and not np.allclose(expected, np.round(expected)):
            fail(_hint_after_values(arr, expected, rtol, atol) + "\n" + _hint_form("ch04.int_dtype", dtype=arr.dtype))
    return assert_close(got, expected, rtol=rtol, atol=atol)


def _hint_after_values(arr, expected, rtol, atol) -> str:
    """The standard 'wrong values' sentence for ``arr`` (used before a hint)."""
    return failure_text(assert_close, arr, expected, rtol=rtol, atol=atol) or ""


# ----------------------------------------------------------------------------------------
# references


def _moving_average_ref(x, kernel):
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, len(kernel))
    return windows @ kernel / kernel.sum()


def _torch_conv(x, w, b=None, stride=1, padding=0):
    """torch.nn.functional.conv2d in float64 on NumPy arrays (x (N,C,H,W), w (F,C,kh,kw))."""
    import torch
    import torch.nn.functional as F

    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    wt = torch.as_tensor(np.asarray(w, dtype=np.float64))
    bt = None if b is None else torch.as_tensor(np.asarray(b, dtype=np.float64))
    with torch.no_grad():
        return F.conv2d(xt, wt, bt, stride=stride, padding=padding).numpy()


def _conv_single_ref(img, kernel, stride=1, padding=0):
    return _torch_conv(np.asarray(img)[None, None], np.asarray(kernel)[None, None],
                       stride=stride, padding=padding)[0, 0]


def _out_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def _spatial_mistakes(img_hw, kernel_hw, stride, padding, conv):
    """Typical wrong answers of a 2-D convolution: (wrong_values, wrong_shapes, size_hint).

    ``conv((top, bottom, left, right), flipped, stride)`` computes the result with that
    explicit zero padding, a flipped kernel or not, and that stride (None when impossible).
    """
    (h, w), (kh, kw), p, s = img_hw, kernel_hw, padding, stride
    values = [(conv((p, p, p, p), True, s), _hint("ch04.flip_2d"))]
    shapes = []
    if p > 0:
        one_sided = _hint_form("ch04.one_sided")
        for spec in ((2 * p, 0, 2 * p, 0), (0, 2 * p, 0, 2 * p), (p, 0, p, 0), (0, p, 0, p)):
            values.append((conv(spec, False, s), one_sided))
        shapes.append((((h + p - kh) // s + 1, (w + p - kw) // s + 1), one_sided))
    if s > 1:
        values.append((conv((p, p, p, p), False, 1), _hint_form("ch04.stride", stride=s)))
        shapes.append(((_out_size(h, kh, 1, p), _out_size(w, kw, 1, p)), _hint_form("ch04.stride", stride=s)))
    size_hint = _hint_form("ch04.size", ho=_out_size(h, kh, s, p), wo=_out_size(w, kw, s, p))
    return values, shapes, size_hint


def _padded_conv(x4, w4, spec, flipped, stride):
    top, bottom, left, right = spec
    xp = np.pad(np.asarray(x4, dtype=np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    w4 = np.asarray(w4, dtype=np.float64)
    if flipped:
        w4 = w4[..., ::-1, ::-1].copy()
    if xp.shape[2] < w4.shape[2] or xp.shape[3] < w4.shape[3]:
        return None
    return _torch_conv(xp, w4, stride=stride)


# ----------------------------------------------------------------------------------------
# moving_average


def moving_average(func):
    """``moving_average(x, kernel)``: 1-D, "valid", weights normalised by their sum."""
    rng = np.random.default_rng(seed(4))
    source = np.array([2, 3, 4, 2, 6, 7, 5, 9, 4])
    cases = [
        (L("例題: 2 3 4 2 6 7 5 9 4、重み (1, 1, 1) → 3 3 4 5 6 7 6", "source: 2 3 4 2 6 7 5 9 4, weights (1, 1, 1) → 3 3 4 5 6 7 6"),
         source, np.array([1, 1, 1])),
        (L("例題: 2 3 4 2 6 7 5 9 4、重み (1, 0, 1) → 3.0 2.5 5.0 4.5 5.5 8.0 4.5",
          "source: 2 3 4 2 6 7 5 9 4, weights (1, 0, 1) → 3.0 2.5 5.0 4.5 5.5 8.0 4.5"), source, np.array([1, 0, 1])),
        (L("非対称な重み (1, 2, 3)", "weights (1, 2, 3), not symmetric"), source, np.array([1, 2, 3])),
        (L("重み 1 個 (5,): 信号そのもの", "one weight (5,): the signal itself"), source, np.array([5])),
        (L("信号と同じ長さの重み: 出力は 1 個", "kernel as long as the signal: one output"), source, np.ones(9)),
        (L("乱数の信号 (60)、正の乱数の重み (7)", "random signal (60), random positive weights (7)"), rng.normal(size=60), rng.uniform(0.1, 2.0, size=7)),
    ]
    with Check("moving_average") as c:
        for name, x, kernel in cases:
            c.case(name)
            got = call_unchanged(func, x, kernel)
            expected = _moving_average_ref(x, kernel)
            n = len(x) - len(kernel) + 1
            factor = float(np.sum(kernel))
            flipped = _moving_average_ref(x, kernel[::-1]) if not np.array_equal(kernel, kernel[::-1]) else None
            wrong = [(expected * factor, _hint_form("ch04.ma_normalise", factor=factor))] if factor != 1 else []
            wrong.append((flipped, _hint("ch04.flip_1d")))
            if flipped is not None:
                wrong.append((flipped * factor, _hint("ch04.flip_1d") + "\n"
                              + _hint_form("ch04.ma_normalise", factor=factor)))
            _compare(got, expected, rtol=1e-6, atol=1e-9, wrong_values=wrong,
                     shape_hint=_hint_form("ch04.valid_1d", n=n))


# ----------------------------------------------------------------------------------------
# conv2d_single

SOURCE_IMAGE = np.array([[0, 2, 2, 0, 1, 0, 0],
                         [1, 8, 7, 5, 2, 3, 0],
                         [3, 6, 9, 7, 6, 1, 0],
                         [1, 4, 5, 2, 4, 0, 1],
                         [0, 2, 2, 1, 2, 1, 4]], dtype=np.float64)
SOURCE_FILTER = np.array([[0.2, 0.0, 0.4],
                          [0.1, 0.3, 0.2],
                          [0.0, 0.1, 0.1]])


def conv2d_single(func):
    """``conv2d_single(img, kernel, stride=1, padding=0)``: one channel, cross-correlation like torch."""
    rng = np.random.default_rng(seed(40))
    cases = [
        (L("例題: 5×7 の画像、3×3 のフィルタ → 1 行目 6.2, 5.9, …", "source: 5×7 image, 3×3 filter → first row 6.2, 5.9, …"),
         SOURCE_IMAGE, SOURCE_FILTER, 1, 0),
        (L("例題、padding=1 (出力 5×7)", "source example, padding=1 (output 5×7)"), SOURCE_IMAGE, SOURCE_FILTER, 1, 1),
        (L("例題、stride=2 (出力 2×3)", "source example, stride=2 (output 2×3)"), SOURCE_IMAGE, SOURCE_FILTER, 2, 0),
        (L("8×8 の画像、3×3 のカーネル、stride=2、padding=1 (出力 4×4)", "8×8 image, 3×3 kernel, stride=2, padding=1 (output 4×4)"), rng.normal(size=(8, 8)),
         rng.normal(size=(3, 3)), 2, 1),
        (L("7×9 の画像、2×3 のカーネル、padding=2", "7×9 image, 2×3 kernel, padding=2"), rng.normal(size=(7, 9)), rng.normal(size=(2, 3)), 1, 2),
        (L("9×7 の画像、3×2 のカーネル、stride=3、padding=1", "9×7 image, 3×2 kernel, stride=3, padding=1"),
         rng.normal(size=(9, 7)), rng.normal(size=(3, 2)), 3, 1),
        (L("1×1 のカーネル", "1×1 kernel"), rng.normal(size=(4, 5)), np.array([[2.5]]), 1, 0),
        (L("画像と同じ大きさのカーネル: 出力は 1 個", "kernel as large as the image: one output"), rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), 1, 0),
    ]
    with Check("conv2d_single") as c:
        for name, img, kernel, stride, padding in cases:
            c.case(name)
            if stride == 1 and padding == 0:
                got = call_unchanged(func, img, kernel)
            else:
                got = call_unchanged(func, img, kernel, stride=stride, padding=padding)
            expected = _conv_single_ref(img, kernel, stride, padding)

            def conv(spec, flipped, s, img=img, kernel=kernel):
                out = _padded_conv(img[None, None], kernel[None, None], spec, flipped, s)
                return None if out is None else out[0, 0]

            values, shapes, size_hint = _spatial_mistakes(img.shape, kernel.shape, stride, padding, conv)
            _compare(got, expected, rtol=1e-5, atol=1e-7, wrong_values=values, wrong_shapes=shapes,
                     shape_hint=size_hint)


# ----------------------------------------------------------------------------------------
# conv2d


def _conv2d_case(rng, n, c, h, w, f, kh, kw, bias):
    x = rng.normal(size=(n, c, h, w))
    wt = rng.normal(size=(f, c, kh, kw)) / np.sqrt(c * kh * kw)
    b = rng.normal(size=f) if bias else None
    return x, wt, b


def conv2d(func):
    """``conv2d(x, w, b=None, stride=1, padding=0)``: x (N,C,H,W), w (F,C,kh,kw) → (N,F,Ho,Wo) like torch."""
    rng = np.random.default_rng(seed(44))
    cases = [
        (L("例題を x (1,1,5,7)、w (1,1,3,3) として", "source example as x (1,1,5,7), w (1,1,3,3)"), (SOURCE_IMAGE[None, None], SOURCE_FILTER[None, None], None),
         1, 0, "none"),
        (L("x (2,3,7,6)、w (4,3,3,3)、b=None (既定)", "x (2,3,7,6), w (4,3,3,3), b=None (default)"),
         _conv2d_case(rng, 2, 3, 7, 6, 4, 3, 3, False), 1, 0, "none"),
        (L("バイアスあり: x (2,3,7,6)、w (4,3,3,3)、b (4,)", "x (2,3,7,6), w (4,3,3,3) with bias b (4,)"),
         _conv2d_case(rng, 2, 3, 7, 6, 4, 3, 3, True), 1, 0, "pos"),
        (L("バイアスあり、stride=2", "stride=2 with bias"), _conv2d_case(rng, 2, 3, 9, 8, 4, 3, 3, True), 2, 0, "pos"),
        (L("padding=1、b=None", "padding=1, b=None"), _conv2d_case(rng, 2, 3, 6, 5, 4, 3, 3, False), 1, 1, "pos"),
        (L("バイアスあり、stride=2、padding=1、2×3 のカーネル", "stride=2, padding=1, 2×3 kernel, with bias"),
         _conv2d_case(rng, 3, 2, 8, 9, 5, 2, 3, True), 2, 1, "pos"),
    ]
    for i in range(3):
        n, ch, f = rng.integers(1, 4), rng.integers(1, 5), rng.integers(1, 6)
        kh, kw = rng.integers(1, 5, size=2)
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = int(kh + rng.integers(0, 7)), int(kw + rng.integers(0, 7))
        cases.append((L(f"乱数 {i + 1}: N={n}, C={ch}, F={f}, {h}×{w} の画像、{kh}×{kw} のカーネル、stride={s}、padding={p}",
                        f"random {i + 1}: N={n}, C={ch}, F={f}, {h}×{w} image, {kh}×{kw} kernel, stride={s}, "
                        f"padding={p}"), _conv2d_case(rng, n, ch, h, w, f, kh, kw, i != 1), s, p, "kw"))
    with Check("conv2d") as c:
        for name, (x, w, b), stride, padding, style in cases:
            c.case(name)
            if style == "none":
                got = _call_conv(func, x, w)
            elif style == "pos":
                got = _call_conv(func, x, w, b, stride=stride, padding=padding)
            else:
                got = _call_conv(func, x, w, b=b, stride=stride, padding=padding)
            expected = _torch_conv(x, w, b, stride, padding)
            nobias = _torch_conv(x, w, None, stride, padding)

            def conv(spec, flipped, s, x=x, w=w, b=b):
                out = _padded_conv(x, w, spec, flipped, s)
                return out if out is None or b is None else out + b[None, :, None, None]

            values, shapes, size_hint = _spatial_mistakes(x.shape[2:], w.shape[2:], stride, padding, conv)
            n_, f_, ho, wo = expected.shape
            shapes = [((n_, f_) + tuple(shape), hint) for shape, hint in shapes]
            shapes.append(((n_, ho, wo, f_), _hint("ch04.channels")))
            values.append((expected.transpose(0, 2, 3, 1), _hint("ch04.channels")))
            if b is not None:
                values.append((nobias, _hint("ch04.bias_missing")))
                if wo == f_:
                    values.append((nobias + b, _hint_form("ch04.bias_axis")))
            arr = _numeric_array(got, expected)
            if arr is not None and arr.shape != expected.shape and arr.shape not in [sh for sh, _ in shapes]:
                if arr.ndim != 4 or arr.shape[:2] != (n_, f_):
                    fail(t("check.shape", expected=expected.shape, got=arr.shape) + "\n" + _hint("ch04.channels"))
            _compare(got, expected, rtol=1e-4, atol=1e-6, wrong_values=values, wrong_shapes=shapes,
                     shape_hint=size_hint)


def _call_conv(func, *args, **kwargs):
    """call_unchanged, with the axis-order hint added to shape errors raised by the student's code."""
    try:
        return call_unchanged(func, *args, **kwargs)
    except Failure as e:
        if isinstance(e.__context__, (ValueError, IndexError)):
            fail(str(e) + "\n" + _hint("ch04.channels"))
        raise


# ----------------------------------------------------------------------------------------
# conv_output_size


def _torch_out_size(h, k, stride, padding, dilation):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        out = F.conv2d(torch.zeros(1, 1, h, 1), torch.zeros(1, 1, k, 1), stride=(stride, 1),
                       padding=(padding, 0), dilation=(dilation, 1))
    return int(out.shape[2])


def _formula(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


FORMULAS = {"ch04.size_off_by_one": "ch04.size_formula", "ch04.params_groups": "ch04.params_groups_formula",
            "ch04.size_dilation": "ch04.size_dilation_form"}


def _expect_int(got, expected, hints):
    """``got`` must be an int equal to ``expected``; ``hints``: (typical wrong value, hint key) pairs."""
    if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.integer, np.floating)):
        fail(t("check.type", expected="int", got=type(got).__name__))
    if got != expected:
        message = t("check.scalar", expected=expected, got=got)
        for wrong, key in hints:
            if got == wrong:
                fail(message + "\n" + _hint(key) + on_repeat(t(FORMULAS[key])) if key in FORMULAS else
                     message + "\n" + _hint(key))
        fail(message)
    if not isinstance(got, (numbers.Integral, np.integer)):
        fail(t("ch04.not_int", got=got) + on_repeat(t("ch04.not_int_form")))


def conv_output_size(func):
    """``conv_output_size(h, k, stride, padding, dilation=1)`` = floor((h + 2p − d(k−1) − 1)/s) + 1."""
    rng = np.random.default_rng(seed(404))
    cases = [
        (L("例題: 高さ 5、k=3 → 3", "source: height 5, k=3 → 3"), 5, 3, 1, 0, 1),
        (L("例題: 幅 7、k=3 → 5", "source: width 7, k=3 → 5"), 7, 3, 1, 0, 1),
        (L("例題、padding=1: 5 → 5 (「same」)", "source, padding=1: 5 → 5 (\"same\")"), 5, 3, 1, 1, 1),
        (L("224、k=3、stride=1、padding=1 → 224 (VGG)", "224, k=3, stride=1, padding=1 → 224 (VGG)"), 224, 3, 1, 1, 1),
        (L("224、k=7、stride=2、padding=3 → 112 (ResNet の最初の層)", "224, k=7, stride=2, padding=3 → 112 (ResNet's first layer)"), 224, 7, 2, 3, 1),
        (L("32、k=5 → 28 (LeNet)", "32, k=5 → 28 (LeNet)"), 32, 5, 1, 0, 1),
        (L("7、k=3、stride=2 → 3", "7, k=3, stride=2 → 3"), 7, 3, 2, 0, 1),
        (L("切り捨て: 8、k=3、stride=2、padding=1 → 4", "8, k=3, stride=2, padding=1 → 4 (rounded down)"), 8, 3, 2, 1, 1),
        (L("7、k=3、dilation=2 → 3", "7, k=3, dilation=2 → 3"), 7, 3, 1, 0, 2),
        (L("64、k=3、padding=2、dilation=2 → 64", "64, k=3, padding=2, dilation=2 → 64"), 64, 3, 1, 2, 2),
    ]
    for _ in range(12):
        k, s, p, d = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        h = int(d * (k - 1) + 1 - 2 * p + rng.integers(max(0, 2 * p - d * (k - 1)), 40))
        h = max(h, 1)
        if h + 2 * p < d * (k - 1) + 1:
            continue
        cases.append((L(f"乱数: h={h}, k={k}, stride={s}, padding={p}, dilation={d}",
                        f"random: h={h}, k={k}, stride={s}, padding={p}, dilation={d}"), h, k, s, p, d))
    with Check("conv_output_size") as c:
        for name, h, k, s, p, d in cases:
            c.case(name)
            got = call(func, h, k, s, p) if d == 1 else call(func, h, k, s, p, dilation=d)
            expected = _torch_out_size(h, k, s, p, d)
            hints = [(expected + 1, "ch04.size_off_by_one"), (expected - 1, "ch04.size_off_by_one")]
            if p:
                hints.insert(0, ((h + p - d * (k - 1) - 1) // s + 1, "ch04.size_padding"))
            if s > 1:
                hints.insert(0, (_formula(h, k, 1, p, d), "ch04.size_stride"))
            if d > 1:
                hints.insert(0, (_formula(h, k, s, p, 1), "ch04.size_dilation"))
            _expect_int(got, expected, [(w, key) for w, key in hints if w != expected])


# ----------------------------------------------------------------------------------------
# conv_params


def _torch_params(c_in, c_out, k, groups, bias):
    import torch

    with torch.device("meta"):
        layer = torch.nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)
    return int(sum(p.numel() for p in layer.parameters()))


def conv_params(func):
    """``conv_params(c_in, c_out, k, groups=1, bias=True)``: weights plus biases, as sum(p.numel())."""
    cases = [
        (L("例題: 通常の畳み込み 4 → 4 チャネル、k=3、bias=False", "source: standard conv 4 → 4 channels, k=3, bias=False"), 4, 4, 3, 1, False),
        (L("例題: 4 → 3 チャネル、k=3、bias=False", "source: 4 → 3 channels, k=3, bias=False"), 4, 3, 3, 1, False),
        (L("例題: グループ畳み込み、groups=2、bias=False", "source: group conv, groups=2, bias=False"), 4, 4, 3, 2, False),
        (L("例題: depthwise、groups=4、bias=False", "source: depthwise, groups=4, bias=False"), 4, 4, 3, 4, False),
        (L("例題: pointwise k=1、bias=False", "source: pointwise k=1, bias=False"), 4, 4, 1, 1, False),
        (L("VGG の最初の層 3 → 64、k=3 (バイアスあり)", "VGG's first layer 3 → 64, k=3 (with bias)"), 3, 64, 3, 1, True),
        (L("64 → 128、k=3 (バイアスあり)", "64 → 128, k=3 (with bias)"), 64, 128, 3, 1, True),
        (L("グループ 32 → 64、k=3、groups=4、バイアスあり", "grouped 32 → 64, k=3, groups=4, with bias"), 32, 64, 3, 4, True),
        (L("depthwise 32 → 32、k=3、groups=32、バイアスあり", "depthwise 32 → 32, k=3, groups=32, with bias"), 32, 32, 3, 32, True),
        (L("5×5 のカーネル 6 → 16 (LeNet)、バイアスあり", "5×5 kernel 6 → 16 (LeNet), with bias"), 6, 16, 5, 1, True),
        (L("グループ 12 → 6、k=5、groups=3、bias=False", "grouped 12 → 6, k=5, groups=3, bias=False"), 12, 6, 5, 3, False),
    ]
    with Check("conv_params") as c:
        for name, c_in, c_out, k, groups, bias in cases:
            c.case(name)
            kwargs = {}
            if groups != 1:
                kwargs["groups"] = groups
            if not bias:
                kwargs["bias"] = False
            got = call(func, c_in, c_out, k, **kwargs)
            expected = _torch_params(c_in, c_out, k, groups, bias)
            weights = c_out * (c_in // groups) * k * k
            hints = []
            if groups != 1:
                hints += [(c_out * c_in * k * k + (c_out if bias else 0), "ch04.params_groups"),
                          (c_out * c_in * k * k, "ch04.params_groups")]
            hints.append((weights if bias else weights + c_out,
                          "ch04.params_bias_missing" if bias else "ch04.params_bias_extra"))
            if bias and groups != 1:
                hints.append((weights + c_out * groups, "ch04.params_bias_groups"))
                hints.append((weights + groups, "ch04.params_bias_groups"))
            if bias and c_out != 1:
                hints.append((weights + 1, "ch04.params_bias_one"))
            if k != 1:
                hints.append((c_out * (c_in // groups) * k + (c_out if bias else 0), "ch04.params_kernel"))
            _expect_int(got, expected, [(w, key) for w, key in hints if w != expected])
