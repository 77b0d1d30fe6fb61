"""Chapter 04: the moving average and the two counts of a convolution (output size, parameters).

``moving_average`` compares with NumPy's sliding windows, ``conv_output_size`` with the shape
``torch.nn.functional.conv2d`` produces, ``conv_params`` with ``sum(p.numel())`` of a
``torch.nn.Conv2d``. The named mistakes: a flipped or unnormalised kernel, a "same" length, an
integer array; the padding counted once, the stride or the dilation ignored, an off-by-one size;
groups, the bias or the second k forgotten, a bias counted per group or once per layer. The 2-D
convolutions are checked in ``ch04_conv.py``, which shares :func:`answer_rules` from here.
"""
import numbers

import numpy as np

from ..i18n import register, t
from .core import (Case, Check, Mistake, as_array, assert_close_or_explain, call, call_unchanged, compare, fail,
                   failure_text, on_repeat, seed)
from .layers import shape_hint, with_form

__all__ = ["moving_average", "conv_output_size", "conv_params"]


def answer_rules(got, expected, other_shape=None, wrong_shapes=()):
    """``(value, hint)`` suspects recognised on the answer itself: a shape of ``wrong_shapes``
    (``(shape, hint)`` pairs), any other wrong shape (``other_shape``), or an integer array where
    the answer has fractions (``np.zeros_like`` of an integer input). A suspect's value is the
    answer, so :func:`.core.assert_close_or_explain` names it; nothing for a non-finite answer."""
    if failure_text(as_array, got) is not None:
        return []
    arr, expected = as_array(got), np.asarray(expected)
    if not np.isfinite(arr.astype(np.float64)).all():
        return []
    if arr.shape != expected.shape:
        text = shape_hint(got, expected.shape, wrong_shapes) or other_shape
        return [(got, text)] if text else []
    if np.issubdtype(arr.dtype, np.integer) and not np.allclose(expected, np.round(expected)):
        return [(got, with_form("ch04.int_dtype", dtype=arr.dtype))]
    return []


# ----------------------------------------------------------------------------------------- moving_average
def _moving_average_ref(x, kernel):
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, len(kernel))
    return windows @ kernel / kernel.sum()


def _moving_average_suspects(x, kernel):
    """The typical wrong answers on ``(x, kernel)``: not divided by the weights' sum, the kernel
    reversed (np.convolve), both."""
    factor = float(np.sum(kernel))
    normalise = with_form("ch04.ma_normalise", factor=factor)
    suspects = [(_moving_average_ref(x, kernel) * factor, normalise)] if factor != 1 else []
    if not np.array_equal(kernel, kernel[::-1]):
        flipped = _moving_average_ref(x, kernel[::-1])
        suspects += [(flipped, t("ch04.flip_1d")), (flipped * factor, t("ch04.flip_1d") + "\n" + normalise)]
    return suspects


def _moving_average_cases():
    rng = np.random.default_rng(seed(4))
    source = np.array([2, 3, 4, 2, 6, 7, 5, 9, 4])
    return [Case("ch04.case.ma_source_ones", (source, np.array([1, 1, 1]))),
            Case("ch04.case.ma_source_gap", (source, np.array([1, 0, 1]))),
            Case("ch04.case.ma_asymmetric", (source, np.array([1, 2, 3]))),
            Case("ch04.case.ma_one_weight", (source, np.array([5]))),
            Case("ch04.case.ma_full_length", (source, np.ones(9))),
            Case("ch04.case.ma_random", (rng.normal(size=60), rng.uniform(0.1, 2.0, size=7)))]


def moving_average(func):
    """``moving_average(x, kernel)``: 1-D, "valid", weights normalised by their sum."""
    with Check("moving_average") as c:
        for case in _moving_average_cases():
            c.case(case.title)
            x, kernel = case.args
            got = call_unchanged(func, x, kernel)
            expected = _moving_average_ref(x, kernel)
            valid = with_form("ch04.valid_1d", n=len(x) - len(kernel) + 1)
            assert_close_or_explain(got, expected, _moving_average_suspects(x, kernel)
                                    + answer_rules(got, expected, other_shape=valid), rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------------------- the two counts
def _count(got, expected, mistakes, args):
    """An integer answer equal to ``expected``: a number, the value (naming the first ``Mistake``
    it equals), then an int rather than a float."""
    if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.integer, np.floating)):
        fail(t("check.type", expected="int", got=type(got).__name__))
    compare(got, expected, mistakes, args, rtol=0, atol=0)
    if not isinstance(got, (numbers.Integral, np.integer)):
        fail(t("ch04.not_int", got=got) + on_repeat(t("ch04.not_int_form")))


def _torch_out_size(h, k, stride, padding, dilation):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        out = F.conv2d(torch.zeros(1, 1, h, 1), torch.zeros(1, 1, k, 1), stride=(stride, 1),
                       padding=(padding, 0), dilation=(dilation, 1))
    return int(out.shape[2])


def _size(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


SIZE_MISTAKES = [  # on (h, k, stride, padding, dilation); one equal to the right size is never named
    Mistake(lambda h, k, s, p, d: _size(h, k, s, p, 1), "ch04.size_dilation", formula="ch04.size_dilation_form"),
    Mistake(lambda h, k, s, p, d: _size(h, k, 1, p, d), "ch04.size_stride"),
    Mistake(lambda h, k, s, p, d: (h + p - d * (k - 1) - 1) // s + 1, "ch04.size_padding"),
    Mistake(lambda *args: _size(*args) + 1, "ch04.size_off_by_one", formula="ch04.size_formula"),
    Mistake(lambda *args: _size(*args) - 1, "ch04.size_off_by_one", formula="ch04.size_formula"),
]


def _size_cases():
    rng = np.random.default_rng(seed(404))
    cases = [Case(f"ch04.case.size_{name}", args) for name, args in [
        ("source_height", (5, 3, 1, 0, 1)), ("source_width", (7, 3, 1, 0, 1)), ("source_same", (5, 3, 1, 1, 1)),
        ("vgg", (224, 3, 1, 1, 1)), ("resnet", (224, 7, 2, 3, 1)), ("lenet", (32, 5, 1, 0, 1)),
        ("stride", (7, 3, 2, 0, 1)), ("floor", (8, 3, 2, 1, 1)), ("dilation", (7, 3, 1, 0, 2)),
        ("dilation_same", (64, 3, 1, 2, 2))]]
    for _ in range(12):
        k, s, p, d = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        h = max(int(d * (k - 1) + 1 - 2 * p + rng.integers(max(0, 2 * p - d * (k - 1)), 40)), 1)
        if h + 2 * p >= d * (k - 1) + 1:
            cases.append(Case("ch04.case.size_random", (h, k, s, p, d), values=dict(h=h, k=k, s=s, p=p, d=d)))
    return cases


def conv_output_size(func):
    """``conv_output_size(h, k, stride, padding, dilation=1)`` = floor((h + 2p − d(k−1) − 1)/s) + 1."""
    with Check("conv_output_size") as c:
        for case in _size_cases():
            c.case(case.title)
            h, k, s, p, d = case.args
            got = call(func, h, k, s, p) if d == 1 else call(func, h, k, s, p, dilation=d)
            _count(got, _torch_out_size(*case.args), SIZE_MISTAKES, case.args)


def _torch_params(c_in, c_out, k, groups, bias):
    import torch

    with torch.device("meta"):
        layer = torch.nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)
    return int(sum(p.numel() for p in layer.parameters()))


def _weights(c_in, c_out, k, groups):
    return c_out * (c_in // groups) * k * k


PARAMS_MISTAKES = [  # on (c_in, c_out, k, groups, bias); None where the mistake cannot show
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, 1) + c_out * bias if g != 1 else None,
            "ch04.params_groups", formula="ch04.params_groups_formula"),
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, 1) if g != 1 else None,
            "ch04.params_groups", formula="ch04.params_groups_formula"),
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, g) if bias else None, "ch04.params_bias_missing"),
    Mistake(lambda c_in, c_out, k, g, bias: None if bias else _weights(c_in, c_out, k, g) + c_out,
            "ch04.params_bias_extra"),
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, g) + c_out * g if bias and g != 1 else None,
            "ch04.params_bias_groups"),
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, g) + g if bias and g != 1 else None,
            "ch04.params_bias_groups"),
    Mistake(lambda c_in, c_out, k, g, bias: _weights(c_in, c_out, k, g) + 1 if bias and c_out != 1 else None,
            "ch04.params_bias_one"),
    Mistake(lambda c_in, c_out, k, g, bias: c_out * (c_in // g) * k + c_out * bias, "ch04.params_kernel"),
]


def _params_cases():
    return [Case(f"ch04.case.params_{name}", args) for name, args in [
        ("source_standard", (4, 4, 3, 1, False)), ("source_fewer", (4, 3, 3, 1, False)),
        ("source_groups", (4, 4, 3, 2, False)), ("source_depthwise", (4, 4, 3, 4, False)),
        ("source_pointwise", (4, 4, 1, 1, False)), ("vgg", (3, 64, 3, 1, True)), ("wide", (64, 128, 3, 1, True)),
        ("grouped", (32, 64, 3, 4, True)), ("depthwise", (32, 32, 3, 32, True)), ("lenet", (6, 16, 5, 1, True)),
        ("grouped_no_bias", (12, 6, 5, 3, False))]]


def conv_params(func):
    """``conv_params(c_in, c_out, k, groups=1, bias=True)``: weights plus biases, as sum(p.numel())."""
    with Check("conv_params") as c:
        for case in _params_cases():
            c.case(case.title)
            c_in, c_out, k, groups, bias = case.args
            given = {"groups": groups} if groups != 1 else {}
            got = call(func, c_in, c_out, k, **given, **({} if bias else {"bias": False}))
            _count(got, _torch_params(*case.args), PARAMS_MISTAKES, case.args)


register({
    # ---------------------------------------------------------------- case names
    "ch04.case.ma_source_ones": {"ja": "例題: 2 3 4 2 6 7 5 9 4、重み (1, 1, 1) → 3 3 4 5 6 7 6",
                                 "en": "source: 2 3 4 2 6 7 5 9 4, weights (1, 1, 1) → 3 3 4 5 6 7 6"},
    "ch04.case.ma_source_gap": {"ja": "例題: 2 3 4 2 6 7 5 9 4、重み (1, 0, 1) → 3.0 2.5 5.0 4.5 5.5 8.0 4.5",
                                "en": "source: 2 3 4 2 6 7 5 9 4, weights (1, 0, 1) → 3.0 2.5 5.0 4.5 5.5 8.0 4.5"},
    "ch04.case.ma_asymmetric": {"ja": "非対称な重み (1, 2, 3)", "en": "weights (1, 2, 3), not symmetric"},
    "ch04.case.ma_one_weight": {"ja": "重み 1 個 (5,): 信号そのもの", "en": "one weight (5,): the signal itself"},
    "ch04.case.ma_full_length": {"ja": "信号と同じ長さの重み: 出力は 1 個", "en": "kernel as long as the signal: one output"},
    "ch04.case.ma_random": {"ja": "乱数の信号 (60)、正の乱数の重み (7)", "en": "random signal (60), random positive weights (7)"},
    "ch04.case.size_source_height": {"ja": "例題: 高さ 5、k=3 → 3", "en": "source: height 5, k=3 → 3"},
    "ch04.case.size_source_width": {"ja": "例題: 幅 7、k=3 → 5", "en": "source: width 7, k=3 → 5"},
    "ch04.case.size_source_same": {"ja": "例題、padding=1: 5 → 5 (「same」)", "en": "source, padding=1: 5 → 5 (\"same\")"},
    "ch04.case.size_vgg": {"ja": "224、k=3、stride=1、padding=1 → 224 (VGG)", "en": "224, k=3, stride=1, padding=1 → 224 (VGG)"},
    "ch04.case.size_resnet": {"ja": "224、k=7、stride=2、padding=3 → 112 (ResNet の最初の層)",
                              "en": "224, k=7, stride=2, padding=3 → 112 (ResNet's first layer)"},
    "ch04.case.size_lenet": {"ja": "32、k=5 → 28 (LeNet)", "en": "32, k=5 → 28 (LeNet)"},
    "ch04.case.size_stride": {"ja": "7、k=3、stride=2 → 3", "en": "7, k=3, stride=2 → 3"},
    "ch04.case.size_floor": {"ja": "切り捨て: 8、k=3、stride=2、padding=1 → 4", "en": "8, k=3, stride=2, padding=1 → 4 (rounded down)"},
    "ch04.case.size_dilation": {"ja": "7、k=3、dilation=2 → 3", "en": "7, k=3, dilation=2 → 3"},
    "ch04.case.size_dilation_same": {"ja": "64、k=3、padding=2、dilation=2 → 64", "en": "64, k=3, padding=2, dilation=2 → 64"},
    "ch04.case.size_random": {"ja": "乱数: h={h}, k={k}, stride={s}, padding={p}, dilation={d}",
                              "en": "random: h={h}, k={k}, stride={s}, padding={p}, dilation={d}"},
    "ch04.case.params_source_standard": {"ja": "例題: 通常の畳み込み 4 → 4 チャネル、k=3、bias=False",
                                         "en": "source: standard conv 4 → 4 channels, k=3, bias=False"},
    "ch04.case.params_source_fewer": {"ja": "例題: 4 → 3 チャネル、k=3、bias=False", "en": "source: 4 → 3 channels, k=3, bias=False"},
    "ch04.case.params_source_groups": {"ja": "例題: グループ畳み込み、groups=2、bias=False",
                                       "en": "source: group conv, groups=2, bias=False"},
    "ch04.case.params_source_depthwise": {"ja": "例題: depthwise、groups=4、bias=False", "en": "source: depthwise, groups=4, bias=False"},
    "ch04.case.params_source_pointwise": {"ja": "例題: pointwise k=1、bias=False", "en": "source: pointwise k=1, bias=False"},
    "ch04.case.params_vgg": {"ja": "VGG の最初の層 3 → 64、k=3 (バイアスあり)", "en": "VGG's first layer 3 → 64, k=3 (with bias)"},
    "ch04.case.params_wide": {"ja": "64 → 128、k=3 (バイアスあり)", "en": "64 → 128, k=3 (with bias)"},
    "ch04.case.params_grouped": {"ja": "グループ 32 → 64、k=3、groups=4、バイアスあり", "en": "grouped 32 → 64, k=3, groups=4, with bias"},
    "ch04.case.params_depthwise": {"ja": "depthwise 32 → 32、k=3、groups=32、バイアスあり",
                                   "en": "depthwise 32 → 32, k=3, groups=32, with bias"},
    "ch04.case.params_lenet": {"ja": "5×5 のカーネル 6 → 16 (LeNet)、バイアスあり", "en": "5×5 kernel 6 → 16 (LeNet), with bias"},
    "ch04.case.params_grouped_no_bias": {"ja": "グループ 12 → 6、k=5、groups=3、bias=False",
                                         "en": "grouped 12 → 6, k=5, groups=3, bias=False"},
    # ---------------------------------------------------------------- moving_average
    "ch04.ma_normalise": {
        "ja": "ヒント: 重みの和で割っていないようです (結果が正解の {factor:g} 倍)。移動平均では重みを合計 1 に正規化します。",
        "en": "Hint: the weights do not seem normalised (the result is {factor:g} times the answer). A moving average "
              "divides by the sum of the weights.",
    },
    "ch04.ma_normalise_form": {"ja": " 書き方: kernel / kernel.sum()", "en": " The form: kernel / kernel.sum()"},
    "ch04.flip_1d": {
        "ja": "ヒント: 重みが逆順に掛かっています (np.convolve は重みを反転します)。窓の左端に kernel[0] を掛けてください "
              "(np.correlate と同じ向き)。",
        "en": "Hint: the weights are applied in reverse order (np.convolve flips the kernel). Multiply the left end of "
              "each window by kernel[0], as np.correlate does.",
    },
    "ch04.valid_1d": {
        "ja": "ヒント: 出力の長さは「valid」の {n} です (窓が信号の中に完全に収まる位置だけ)。",
        "en": "Hint: the output length is the \"valid\" one, {n} (only positions where the whole window lies inside "
              "the signal).",
    },
    "ch04.valid_1d_form": {"ja": " 式: len(x) - len(kernel) + 1", "en": " The formula: len(x) - len(kernel) + 1"},
    "ch04.int_dtype": {
        "ja": "ヒント: 結果が整数型 ({dtype}) です。np.zeros_like(x) は整数の x から整数配列を作り、小数を切り捨てます。"
              "浮動小数点の配列を用意してください。",
        "en": "Hint: the result has an integer dtype ({dtype}). np.zeros_like(x) of an integer x is an integer array "
              "and drops the fractions; allocate a float array.",
    },
    "ch04.int_dtype_form": {"ja": " (例: np.zeros(n, dtype=float))", "en": " (e.g. np.zeros(n, dtype=float))"},
    # ---------------------------------------------------------------- the counts
    "ch04.not_int": {
        "ja": "整数 (int) を返してください ({got!r} が返りました)。切り捨ての整数の割り算なら int のままです。",
        "en": "Return an integer (int); got {got!r}. A floor (integer) division keeps the result an int.",
    },
    "ch04.not_int_form": {"ja": " (演算子 //)", "en": " (the operator //)"},
    "ch04.size_off_by_one": {
        "ja": "ヒント: 1 ずれています。最初の窓の位置の分と、(膨張した) カーネルが覆う画素数を確認してください。",
        "en": "Hint: off by one. Check the count for the first window position and the number of pixels the "
              "(dilated) kernel covers.",
    },
    "ch04.size_formula": {"ja": "式: floor((h + 2p − d·(k − 1) − 1) / s) + 1。",
                          "en": "The formula: floor((h + 2p − d·(k − 1) − 1) / s) + 1."},
    "ch04.size_padding": {"ja": "ヒント: パディングは両側に付くので 2·padding を足します。",
                          "en": "Hint: padding is added on both sides, so add 2·padding."},
    "ch04.size_stride": {"ja": "ヒント: stride で割るのを忘れていませんか? 窓は stride ずつ進みます。",
                         "en": "Hint: did you forget to divide by the stride? The window advances stride pixels at a time."},
    "ch04.size_dilation": {
        "ja": "ヒント: dilation (膨張) が効いていません。間隔 d で広げたカーネルは k 画素より広い範囲を覆います。",
        "en": "Hint: the dilation is ignored. A kernel spread out with gaps d covers more than k pixels.",
    },
    "ch04.size_dilation_form": {"ja": "実効サイズ: d·(k − 1) + 1", "en": "Its extent: d·(k − 1) + 1 pixels."},
    "ch04.params_groups": {
        "ja": "ヒント: groups が反映されていません。groups=g では各フィルタが入力チャネルの 1/g だけを見ます。",
        "en": "Hint: groups is not taken into account. With groups=g each filter sees only 1/g of the input channels.",
    },
    "ch04.params_groups_formula": {"ja": "重みは c_out × (c_in / g) × k × k 個です。",
                                   "en": "There are c_out × (c_in / g) × k × k weights."},
    "ch04.params_bias_groups": {
        "ja": "ヒント: バイアスをグループごとに数えていませんか? バイアスは出力チャネルごとに 1 個 (groups によらず c_out 個) です。",
        "en": "Hint: is the bias counted per group? There is one bias per output channel (c_out, whatever groups is).",
    },
    "ch04.params_bias_one": {
        "ja": "ヒント: バイアスを層全体で 1 個と数えていませんか? バイアスは出力チャネルごとに 1 個 (計 c_out 個) です。",
        "en": "Hint: is the bias counted once for the whole layer? There is one bias per output channel (c_out in all).",
    },
    "ch04.params_bias_missing": {
        "ja": "ヒント: bias=True のときは出力チャネルごとにバイアスが 1 個 (計 c_out 個) 加わります。",
        "en": "Hint: with bias=True there is one bias per output channel (c_out more parameters).",
    },
    "ch04.params_bias_extra": {"ja": "ヒント: bias=False のときはバイアスを数えません。",
                               "en": "Hint: with bias=False there is no bias to count."},
    "ch04.params_kernel": {"ja": "ヒント: カーネルは k × k の 2 次元です。k を 2 回掛けましたか?",
                           "en": "Hint: the kernel is k × k (two dimensions): did you multiply by k twice?"},
})
