"""Chapter 05: pooling — max / average pooling forward and the max-pooling backward pass.

Every check compares the student's NumPy function with PyTorch (``F.max_pool2d``,
``F.avg_pool2d`` and autograd). When an answer is wrong, the typical mistakes (stride
ignored, output size rounded up, channels mixed up, max and average swapped, a gradient
spread over the window, ties, overlapping windows that overwrite instead of accumulate)
are recognised and named in the message. A case's arguments are those the student's function
gets: ``(x, k)`` leaves the stride out (it means k), ``(x, k, stride)`` gives it.
"""
import numpy as np

from ..i18n import register, t
from .core import Case, Check, Mistake, as_array, assert_close_or_explain, call_unchanged, compare, expect, seed
from .layers import shape_hint, with_form

__all__ = ["max_pool2d", "avg_pool2d", "max_pool2d_backward"]


def _step(k, stride):
    return k if stride is None else stride


def _windows(x, k, stride=None):
    """All pooling windows of x (N,C,H,W) as a view (N, C, Ho, Wo, k, k), floor like torch."""
    s = _step(k, stride)
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def _torch_pool(x, k, stride=None, kind="max"):
    import torch
    import torch.nn.functional as F

    tx, s = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)), _step(k, stride)
    return (F.max_pool2d(tx, k, s) if kind == "max" else F.avg_pool2d(tx, k, s)).numpy()


def _torch_max_backward(dout, x, k, stride=None):
    import torch
    import torch.nn.functional as F

    tx = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    F.max_pool2d(tx, k, _step(k, stride)).backward(torch.from_numpy(np.asarray(dout, dtype=np.float64)))
    return tx.grad.numpy()


def _out_size(h, k, s, ceil=False):
    return (-(-(h - k) // s) if ceil else (h - k) // s) + 1


def _expect_float(got):
    dtype = as_array(got).dtype
    expect(np.issubdtype(dtype, np.floating), t("check.dtype", expected="float", got=dtype))


# --------------------------------------------------------------------------- forward
def _over_channels(x, k, stride, reduce):
    """Pooling that reduces over the channel axis too (a typical slip with axis=...)."""
    windows = _windows(x, k, stride)
    return np.broadcast_to(reduce(windows, axis=(1, -2, -1), keepdims=True)[..., 0, 0], windows.shape[:4]).copy()


MAX_MISTAKES = [  # on the case's arguments (x, k[, stride])
    Mistake(lambda x, k, stride=None: _windows(x, k, stride).mean(axis=(-2, -1)), "ch05.hint_got_avg"),
    Mistake(lambda x, k, stride=None: np.maximum(_windows(x, k, stride).max(axis=(-2, -1)), 0.0), "ch05.hint_zero_init"),
    Mistake(lambda x, k, stride=None: _over_channels(x, k, stride, np.max), "ch05.hint_mixed_channels"),
]
AVG_MISTAKES = [
    Mistake(lambda x, k, stride=None: _windows(x, k, stride).max(axis=(-2, -1)), "ch05.hint_got_max"),
    Mistake(lambda x, k, stride=None: _windows(x, k, stride).sum(axis=(-2, -1)), "ch05.hint_sum"),
    Mistake(lambda x, k, stride=None: _over_channels(x, k, stride, np.mean), "ch05.hint_mixed_channels"),
]


def _wrong_shapes(x, k, stride=None):
    """``(shape, hint)`` of the shapes a mistake gives: the stride taken as k or as 1, the size
    rounded up, x read as (N, H, W, C)."""
    (n, c, h, w), s = x.shape, _step(k, stride)
    shapes = [((n, c, _out_size(h, k, s, ceil=True), _out_size(w, k, s, ceil=True)), with_form("ch05.hint_ceil"))]
    if stride is not None and stride != k and h >= k and w >= k:
        shapes.insert(0, ((n, c, _out_size(h, k, k), _out_size(w, k, k)), t("ch05.hint_stride_ignored", stride=s, k=k)))
    if stride is None and k != 1:
        shapes.insert(0, ((n, c, _out_size(h, k, 1), _out_size(w, k, 1)), t("ch05.hint_stride_default")))
    if h >= k:
        shapes.append(((n, max(0, _out_size(c, k, s)), _out_size(h, k, s), w), t("ch05.hint_channels")))
    return shapes


def _worked_example():
    return np.array([[[[1, 3, 2, 1],
                       [4, 6, 5, 0],
                       [3, 2, 1, 2],
                       [1, 0, 3, 4]]]], dtype=np.float64)


def _pool_cases():
    rng = np.random.default_rng(seed(5))
    x_multi = rng.standard_normal((2, 3, 6, 8))
    x_multi[1] += 5.0          # images and channels on different levels: mixing shows
    x_multi[:, 2] -= 3.0
    return [
        Case("ch05.case.worked", (_worked_example(), 2)),
        Case("ch05.case.stride_given", (_worked_example(), 2, 2), values=dict(size="4x4", k=2, s=2)),
        Case("ch05.case.overlap", (rng.standard_normal((1, 1, 5, 6)), 2, 1), values=dict(k=2, s=1)),
        Case("ch05.case.odd", (rng.standard_normal((1, 2, 5, 7)), 2), values=dict(size="5x7", k=2)),
        Case("ch05.case.multi", (x_multi, 2)),
        Case("ch05.case.on", (rng.standard_normal((2, 4, 7, 9)), 3, 2), values=dict(k=3, s=2, size="7x9")),
        Case("ch05.case.default_stride", (rng.standard_normal((1, 3, 9, 10)), 3)),
        Case("ch05.case.negative", (-1.0 - rng.random((1, 2, 4, 6)), 2)),
        Case("ch05.case.c_equals_w", (rng.standard_normal((2, 4, 5, 4)), 2)),
        Case("ch05.case.random", (rng.standard_normal((3, 2, 12, 10)), 4, 3), values=dict(size="3x2x12x10", k=4, s=3)),
    ]


def _pool_check(name, func, kind, mistakes):
    with Check(name) as c:
        for case in _pool_cases():
            c.case(case.title)
            got = call_unchanged(func, *case.args)
            expected = _torch_pool(*case.args, kind=kind)
            compare(got, expected, mistakes, case.args,
                    unexplained=shape_hint(got, expected.shape, _wrong_shapes(*case.args)))
            _expect_float(got)


def max_pool2d(func):
    """``max_pool2d(x, k, stride=None)``: x (N,C,H,W) → (N,C,Ho,Wo); stride None means k."""
    _pool_check("max_pool2d", func, "max", MAX_MISTAKES)


def avg_pool2d(func):
    """``avg_pool2d(x, k, stride=None)``: like :func:`max_pool2d` with the window mean."""
    _pool_check("avg_pool2d", func, "avg", AVG_MISTAKES)


# --------------------------------------------------------------------------- backward
def _backward_variant(dout, x, k, s, rule):
    """Wrong (and right) ways to route the gradient; used only to recognise mistakes."""
    dx = np.zeros_like(x, dtype=np.float64)
    n, c, ho, wo = dout.shape
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(n, c, k * k)
            g = dout[:, :, i, j][..., None]
            if rule == "spread_mean":
                part = np.broadcast_to(g / (k * k), win.shape)
            elif rule == "spread_all":
                part = np.broadcast_to(g, win.shape)
            elif rule == "all_ties":
                part = (win == win.max(axis=2, keepdims=True)) * g
            elif rule in ("first", "overwrite", "ones"):
                part = (np.arange(k * k) == win.argmax(axis=2)[..., None]) * (1.0 if rule == "ones" else g)
            elif rule == "last":
                last = k * k - 1 - win[..., ::-1].argmax(axis=2)
                part = (np.arange(k * k) == last[..., None]) * g
            part = np.asarray(part).reshape(n, c, k, k)
            region = dx[:, :, i * s:i * s + k, j * s:j * s + k]
            if rule == "overwrite":
                np.copyto(region, part, where=part != 0)
            else:
                region += part
    return dx


BACKWARD_RULES = [("spread_mean", "ch05.hint_spread"), ("spread_all", "ch05.hint_spread"), ("all_ties", "ch05.hint_ties"),
                  ("last", "ch05.hint_ties"), ("overwrite", "ch05.hint_overwrite"), ("ones", "ch05.hint_ignore_dout")]


def _backward_suspects(dout, x, k, stride=None):
    """``(value, hint)`` of the typical wrong gradients: spread over the window, every tied maximum
    or the last one, overlaps overwritten, dout ignored, and windows stepped by k instead of the stride."""
    (h, w), s = x.shape[2:], _step(k, stride)
    suspects = [(_backward_variant(dout, x, k, s, rule), with_form(key)) for rule, key in BACKWARD_RULES]
    if s != k and h >= k and w >= k:
        part = dout[:, :, :_out_size(h, k, k), :_out_size(w, k, k)]
        suspects.append((_backward_variant(part, x, k, k, "first"), t("ch05.hint_stride_ignored", stride=s, k=k)))
    return suspects


def _backward_cases():
    """The arguments are (dout, x, k) or (dout, x, k, stride); a random dout has the output's shape."""
    rng = np.random.default_rng(seed(11))
    ties = np.array([[[[3, 3, 0, 5],
                       [1, 2, 5, 5]]]], dtype=np.float64)

    def drawn(key, shape, k, stride, values):
        x, s = rng.standard_normal(shape), _step(k, stride)
        dout = rng.uniform(0.5, 2.0, size=(*shape[:2], _out_size(shape[2], k, s), _out_size(shape[3], k, s)))
        return Case(key, (dout, x, k) if stride is None else (dout, x, k, stride), values=values)

    return [Case("ch05.case.worked_dout", (np.array([[[[1., 2.], [3., 4.]]]]), _worked_example(), 2)),
            Case("ch05.case.ties", (np.array([[[[1.0, 2.0]]]]), ties, 2)),
            drawn("ch05.case.overlap_add", (1, 1, 5, 6), 2, 1, dict(k=2, s=1)),
            drawn("ch05.case.overlap_add_6x6", (2, 2, 6, 6), 3, 1, dict(k=3, s=1)),
            drawn("ch05.case.odd", (1, 2, 5, 7), 2, None, dict(size="5x7", k=2)),
            drawn("ch05.case.stride_given", (2, 3, 6, 8), 2, 2, dict(size="N=2, C=3, H=6, W=8", k=2, s=2)),
            drawn("ch05.case.on", (2, 4, 7, 9), 3, 2, dict(k=3, s=2, size="7x9")),
            drawn("ch05.case.random", (3, 2, 12, 10), 4, 3, dict(size="3x2x12x10", k=4, s=3))]


def max_pool2d_backward(func):
    """``max_pool2d_backward(dout, x, k, stride=None) -> dx``, compared with torch autograd."""
    with Check("max_pool2d_backward") as c:
        for case in _backward_cases():
            c.case(case.title)
            got = call_unchanged(func, *case.args)
            expected = _torch_max_backward(*case.args)
            dout, x = case.args[:2]
            assert_close_or_explain(got, expected, _backward_suspects(*case.args),
                                    unexplained=shape_hint(got, x.shape, [(dout.shape, t("ch05.hint_dx_shape", shape=x.shape))]))
            _expect_float(got)


register({
    # case names
    "ch05.case.worked": {"ja": "例題 4x4, k=2", "en": "worked example 4x4, k=2"},
    "ch05.case.worked_dout": {"ja": "例題 4x4, k=2, dout=[[1,2],[3,4]]", "en": "worked example 4x4, k=2, dout=[[1,2],[3,4]]"},
    "ch05.case.stride_given": {"ja": "{size}, k={k}, stride={s} を指定", "en": "{size}, k={k}, stride={s} given"},
    "ch05.case.overlap": {"ja": "k={k}, stride={s} (窓が重なる)", "en": "k={k}, stride={s} (overlapping windows)"},
    "ch05.case.overlap_add": {"ja": "k={k}, stride={s} (窓が重なり、勾配は足し合わせる)",
                              "en": "k={k}, stride={s} (overlapping windows, gradients add up)"},
    "ch05.case.multi": {"ja": "N=2, C=3, H=6, W=8, k=2", "en": "N=2, C=3, H=6, W=8, k=2"},
    "ch05.case.default_stride": {"ja": "k=3 (stride=None), 9x10", "en": "k=3 (stride=None), 9x10"},
    "ch05.case.c_equals_w": {"ja": "C = W (4x5x4), k=2", "en": "C = W (4x5x4), k=2"},
    "ch05.case.overlap_add_6x6": {"ja": "k={k}, stride={s}, 6x6 (窓が重なり、勾配は足し合わせる)",
                                  "en": "k={k}, stride={s}, 6x6 (overlapping windows, gradients add up)"},
    "ch05.case.odd": {"ja": "奇数の大きさ {size}, k={k} (torch と同じく切り捨て)",
                      "en": "odd size {size}, k={k} (rounded down like torch)"},
    "ch05.case.on": {"ja": "{size} の入力に k={k}, stride={s}", "en": "k={k}, stride={s} on {size}"},
    "ch05.case.negative": {"ja": "負の値だけの入力", "en": "negative values only"},
    "ch05.case.random": {"ja": "乱数 {size}, k={k}, stride={s}", "en": "random {size}, k={k}, stride={s}"},
    "ch05.case.ties": {"ja": "同点: [[3,3,0,5],[1,2,5,5]], k=2", "en": "ties: [[3,3,0,5],[1,2,5,5]], k=2"},
    # hints
    "ch05.hint_stride_ignored": {
        "ja": "ヒント: stride={stride} が指定されているのに、stride=k ({k}) のように計算しているようです。"
              "窓は stride 画素ずつずらします。",
        "en": "Hint: stride={stride} was given, but your result looks as if stride = k ({k}). "
              "Move the window by `stride` pixels.",
    },
    "ch05.hint_stride_default": {
        "ja": "ヒント: stride=None のときは stride = k (窓が重ならない) です。stride=1 として計算していませんか?",
        "en": "Hint: stride=None means stride = k (windows that do not overlap). Did you use stride 1?",
    },
    "ch05.hint_ceil": {
        "ja": "ヒント: 出力サイズは切り捨てで数えます (PyTorch の既定 ceil_mode=False と同じ)。"
              "はみ出す最後の窓は使いません。",
        "en": "Hint: the output size is rounded down (like PyTorch's default ceil_mode=False). "
              "A last window that would stick out is dropped.",
    },
    "ch05.hint_ceil_form": {"ja": " 式: floor((H - k) / stride) + 1", "en": " The formula: floor((H - k) / stride) + 1"},
    "ch05.hint_channels": {
        "ja": "ヒント: x の形は (N, C, H, W) です。プーリングは最後の 2 軸 (H, W) に対して、"
              "画像ごと・チャネルごとに別々に行います。(N, H, W, C) として扱っていませんか?",
        "en": "Hint: x has shape (N, C, H, W). Pool over the last two axes (H, W), separately for every "
              "image and every channel. Did you treat it as (N, H, W, C)?",
    },
    "ch05.hint_mixed_channels": {
        "ja": "ヒント: 出力の値が画像やチャネルをまたいで混ざっています。各 (n, c) の 2 次元マップを独立に扱ってください。",
        "en": "Hint: values leak across images or channels. Treat the 2-D map of every (n, c) on its own.",
    },
    "ch05.hint_got_avg": {
        "ja": "ヒント: 結果が平均プーリングと一致しました。ここでは窓の最大値 (max) を取ります。",
        "en": "Hint: your result equals average pooling; here each window gives its maximum.",
    },
    "ch05.hint_got_max": {
        "ja": "ヒント: 結果が最大プーリングと一致しました。ここでは窓の平均値 (mean) を取ります。",
        "en": "Hint: your result equals max pooling; here each window gives its mean.",
    },
    "ch05.hint_sum": {
        "ja": "ヒント: 結果が窓の合計と一致しました。平均なので、窓の中の値の個数で割ってください。",
        "en": "Hint: your result equals the window sums; a mean divides by the number of values in the window.",
    },
    "ch05.hint_zero_init": {
        "ja": "ヒント: 負の値だけの窓で 0 が出ています。最大値の初期値を 0 にしていませんか? (-inf か窓の最初の値から始めます)",
        "en": "Hint: windows holding only negative values gave 0. Did you start the maximum at 0? "
              "Start from -inf or from the window's first value.",
    },
    "ch05.hint_dx_shape": {
        "ja": "ヒント: 返す勾配 dx は入力 x と同じ形 {shape} です (dout の形ではありません)。",
        "en": "Hint: the gradient dx has the shape of the input x, {shape} (not the shape of dout).",
    },
    "ch05.hint_spread": {
        "ja": "ヒント: 勾配を窓全体に配っているようです。最大プーリングの勾配は、各窓で最大値を取った 1 画素 "
              "(arg-max) だけに dout がそのまま流れ、他の画素は 0 です。(窓全体に均等に配るのは平均プーリングの逆伝播です)",
        "en": "Hint: you spread the gradient over the window. In max pooling, dout flows unchanged to the one "
              "pixel that was the maximum (the arg-max) of each window; the others get 0. "
              "(Spreading it evenly is the backward pass of average pooling.)",
    },
    "ch05.hint_ties": {
        "ja": "ヒント: 窓の中に同じ最大値が複数ある (同点) ケースです。PyTorch と同じく、窓を行優先 (左上から右へ、"
              "次の行へ) に見て最初の最大値 1 つだけに勾配を流してください (np.argmax と同じ規則)。",
        "en": "Hint: this case has ties (several equal maxima in a window). As PyTorch does, send the gradient "
              "only to the first maximum in row-major order (left to right, then the next row), the rule of np.argmax.",
    },
    "ch05.hint_overwrite": {
        "ja": "ヒント: 窓が重なる (stride < k) と、同じ画素が複数の窓の最大値になることがあります。"
              "勾配は上書きせず、足し合わせてください (配列の添字で一度に代入すると、重なった添字の 1 つしか残りません)。",
        "en": "Hint: with overlapping windows (stride < k) one pixel can be the maximum of several windows. "
              "Accumulate the gradients instead of overwriting them (a fancy-indexed assignment keeps only one of "
              "the repeated indices).",
    },
    "ch05.hint_overwrite_form": {"ja": " 書き方: dx[...] = ではなく dx[...] +=、配列の添字で一度に足すなら np.add.at",
                                 "en": " The form: dx[...] += instead of dx[...] =; with index arrays, np.add.at"},
    "ch05.hint_ignore_dout": {
        "ja": "ヒント: arg-max の位置は合っていますが、流す値が dout ではありません。各窓の dout の値をそのまま流してください。",
        "en": "Hint: the arg-max positions are right, but the values are not dout. Pass each window's dout value on.",
    },
})
