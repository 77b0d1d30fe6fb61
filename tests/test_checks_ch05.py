"""Chapter 05 checks: correct pooling passes; each typical mistake fails with its hint."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import core
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


# --------------------------------------------------------------------------- correct answers
def windows(x, k, s):
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def max_pool2d(x, k, stride=None):
    return windows(x, k, stride or k).max(axis=(-2, -1))


def avg_pool2d(x, k, stride=None):
    return windows(x, k, stride or k).mean(axis=(-2, -1))


def max_pool2d_loops(x, k, stride=None):
    s = stride or k
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out


def backward(dout, x, k, stride=None, accumulate=True, rule="first"):
    s = stride or k
    dx = np.zeros_like(x)
    n, c, ho, wo = dout.shape
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    win = x[b, ch, i * s:i * s + k, j * s:j * s + k]
                    g = dout[b, ch, i, j]
                    region = dx[b, ch, i * s:i * s + k, j * s:j * s + k]
                    if rule == "first":
                        p, q = np.unravel_index(np.argmax(win), win.shape)
                        if accumulate:
                            region[p, q] += g
                        else:
                            region[p, q] = g
                    elif rule == "all_ties":
                        region += (win == win.max()) * g
                    elif rule == "last":
                        flat = win.ravel()
                        idx = len(flat) - 1 - np.argmax(flat[::-1])
                        p, q = np.unravel_index(idx, win.shape)
                        region[p, q] += g
                    elif rule == "spread":
                        region += g / (k * k)
                    elif rule == "stride_k":
                        pass
    return dx


def max_pool2d_backward(dout, x, k, stride=None):
    return backward(dout, x, k, stride)


def max_pool2d_backward_vectorised(dout, x, k, stride=None):
    s = stride or k
    win = windows(x, k, s)
    n, c, ho, wo = win.shape[:4]
    arg = win.reshape(n, c, ho, wo, k * k).argmax(axis=-1)
    p, q = np.divmod(arg, k)
    rows = np.arange(ho)[None, None, :, None] * s + p
    cols = np.arange(wo)[None, None, None, :] * s + q
    nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    dx = np.zeros_like(x)
    np.add.at(dx, (nn_[..., None, None], cc[..., None, None], rows, cols), dout)
    return dx


# --------------------------------------------------------------------------- helpers
def fails(check, func, *fragments):
    return assert_fails(lambda: check(func), fragments)


def fails_twice(check, func, form_key, *fragments):
    """The first failure names the mistake without the form (``form_key``); the same failure again shows it."""
    core._failed_cases.clear()
    form = t(form_key).strip()
    first, again = fails(check, func, *fragments), fails(check, func, *fragments)
    assert form not in first and form in again, (first, again)


# --------------------------------------------------------------------------- forward: correct
@pytest.mark.parametrize("func", [max_pool2d, max_pool2d_loops])
def test_max_pool_correct(func, capsys):
    checks.max_pool2d(func)
    assert "max_pool2d" in capsys.readouterr().out


def test_avg_pool_correct(capsys):
    checks.avg_pool2d(avg_pool2d)
    assert "avg_pool2d" in capsys.readouterr().out


def test_pool_accepts_torch_tensors():
    import torch

    checks.max_pool2d(lambda x, k, stride=None: torch.from_numpy(max_pool2d(x, k, stride)))


# --------------------------------------------------------------------------- forward: mistakes
def test_max_pool_stub_and_exceptions():
    def stub(x, k, stride=None):
        raise NotImplementedError("write it")

    fails(checks.max_pool2d, stub, t("check.stub"))
    fails(checks.max_pool2d, lambda x, k: max_pool2d(x, k), t("check.raised", etype="TypeError", message=""))  # no stride


def test_pool_ignoring_the_stride():
    def ignores(x, k, stride=None):
        return max_pool2d(x, k, k)

    fails(checks.max_pool2d, ignores, t("ch05.case.overlap", k=2, s=1), hint("ch05.hint_stride_ignored", stride=1, k=2))
    fails(checks.avg_pool2d, lambda x, k, stride=None: avg_pool2d(x, k, k),
          hint("ch05.hint_stride_ignored", stride=1, k=2))


def test_pool_default_stride_one():
    def default_one(x, k, stride=None):
        return max_pool2d(x, k, stride if stride is not None else 1)

    fails(checks.max_pool2d, default_one, hint("ch05.hint_stride_default"))


def test_pool_output_size_rounded_up():
    def ceil(x, k, stride=None):
        s = stride or k
        h, w = x.shape[2:]
        ph = (-(-(h - k) // s)) * s + k - h
        pw = (-(-(w - k) // s)) * s + k - w
        padded = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), constant_values=-np.inf)
        return max_pool2d(padded, k, s)

    fails_twice(checks.max_pool2d, ceil, "ch05.hint_ceil_form", t("ch05.case.odd", size="5x7", k=2), hint("ch05.hint_ceil"))


def test_pool_channels_last():
    def nhwc(x, k, stride=None):  # loops as if x were (N, H, W, C)
        s = stride or k
        n, h, w, c = x.shape
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        out = np.zeros((n, max(ho, 0), wo, c))
        for i in range(max(ho, 0)):
            for j in range(wo):
                out[:, i, j, :] = x[:, i * s:i * s + k, j * s:j * s + k, :].max(axis=(1, 2))
        return out

    def nhwc_windows(x, k, stride=None):
        s = stride or k
        v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
        return v.max(axis=(-2, -1))

    fails(checks.max_pool2d, nhwc, hint("ch05.hint_channels"))
    fails(checks.max_pool2d, nhwc_windows)


def test_pool_channels_mixed():
    def mixed(x, k, stride=None):
        out = max_pool2d(x, k, stride)
        return np.broadcast_to(out.max(axis=1, keepdims=True), out.shape).copy()

    fails(checks.max_pool2d, mixed, hint("ch05.hint_mixed_channels"))


def test_pool_reshape_bug_mixes_images():
    def wrong_reshape(x, k, stride=None):  # a reshape that scrambles the axes
        out = max_pool2d(x, k, stride)
        return out.reshape(out.shape[1], out.shape[0], *out.shape[2:]).swapaxes(0, 1).reshape(out.shape)

    fails(checks.max_pool2d, wrong_reshape, t("ch05.case.multi"))


def test_avg_and_max_confused():
    fails(checks.max_pool2d, avg_pool2d, hint("ch05.hint_got_avg"))
    fails(checks.avg_pool2d, max_pool2d, hint("ch05.hint_got_max"))


def test_avg_without_division():
    fails(checks.avg_pool2d, lambda x, k, stride=None: windows(x, k, stride or k).sum(axis=(-2, -1)),
          hint("ch05.hint_sum"))


def test_max_started_at_zero():
    fails(checks.max_pool2d, lambda x, k, stride=None: np.maximum(max_pool2d(x, k, stride), 0),
          hint("ch05.hint_zero_init"))


def test_pool_bad_return_values():
    fails(checks.max_pool2d, lambda x, k, stride=None: max_pool2d(x, k, stride).tolist(), t("check.type", expected="x", got="list")[:6])
    fails(checks.max_pool2d, lambda x, k, stride=None: max_pool2d(x, k, stride) * np.nan)
    fails(checks.max_pool2d, lambda x, k, stride=None: max_pool2d(x, k, stride)[0])


def test_pool_modifying_input():
    def in_place(x, k, stride=None):
        out = max_pool2d(x, k, stride).copy()
        x[...] = 0
        return out

    fails(checks.max_pool2d, in_place, t("check.inputs_changed"))


# --------------------------------------------------------------------------- backward
@pytest.mark.parametrize("func", [max_pool2d_backward, max_pool2d_backward_vectorised])
def test_backward_correct(func, capsys):
    checks.max_pool2d_backward(func)
    assert "max_pool2d_backward" in capsys.readouterr().out


def test_backward_spread_over_window():
    fails(checks.max_pool2d_backward, lambda d, x, k, stride=None: backward(d, x, k, stride, rule="spread"),
          t("ch05.case.worked_dout"), hint("ch05.hint_spread"))

    def spread_all(dout, x, k, stride=None):
        s = stride or k
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1]
        return dx

    fails(checks.max_pool2d_backward, spread_all, hint("ch05.hint_spread"))


def test_backward_all_tied_maxima():
    fails(checks.max_pool2d_backward, lambda d, x, k, stride=None: backward(d, x, k, stride, rule="all_ties"),
          t("ch05.case.ties"), hint("ch05.hint_ties"))


def test_backward_last_maximum():
    fails(checks.max_pool2d_backward, lambda d, x, k, stride=None: backward(d, x, k, stride, rule="last"),
          t("ch05.case.ties"), hint("ch05.hint_ties"))


def test_backward_overwrites_overlaps():
    fails_twice(checks.max_pool2d_backward, lambda d, x, k, stride=None: backward(d, x, k, stride, accumulate=False),
                "ch05.hint_overwrite_form", t("ch05.case.overlap_add", k=2, s=1), hint("ch05.hint_overwrite"))


def test_backward_fancy_index_plus_equals():
    def fancy(dout, x, k, stride=None):  # dx[idx] += dout drops repeated indices
        s = stride or k
        win = windows(x, k, s)
        n, c, ho, wo = win.shape[:4]
        arg = win.reshape(n, c, ho, wo, k * k).argmax(axis=-1)
        p, q = np.divmod(arg, k)
        rows = np.arange(ho)[None, None, :, None] * s + p
        cols = np.arange(wo)[None, None, None, :] * s + q
        nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
        dx = np.zeros_like(x)
        dx[nn_[..., None, None], cc[..., None, None], rows, cols] += dout
        return dx

    fails(checks.max_pool2d_backward, fancy, hint("ch05.hint_overwrite"))


def test_backward_ignores_dout():
    fails(checks.max_pool2d_backward, lambda d, x, k, stride=None: backward(np.ones_like(d), x, k, stride),
          hint("ch05.hint_ignore_dout"))


def test_backward_returns_dout_shape():
    fails(checks.max_pool2d_backward, lambda d, x, k, stride=None: d * 1.0, hint("ch05.hint_dx_shape", shape=(1, 1, 4, 4)))


def test_backward_ignores_stride():
    def stride_k(dout, x, k, stride=None):
        s = k
        dx = np.zeros_like(x)
        ho, wo = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
        for i in range(ho):
            for j in range(wo):
                win = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(*x.shape[:2], -1)
                a = win.argmax(-1)
                for b in range(x.shape[0]):
                    for ch in range(x.shape[1]):
                        p, q = divmod(a[b, ch], k)
                        dx[b, ch, i * s + p, j * s + q] += dout[b, ch, i, j]
        return dx

    fails(checks.max_pool2d_backward, stride_k, t("ch05.case.overlap_add", k=2, s=1), hint("ch05.hint_stride_ignored", stride=1, k=2))


def test_backward_stub():
    def stub(dout, x, k, stride=None):
        raise NotImplementedError

    fails(checks.max_pool2d_backward, stub, t("check.stub"))
