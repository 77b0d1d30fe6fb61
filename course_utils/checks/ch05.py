"""Chapter 05: pooling — max / average pooling forward and the max-pooling backward pass.

Every check compares the student's NumPy function with PyTorch (``F.max_pool2d``,
``F.avg_pool2d`` and autograd). When an answer is wrong, the typical mistakes (stride
ignored, output size rounded up, channels mixed up, max and average swapped, a gradient
spread over the window, ties, overlapping windows that overwrite instead of accumulate)
are recognised and named in the message.
"""
import numpy as np

from ..i18n import register, t
from .core import Check, Failure, assert_close, call_unchanged, fail, on_repeat, to_numpy

__all__ = ["max_pool2d", "avg_pool2d", "max_pool2d_backward"]

register({
    # case names
    "ch05.case.worked": {"ja": "例題 4x4, k=2", "en": "worked example 4x4, k=2"},
    "ch05.case.worked_dout": {"ja": "例題 4x4, k=2, dout=[[1,2],[3,4]]", "en": "worked example 4x4, k=2, dout=[[1,2],[3,4]]"},
    "ch05.case.stride_given": {"ja": "{size}, k={k}, stride={s} を指定", "en": "{size}, k={k}, stride={s} given"},
    "ch05.case.overlap": {"ja": "k={k}, stride={s} (窓が重なる)", "en": "k={k}, stride={s} (overlapping windows)"},
    "ch05.case.overlap_add": {"ja": "k={k}, stride={s} (窓が重なり、勾配は足し合わせる)",
                              "en": "k={k}, stride={s} (overlapping windows, gradients add up)"},
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


# --------------------------------------------------------------------------- references
def _stride(k, stride):
    return k if stride is None else stride


def _windows(x, k, s):
    """All pooling windows of x (N,C,H,W) as a view (N, C, Ho, Wo, k, k), floor like torch."""
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    return view[:, :, ::s, ::s]


def _torch_pool(x, k, s, kind):
    import torch
    import torch.nn.functional as F

    tx = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    out = F.max_pool2d(tx, k, s) if kind == "max" else F.avg_pool2d(tx, k, s)
    return out.numpy()


def _torch_max_backward(dout, x, k, s):
    import torch
    import torch.nn.functional as F

    tx = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    F.max_pool2d(tx, k, s).backward(torch.from_numpy(np.asarray(dout, dtype=np.float64)))
    return tx.grad.numpy()


def _out_size(h, k, s, ceil=False):
    return (-(-(h - k) // s) if ceil else (h - k) // s) + 1


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


# --------------------------------------------------------------------------- comparing
def _matches(arr, candidate, expected):
    if isinstance(candidate, tuple):  # a wrong shape
        return arr.shape != expected.shape and arr.shape == candidate
    return (arr.shape == candidate.shape and np.issubdtype(arr.dtype, np.number)
            and np.allclose(arr.astype(np.float64), candidate, rtol=1e-5, atol=1e-8))


def _compare(got, expected, suspects, rtol=1e-5, atol=1e-8):
    """assert_close, and when it fails, add the hint of the first suspect the answer matches.

    ``suspects`` is a list of ``(candidate, hint)``: a candidate is an expected-looking array
    computed the wrong way, or a shape tuple.
    """
    arr = to_numpy(got, kind=f"numpy.ndarray {tuple(expected.shape)}")
    try:
        assert_close(arr, expected, rtol=rtol, atol=atol, check_dtype="float")
    except Failure as failure:
        for candidate, hint in suspects:
            if candidate is not None and _matches(arr, candidate, expected):
                fail(f"{failure}\n{hint}")
        raise
    return arr


def _shape_suspects(x, k, s, stride_arg):
    n, c, h, w = x.shape
    out = []
    if stride_arg is not None and stride_arg != k and h >= k and w >= k:
        out.append(((n, c, _out_size(h, k, k), _out_size(w, k, k)), t("ch05.hint_stride_ignored", stride=s, k=k)))
    if stride_arg is None and k != 1:
        out.append(((n, c, _out_size(h, k, 1), _out_size(w, k, 1)), t("ch05.hint_stride_default")))
    out.append(((n, c, _out_size(h, k, s, ceil=True), _out_size(w, k, s, ceil=True)),
                t("ch05.hint_ceil") + on_repeat(t("ch05.hint_ceil_form"))))
    if h >= k:  # pooling axes 1 and 2 as if x were (N, H, W, C)
        out.append(((n, max(0, _out_size(c, k, s)), _out_size(h, k, s), w), t("ch05.hint_channels")))
    return out


def _pool_value_suspects(x, k, s, kind):
    out = []
    if kind == "max":
        out.append((_windows(x, k, s).mean(axis=(-2, -1)), t("ch05.hint_got_avg")))
        out.append((np.maximum(_windows(x, k, s).max(axis=(-2, -1)), 0.0), t("ch05.hint_zero_init")))
    else:
        out.append((_windows(x, k, s).max(axis=(-2, -1)), t("ch05.hint_got_max")))
        out.append((_windows(x, k, s).sum(axis=(-2, -1)), t("ch05.hint_sum")))
    return out


# --------------------------------------------------------------------------- cases
def _worked_example():
    return np.array([[[[1, 3, 2, 1],
                       [4, 6, 5, 0],
                       [3, 2, 1, 2],
                       [1, 0, 3, 4]]]], dtype=np.float64)


def _pool_cases():
    """(name, x, k, stride) — stride None means "leave the argument out"."""
    rng = np.random.default_rng(5)
    x_multi = rng.standard_normal((2, 3, 6, 8))
    x_multi[1] += 5.0          # images and channels on different levels: mixing shows
    x_multi[:, 2] -= 3.0
    return [
        (t("ch05.case.worked"), _worked_example(), 2, None),
        (t("ch05.case.stride_given", size="4x4", k=2, s=2), _worked_example(), 2, 2),
        (t("ch05.case.overlap", k=2, s=1), rng.standard_normal((1, 1, 5, 6)), 2, 1),
        (t("ch05.case.odd", size="5x7", k=2), rng.standard_normal((1, 2, 5, 7)), 2, None),
        ("N=2, C=3, H=6, W=8, k=2", x_multi, 2, None),
        (t("ch05.case.on", k=3, s=2, size="7x9"), rng.standard_normal((2, 4, 7, 9)), 3, 2),
        ("k=3 (stride=None), 9x10", rng.standard_normal((1, 3, 9, 10)), 3, None),
        (t("ch05.case.negative"), -1.0 - rng.random((1, 2, 4, 6)), 2, None),
        ("C = W (4x5x4), k=2", rng.standard_normal((2, 4, 5, 4)), 2, None),
        (t("ch05.case.random", size="3x2x12x10", k=4, s=3), rng.standard_normal((3, 2, 12, 10)), 4, 3),
    ]


def _run_pool(c, func, kind):
    for name, x, k, stride in _pool_cases():
        c.case(name)
        s = _stride(k, stride)
        got = call_unchanged(func, x, k) if stride is None else call_unchanged(func, x, k, stride)
        expected = _torch_pool(x, k, s, kind)
        _compare(got, expected, _shape_suspects(x, k, s, stride) + _pool_value_suspects(x, k, s, kind)
                 + [(_mixed_suspect(x, k, s, kind), t("ch05.hint_mixed_channels"))])


def _mixed_suspect(x, k, s, kind):
    """Reducing over the channel axis too (a typical slip with axis=...)."""
    w = _windows(x, k, s)
    red = w.max(axis=(1, -2, -1), keepdims=True) if kind == "max" else w.mean(axis=(1, -2, -1), keepdims=True)
    return np.broadcast_to(red[..., 0, 0], w.shape[:4]).copy()


def max_pool2d(func):
    """``max_pool2d(x, k, stride=None)``: x (N,C,H,W) → (N,C,Ho,Wo); stride None means k."""
    with Check("max_pool2d") as c:
        _run_pool(c, func, "max")


def avg_pool2d(func):
    """``avg_pool2d(x, k, stride=None)``: like :func:`max_pool2d` with the window mean."""
    with Check("avg_pool2d") as c:
        _run_pool(c, func, "avg")


def max_pool2d_backward(func):
    """``max_pool2d_backward(dout, x, k, stride=None) -> dx``, compared with torch autograd."""
    rng = np.random.default_rng(11)
    worked = _worked_example()
    ties = np.array([[[[3, 3, 0, 5],
                       [1, 2, 5, 5]]]], dtype=np.float64)
    cases = [
        (t("ch05.case.worked_dout"), worked, 2, None, np.array([[[[1., 2.], [3., 4.]]]])),
        (t("ch05.case.ties"), ties, 2, None, np.array([[[[1.0, 2.0]]]])),
        (t("ch05.case.overlap_add", k=2, s=1), rng.standard_normal((1, 1, 5, 6)), 2, 1, None),
        (t("ch05.case.overlap_add", k=3, s=1) + ", 6x6", rng.standard_normal((2, 2, 6, 6)), 3, 1, None),
        (t("ch05.case.odd", size="5x7", k=2), rng.standard_normal((1, 2, 5, 7)), 2, None, None),
        (t("ch05.case.stride_given", size="N=2, C=3, H=6, W=8", k=2, s=2), rng.standard_normal((2, 3, 6, 8)), 2, 2,
         None),
        (t("ch05.case.on", k=3, s=2, size="7x9"), rng.standard_normal((2, 4, 7, 9)), 3, 2, None),
        (t("ch05.case.random", size="3x2x12x10", k=4, s=3), rng.standard_normal((3, 2, 12, 10)), 4, 3, None),
    ]
    with Check("max_pool2d_backward") as c:
        for name, x, k, stride, dout in cases:
            c.case(name)
            s = _stride(k, stride)
            n, ch, h, w = x.shape
            if dout is None:
                dout = rng.uniform(0.5, 2.0, size=(n, ch, _out_size(h, k, s), _out_size(w, k, s)))
            if stride is None:
                got = call_unchanged(func, dout, x, k)
            else:
                got = call_unchanged(func, dout, x, k, stride)
            expected = _torch_max_backward(dout, x, k, s)
            suspects = [
                (dout.shape, t("ch05.hint_dx_shape", shape=x.shape)),
                (_backward_variant(dout, x, k, s, "spread_mean"), t("ch05.hint_spread")),
                (_backward_variant(dout, x, k, s, "spread_all"), t("ch05.hint_spread")),
                (_backward_variant(dout, x, k, s, "all_ties"), t("ch05.hint_ties")),
                (_backward_variant(dout, x, k, s, "last"), t("ch05.hint_ties")),
                (_backward_variant(dout, x, k, s, "overwrite") if s < k else None,
                 t("ch05.hint_overwrite") + on_repeat(t("ch05.hint_overwrite_form"))),
                (_backward_variant(dout, x, k, s, "ones"), t("ch05.hint_ignore_dout")),
            ]
            if s != k and h >= k and w >= k:  # loops that step by k instead of by the stride
                part = dout[:, :, :_out_size(h, k, k), :_out_size(w, k, k)]
                suspects.append((_backward_variant(part, x, k, k, "first"), t("ch05.hint_stride_ignored", stride=s, k=k)))
            _compare(got, expected, suspects)
