"""Chapter 04: the 2-D convolutions ``conv2d_single`` (one channel) and ``conv2d`` (N, C, H, W).

Both compare with ``torch.nn.functional.conv2d`` in float64 (a cross-correlation, as in every
deep-learning library) and name the typical mistakes: a flipped kernel (the mathematical
convolution), padding on one side only, the stride ignored, an off-by-one output size, an integer
array; for ``conv2d`` also the channels in the wrong axis (NHWC) and the bias forgotten or added
along the width.
"""
import numpy as np

from ..i18n import register, t
from .ch04 import answer_rules
from .core import Case, Check, Failure, assert_close_or_explain, call_unchanged, fail, seed
from .layers import with_form

__all__ = ["conv2d_single", "conv2d"]

SOURCE_IMAGE = np.array([[0, 2, 2, 0, 1, 0, 0],
                         [1, 8, 7, 5, 2, 3, 0],
                         [3, 6, 9, 7, 6, 1, 0],
                         [1, 4, 5, 2, 4, 0, 1],
                         [0, 2, 2, 1, 2, 1, 4]], dtype=np.float64)
SOURCE_FILTER = np.array([[0.2, 0.0, 0.4],
                          [0.1, 0.3, 0.2],
                          [0.0, 0.1, 0.1]])


def _torch_conv(x, w, b=None, stride=1, padding=0):
    """torch.nn.functional.conv2d in float64 on NumPy arrays (x (N,C,H,W), w (F,C,kh,kw))."""
    import torch
    import torch.nn.functional as F

    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    wt = torch.as_tensor(np.asarray(w, dtype=np.float64))
    bt = None if b is None else torch.as_tensor(np.asarray(b, dtype=np.float64))
    with torch.no_grad():
        return F.conv2d(xt, wt, bt, stride=stride, padding=padding).numpy()


def _out_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def _padded_conv(x, w, spec, flipped, stride):
    """The convolution with the explicit zero padding ``spec`` = (top, bottom, left, right), the
    kernel flipped or not; None where the padded image is smaller than the kernel."""
    top, bottom, left, right = spec
    xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    w = np.asarray(w, dtype=np.float64)
    if flipped:
        w = w[..., ::-1, ::-1].copy()
    if xp.shape[2] < w.shape[2] or xp.shape[3] < w.shape[3]:
        return None
    return _torch_conv(xp, w, stride=stride)


def _spatial_mistakes(x, w, b, stride, padding):
    """What the typical mistakes of a 2-D convolution give on x (N, C, H, W), w (F, C, kh, kw):
    ``(value, hint)`` suspects (a flipped kernel, padding on one side, the stride ignored) and the
    ``(shape, hint)`` of the wrong shapes that padding on one side and an ignored stride give."""
    (n, _, h, wd), (f, _, kh, kw), p, s = x.shape, w.shape, padding, stride

    def conv(spec, flipped, step):
        out = _padded_conv(x, w, spec, flipped, step)
        return out if out is None or b is None else out + b[None, :, None, None]

    values, shapes = [(conv((p, p, p, p), True, s), t("ch04.flip_2d"))], []
    if p > 0:
        one_sided = with_form("ch04.one_sided")
        for spec in ((2 * p, 0, 2 * p, 0), (0, 2 * p, 0, 2 * p), (p, 0, p, 0), (0, p, 0, p)):
            values.append((conv(spec, False, s), one_sided))
        shapes.append(((n, f, (h + p - kh) // s + 1, (wd + p - kw) // s + 1), one_sided))
    if s > 1:
        ignored = with_form("ch04.stride", stride=s)
        values.append((conv((p, p, p, p), False, 1), ignored))
        shapes.append(((n, f, _out_size(h, kh, 1, p), _out_size(wd, kw, 1, p)), ignored))
    return values, shapes


def _size_hint(expected_shape):
    return with_form("ch04.size", ho=expected_shape[-2], wo=expected_shape[-1])


# ----------------------------------------------------------------------------------------- conv2d_single
def _single_cases():
    rng = np.random.default_rng(seed(40))
    normal = rng.normal
    return [Case("ch04.case.single_source", (SOURCE_IMAGE, SOURCE_FILTER, 1, 0)),
            Case("ch04.case.single_source_padding", (SOURCE_IMAGE, SOURCE_FILTER, 1, 1)),
            Case("ch04.case.single_source_stride", (SOURCE_IMAGE, SOURCE_FILTER, 2, 0)),
            Case("ch04.case.single_8x8", (normal(size=(8, 8)), normal(size=(3, 3)), 2, 1)),
            Case("ch04.case.single_7x9", (normal(size=(7, 9)), normal(size=(2, 3)), 1, 2)),
            Case("ch04.case.single_9x7", (normal(size=(9, 7)), normal(size=(3, 2)), 3, 1)),
            Case("ch04.case.single_1x1", (normal(size=(4, 5)), np.array([[2.5]]), 1, 0)),
            Case("ch04.case.single_full", (normal(size=(3, 4)), normal(size=(3, 4)), 1, 0))]


def conv2d_single(func):
    """``conv2d_single(img, kernel, stride=1, padding=0)``: one channel, cross-correlation like torch."""
    with Check("conv2d_single") as c:
        for case in _single_cases():
            c.case(case.title)
            img, kernel, stride, padding = case.args
            if stride == 1 and padding == 0:
                got = call_unchanged(func, img, kernel)
            else:
                got = call_unchanged(func, img, kernel, stride=stride, padding=padding)
            expected = _torch_conv(img[None, None], kernel[None, None], None, stride, padding)[0, 0]
            values, shapes = _spatial_mistakes(img[None, None], kernel[None, None], None, stride, padding)
            suspects = [(None if value is None else value[0, 0], text) for value, text in values]
            shapes = [(shape[2:], text) for shape, text in shapes]
            assert_close_or_explain(got, expected, suspects + answer_rules(got, expected, _size_hint(expected.shape),
                                                                           shapes), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------------------- conv2d
def _random_conv(rng, n, c, h, w, f, kh, kw, bias, stride, padding):
    """The arguments (x, w, b, stride, padding) of a random case."""
    x = rng.normal(size=(n, c, h, w))
    wt = rng.normal(size=(f, c, kh, kw)) / np.sqrt(c * kh * kw)
    return x, wt, rng.normal(size=f) if bias else None, stride, padding


def _conv2d_cases():
    rng = np.random.default_rng(seed(44))
    cases = [Case("ch04.case.conv_source", (SOURCE_IMAGE[None, None], SOURCE_FILTER[None, None], None, 1, 0)),
             Case("ch04.case.conv_default_bias", _random_conv(rng, 2, 3, 7, 6, 4, 3, 3, False, 1, 0)),
             Case("ch04.case.conv_bias", _random_conv(rng, 2, 3, 7, 6, 4, 3, 3, True, 1, 0)),
             Case("ch04.case.conv_stride", _random_conv(rng, 2, 3, 9, 8, 4, 3, 3, True, 2, 0)),
             Case("ch04.case.conv_padding", _random_conv(rng, 2, 3, 6, 5, 4, 3, 3, False, 1, 1)),
             Case("ch04.case.conv_rectangular", _random_conv(rng, 3, 2, 8, 9, 5, 2, 3, True, 2, 1))]
    for i in range(3):
        n, ch, f = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 5), rng.integers(1, 6)))
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        h, w = int(kh + rng.integers(0, 7)), int(kw + rng.integers(0, 7))
        cases.append(Case("ch04.case.conv_random", _random_conv(rng, n, ch, h, w, f, kh, kw, i != 1, s, p),
                          values=dict(i=i + 1, n=n, c=ch, f=f, h=h, w=w, kh=kh, kw=kw, s=s, p=p)))
    return cases


def _call_conv(func, case):
    """The student's conv2d on the case: b and the defaults left out where they are the defaults,
    passed by name in the random cases; the axis-order hint added to the shape errors it raises."""
    x, w, b, stride, padding = case.args
    try:
        if b is None and stride == 1 and padding == 0:
            return call_unchanged(func, x, w)
        if case.name == "ch04.case.conv_random":
            return call_unchanged(func, x, w, b=b, stride=stride, padding=padding)
        return call_unchanged(func, x, w, b, stride=stride, padding=padding)
    except Failure as e:
        if isinstance(e.__context__, (ValueError, IndexError)):
            fail(str(e) + "\n" + t("ch04.channels"))
        raise


def _layout_and_bias_mistakes(x, w, b, stride, padding, expected):
    """``(value, hint)``: the output channels last; the bias forgotten or added along the width."""
    suspects = [(expected.transpose(0, 2, 3, 1), t("ch04.channels"))]
    if b is not None:
        nobias = _torch_conv(x, w, None, stride, padding)
        suspects.append((nobias, t("ch04.bias_missing")))
        if expected.shape[3] == expected.shape[1]:
            suspects.append((nobias + b, with_form("ch04.bias_axis")))
    return suspects


def conv2d(func):
    """``conv2d(x, w, b=None, stride=1, padding=0)``: x (N,C,H,W), w (F,C,kh,kw) → (N,F,Ho,Wo) like torch."""
    with Check("conv2d") as c:
        for case in _conv2d_cases():
            c.case(case.title)
            got = _call_conv(func, case)
            expected = _torch_conv(*case.args)
            values, shapes = _spatial_mistakes(*case.args)
            n, f, ho, wo = expected.shape
            shapes.append(((n, ho, wo, f), t("ch04.channels")))
            shape = tuple(getattr(got, "shape", ()))
            other_shape = _size_hint(expected.shape) if shape[:2] == (n, f) and len(shape) == 4 else t("ch04.channels")
            suspects = values + _layout_and_bias_mistakes(*case.args, expected)
            assert_close_or_explain(got, expected, suspects + answer_rules(got, expected, other_shape, shapes),
                                    rtol=1e-4, atol=1e-6)


register({
    # ---------------------------------------------------------------- case names
    "ch04.case.single_source": {"ja": "例題: 5×7 の画像、3×3 のフィルタ → 1 行目 6.2, 5.9, …",
                                "en": "source: 5×7 image, 3×3 filter → first row 6.2, 5.9, …"},
    "ch04.case.single_source_padding": {"ja": "例題、padding=1 (出力 5×7)", "en": "source example, padding=1 (output 5×7)"},
    "ch04.case.single_source_stride": {"ja": "例題、stride=2 (出力 2×3)", "en": "source example, stride=2 (output 2×3)"},
    "ch04.case.single_8x8": {"ja": "8×8 の画像、3×3 のカーネル、stride=2、padding=1 (出力 4×4)",
                             "en": "8×8 image, 3×3 kernel, stride=2, padding=1 (output 4×4)"},
    "ch04.case.single_7x9": {"ja": "7×9 の画像、2×3 のカーネル、padding=2", "en": "7×9 image, 2×3 kernel, padding=2"},
    "ch04.case.single_9x7": {"ja": "9×7 の画像、3×2 のカーネル、stride=3、padding=1",
                             "en": "9×7 image, 3×2 kernel, stride=3, padding=1"},
    "ch04.case.single_1x1": {"ja": "1×1 のカーネル", "en": "1×1 kernel"},
    "ch04.case.single_full": {"ja": "画像と同じ大きさのカーネル: 出力は 1 個", "en": "kernel as large as the image: one output"},
    "ch04.case.conv_source": {"ja": "例題を x (1,1,5,7)、w (1,1,3,3) として", "en": "source example as x (1,1,5,7), w (1,1,3,3)"},
    "ch04.case.conv_default_bias": {"ja": "x (2,3,7,6)、w (4,3,3,3)、b=None (既定)",
                                    "en": "x (2,3,7,6), w (4,3,3,3), b=None (default)"},
    "ch04.case.conv_bias": {"ja": "バイアスあり: x (2,3,7,6)、w (4,3,3,3)、b (4,)",
                            "en": "x (2,3,7,6), w (4,3,3,3) with bias b (4,)"},
    "ch04.case.conv_stride": {"ja": "バイアスあり、stride=2", "en": "stride=2 with bias"},
    "ch04.case.conv_padding": {"ja": "padding=1、b=None", "en": "padding=1, b=None"},
    "ch04.case.conv_rectangular": {"ja": "バイアスあり、stride=2、padding=1、2×3 のカーネル",
                                   "en": "stride=2, padding=1, 2×3 kernel, with bias"},
    "ch04.case.conv_random": {"ja": "乱数 {i}: N={n}, C={c}, F={f}, {h}×{w} の画像、{kh}×{kw} のカーネル、stride={s}、padding={p}",
                              "en": "random {i}: N={n}, C={c}, F={f}, {h}×{w} image, {kh}×{kw} kernel, stride={s}, "
                                    "padding={p}"},
    # ---------------------------------------------------------------- hints
    "ch04.flip_2d": {
        "ja": "ヒント: カーネルが上下左右に反転しています (数学の「真の畳み込み」)。深層学習の畳み込みは相互相関 "
              "(cross-correlation) です: 窓の左上に kernel[0, 0] を掛けてください。",
        "en": "Hint: the kernel is flipped up-down and left-right (the mathematical \"true convolution\"). Deep "
              "learning's convolution is cross-correlation: the top-left of each window is multiplied by kernel[0, 0].",
    },
    "ch04.one_sided": {
        "ja": "ヒント: パディングが片側だけに付いているようです。上下左右の 4 辺すべてに padding 個ずつ 0 を足してください。",
        "en": "Hint: the padding seems to be on one side only. Add padding zeros on all four sides.",
    },
    "ch04.one_sided_form": {"ja": " 書き方: np.pad(img, padding) または np.pad(img, ((p, p), (p, p)))",
                            "en": " The form: np.pad(img, padding) or np.pad(img, ((p, p), (p, p)))"},
    "ch04.stride": {
        "ja": "ヒント: stride={stride} が効いていないようです (stride=1 の結果と同じ形)。窓は stride ずつ動かします。",
        "en": "Hint: stride={stride} seems ignored (the shape of the stride-1 result). The window moves by stride.",
    },
    "ch04.stride_form": {"ja": " 出力の行 i の窓は、入力の行 i*stride から始まります。",
                         "en": " Output row i starts at input row i*stride."},
    "ch04.size": {
        "ja": "ヒント: 出力サイズは {ho}×{wo} です。端の位置を 1 つ落としたり足したりしていませんか?",
        "en": "Hint: the output size is {ho} by {wo}. Did you lose or add one position at the edge?",
    },
    "ch04.size_form": {"ja": " 式: floor((H + 2·padding − kh) / stride) + 1 = {ho}、floor((W + 2·padding − kw) / stride) + 1 = {wo}",
                       "en": " The formula: floor((H + 2·padding − kh) / stride) + 1 = {ho} by "
                             "floor((W + 2·padding − kw) / stride) + 1 = {wo}"},
    "ch04.channels": {
        "ja": "ヒント: 軸の順番を確認してください: x は (N, C, H, W)、w は (F, C, kh, kw)、出力は (N, F, Ho, Wo) です "
              "(PyTorch と同じ NCHW。OpenCV や matplotlib の (H, W, C) ではありません)。",
        "en": "Hint: check the axis order: x is (N, C, H, W), w is (F, C, kh, kw) and the output is (N, F, Ho, Wo) "
              "(PyTorch's NCHW, not the (H, W, C) of OpenCV or matplotlib).",
    },
    "ch04.bias_missing": {
        "ja": "ヒント: バイアス b が足されていません。フィルタ f の出力全体に b[f] を足してください。",
        "en": "Hint: the bias b is not added. Add b[f] to the whole output map of filter f.",
    },
    "ch04.bias_axis": {
        "ja": "ヒント: バイアスが間違った軸に足されています。out + b は最後の軸 (幅) に沿って足されます。"
              "フィルタの軸 (axis 1) に合わせてください。",
        "en": "Hint: the bias is added along the wrong axis: out + b broadcasts along the last axis (the width). "
              "Add it along the filter axis (axis 1).",
    },
    "ch04.bias_axis_form": {"ja": " 書き方: b[None, :, None, None]", "en": " The form: b[None, :, None, None]"},
})
