"""Chapter 04 checks: correct answers pass, the typical wrong answers fail with a useful message."""
import numpy as np
import pytest

from course_utils import checks, i18n
from course_utils.checks import ExerciseFailed, core


@pytest.fixture(autouse=True)
def english():
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def fails(check, func, *needles):
    """The check must fail with ExerciseFailed whose message contains every needle."""
    with pytest.raises(ExerciseFailed) as info:
        check(func)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return message


def fails_twice(check, func, form, *needles):
    """The first failure names the mistake (every needle) without ``form``; the same failure again shows it."""
    core._failed_cases.clear()
    first = fails(check, func, *needles)
    assert form not in first, first
    again = fails(check, func, *needles)
    assert form in again, again
    return first


# --------------------------------------------------------------------------- moving_average

def ma_ok(x, kernel):
    x, kernel = np.asarray(x, dtype=float), np.asarray(kernel, dtype=float)
    n = len(x) - len(kernel) + 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sum(x[i:i + len(kernel)] * kernel)
    return out / kernel.sum()


def test_moving_average_correct(capsys):
    checks.moving_average(ma_ok)
    assert "moving_average" in capsys.readouterr().out
    checks.moving_average(lambda x, k: np.correlate(x, k / np.sum(k), mode="valid"))


def test_moving_average_not_normalised():
    def wrong(x, kernel):
        return ma_ok(x, kernel) * np.sum(kernel)
    fails_twice(checks.moving_average, wrong, "kernel / kernel.sum()", "weights (1, 1, 1)", "not seem normalised",
                "3 times")


def test_moving_average_flipped():
    def wrong(x, kernel):
        return np.convolve(x, kernel / np.sum(kernel), mode="valid")
    fails(checks.moving_average, wrong, "weights (1, 2, 3)", "np.convolve flips")


def test_moving_average_same_length():
    def wrong(x, kernel):
        return np.correlate(x, kernel / np.sum(kernel), mode="same")
    fails_twice(checks.moving_average, wrong, "len(x) - len(kernel) + 1", "source", "\"valid\" one, 7")


def test_moving_average_integer_result():
    def wrong(x, kernel):
        n = len(x) - len(kernel) + 1
        out = np.zeros_like(x)[:n]
        for i in range(n):
            out[i] = np.sum(x[i:i + len(kernel)] * kernel) / np.sum(kernel)
        return out
    fails(checks.moving_average, wrong, "weights (1, 0, 1)", "integer dtype")


def test_moving_average_stub_and_nan():
    def stub(x, kernel):
        raise NotImplementedError("write it")
    fails(checks.moving_average, stub, "Not implemented yet")
    fails(checks.moving_average, lambda x, k: ma_ok(x, k) * np.nan, "NaN")


# --------------------------------------------------------------------------- conv2d_single

def single_ok(img, kernel, stride=1, padding=0):
    img = np.pad(np.asarray(img, dtype=float), padding)
    kh, kw = kernel.shape
    ho, wo = (img.shape[0] - kh) // stride + 1, (img.shape[1] - kw) // stride + 1
    out = np.zeros((ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[i, j] = np.sum(img[i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel)
    return out


def test_conv2d_single_correct_and_source_values(capsys):
    checks.conv2d_single(single_ok)
    from course_utils.checks.ch04 import SOURCE_FILTER, SOURCE_IMAGE
    out = single_ok(SOURCE_IMAGE, SOURCE_FILTER)
    np.testing.assert_allclose(out[0, :2], [6.2, 5.9])


def test_conv2d_single_flipped_kernel():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img, k[::-1, ::-1], stride, padding),
          "source: 5×7", "flipped", "cross-correlation")


def test_conv2d_single_one_sided_padding():
    def wrong(img, kernel, stride=1, padding=0):
        return single_ok(np.pad(img, ((padding, 0), (padding, 0))), kernel, stride, 0)
    fails_twice(checks.conv2d_single, wrong, "np.pad(img, padding)", "padding=1", "one side only")

    def wrong2(img, kernel, stride=1, padding=0):  # the right amount, all of it at the top-left
        return single_ok(np.pad(img, ((2 * padding, 0), (2 * padding, 0))), kernel, stride, 0)
    fails(checks.conv2d_single, wrong2, "padding=1", "one side only")


def test_conv2d_single_stride_ignored():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img, k, 1, padding),
          "stride=2", "stride=2 seems ignored")


def test_conv2d_single_off_by_one():
    def wrong(img, kernel, stride=1, padding=0):
        return single_ok(img, kernel, stride, padding)[:-1, :-1]
    fails_twice(checks.conv2d_single, wrong, "floor((H + 2·padding − kh) / stride) + 1 = 3", "source", "Wrong shape",
                "The output size is 3 by 5")


def test_conv2d_single_transposed_image():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img.T, k.T, stride, padding).T * 0 + 1,
          "source")


# --------------------------------------------------------------------------- conv2d

def conv2d_ok(x, w, b=None, stride=1, padding=0):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        out += b[None, :, None, None]
    return out


def test_conv2d_correct_numpy_and_torch(capsys):
    checks.conv2d(conv2d_ok)
    import torch
    import torch.nn.functional as F

    def torch_answer(x, w, b=None, stride=1, padding=0):
        bt = None if b is None else torch.from_numpy(b)
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), bt, stride=stride, padding=padding)
    checks.conv2d(torch_answer)  # a tensor answer is accepted too
    assert capsys.readouterr().out.count("✓ conv2d") == 2


def test_conv2d_random_cases_against_torch():
    """The check's own reference is torch.nn.functional.conv2d: stride 2, padding 1, bias None and not None."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    for stride, padding, bias in [(1, 0, False), (2, 1, True), (2, 0, False), (1, 1, True), (3, 2, True)]:
        x, w = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 2))
        b = rng.normal(size=4) if bias else None
        ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                       stride=stride, padding=padding).numpy()
        np.testing.assert_allclose(conv2d_ok(x, w, b, stride, padding), ref, rtol=1e-10, atol=1e-10)


def test_conv2d_flipped_kernel():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w[..., ::-1, ::-1], b, stride, padding),
          "source example", "flipped")


def test_conv2d_one_sided_padding():
    def wrong(x, w, b=None, stride=1, padding=0):
        xp = np.pad(x, ((0, 0), (0, 0), (0, padding), (0, padding)))
        return conv2d_ok(xp, w, b, stride, 0)
    fails(checks.conv2d, wrong, "padding=1", "one side only")


def test_conv2d_stride_ignored():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, b, 1, padding),
          "stride=2 with bias", "stride=2 seems ignored")


def test_conv2d_off_by_one():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, b, stride, padding)[..., :-1],
          "source example", "Wrong shape", "Did you lose or add one position")


def test_conv2d_channels_last_output():
    def wrong(x, w, b=None, stride=1, padding=0):
        return conv2d_ok(x, w, b, stride, padding).transpose(0, 2, 3, 1)
    fails(checks.conv2d, wrong, "source example", "(N, C, H, W)")


def test_conv2d_reads_channels_last_input():
    def wrong(x, w, b=None, stride=1, padding=0):  # treats x as (N, H, W, C) and w as (kh, kw, C, F)
        return conv2d_ok(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), b, stride, padding)
    fails(checks.conv2d, wrong, "(N, C, H, W)")


def test_conv2d_bias_missing_and_wrong_axis():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, None, stride, padding),
          "with bias", "bias b is not added")

    def wrong(x, w, b=None, stride=1, padding=0):
        out = conv2d_ok(x, w, None, stride, padding)
        return out if b is None else out + b
    fails(checks.conv2d, wrong, "with bias", "wrong axis")


def test_conv2d_bias_required_argument():
    def wrong(x, w, b, stride=1, padding=0):  # no default for b
        return conv2d_ok(x, w, b, stride, padding)
    fails(checks.conv2d, wrong, "source example", "raised TypeError", "missing 1 required")


def test_conv2d_input_modified():
    def wrong(x, w, b=None, stride=1, padding=0):
        out = conv2d_ok(x, w, b, stride, padding)
        x *= 0
        return out
    fails(checks.conv2d, wrong, "modified its input")


# --------------------------------------------------------------------------- conv_output_size

def size_ok(h, k, stride, padding, dilation=1):
    return (h + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def test_conv_output_size_correct(capsys):
    checks.conv_output_size(size_ok)
    assert "✓ conv_output_size" in capsys.readouterr().out


def test_conv_output_size_off_by_one():
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) // s,
          "height 5, k=3", "Off by one")
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1)) // s + 1,
          "Off by one")


def test_conv_output_size_padding_once_stride_dilation():
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + p - dilation * (k - 1) - 1) // s + 1,
          "padding=1", "2·padding")
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) + 1,
          "stride=2", "divide by the stride")
    fails_twice(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - k) // s + 1,
                "d·(k − 1) + 1", "dilation=2", "dilation is ignored")


def test_conv_output_size_float():
    fails_twice(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) / s + 1,
                "//", "Return an integer")
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: str(size_ok(h, k, s, p, dilation)),
          "Wrong return type")


# --------------------------------------------------------------------------- conv_params

def params_ok(c_in, c_out, k, groups=1, bias=True):
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def test_conv_params_correct(capsys):
    checks.conv_params(params_ok)
    assert "✓ conv_params" in capsys.readouterr().out


def test_conv_params_source_counts_match_torch():
    import torch

    k = 3
    for groups, source in [(1, 4 * k * k * 4), (2, 2 * 2 * k * k * 2), (4, 4 * k * k * 1)]:
        layer = torch.nn.Conv2d(4, 4, k, groups=groups, bias=False)
        assert sum(p.numel() for p in layer.parameters()) == source == params_ok(4, 4, k, groups, False)
    assert params_ok(4, 4, 1, 1, False) == 4 * 1 * 1 * 4


def test_conv_params_forgets_groups():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, 1, bias),
          "group conv, groups=2", "groups is not taken into account")


def test_conv_params_forgets_bias():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, groups, False),
          "with bias", "one bias per output channel")
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, groups, True),
          "bias=False", "no bias to count")


def test_conv_params_kernel_and_float():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: c_out * c_in // groups * k + c_out * bias,
          "k twice")
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: c_out * c_in / groups * k * k + c_out * bias,
          "Return an integer")


def test_messages_in_japanese():
    i18n.set_language("ja")
    message = fails(checks.conv_params,
                    lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, 1, bias), "groups")
    assert "ケース" in message and "ヒント" in message


@pytest.mark.parametrize("bias_count", [lambda c_out, groups: c_out * groups, lambda c_out, groups: groups])
def test_conv_params_bias_counted_per_group(bias_count):
    def per_group(c_in, c_out, k, groups=1, bias=True):
        return c_out * (c_in // groups) * k * k + (bias_count(c_out, groups) if groups > 1 and bias else
                                                   c_out if bias else 0)

    message = fails(checks.conv_params, per_group, "groups=4, with bias", "Is the bias counted per group?")
    assert "one bias per output channel" in message


def test_conv_params_one_bias_for_the_layer():
    message = fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True:
                    c_out * (c_in // groups) * k * k + (1 if bias else 0), "VGG's first layer", "counted once")
    assert "one bias per output channel" in message
