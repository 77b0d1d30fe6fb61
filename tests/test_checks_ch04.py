"""Chapter 04 checks: correct answers pass, the typical wrong answers fail with their hint, in both languages."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import core
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


def fails(check, func, *fragments):
    """The check must fail with ExerciseFailed whose message holds every fragment."""
    return assert_fails(lambda: check(func), fragments)


def fails_twice(check, func, form_key, *fragments, **values):
    """The first failure names the mistake (every fragment) without the form ``form_key``; the same
    failure again shows it."""
    core._failed_cases.clear()
    form = t(form_key, **values).strip()
    first = fails(check, func, *fragments)
    assert form not in first, first
    again = fails(check, func, *fragments)
    assert form in again, again
    return first


def case(key, **values):
    return t(f"ch04.case.{key}", **values)


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
    assert capsys.readouterr().out.startswith(t("check.passed", name="moving_average", n=6))
    checks.moving_average(lambda x, k: np.correlate(x, k / np.sum(k), mode="valid"))


def test_moving_average_not_normalised():
    def wrong(x, kernel):
        return ma_ok(x, kernel) * np.sum(kernel)
    fails_twice(checks.moving_average, wrong, "ch04.ma_normalise_form", case("ma_source_ones"),
                t("ch04.ma_normalise", factor=3))


def test_moving_average_flipped():
    def wrong(x, kernel):
        return np.convolve(x, kernel / np.sum(kernel), mode="valid")
    fails(checks.moving_average, wrong, case("ma_asymmetric"), t("ch04.flip_1d"))


def test_moving_average_same_length():
    def wrong(x, kernel):
        return np.correlate(x, kernel / np.sum(kernel), mode="same")
    fails_twice(checks.moving_average, wrong, "ch04.valid_1d_form", case("ma_source_ones"), t("ch04.valid_1d", n=7))


def test_moving_average_integer_result():
    def wrong(x, kernel):
        n = len(x) - len(kernel) + 1
        out = np.zeros_like(x)[:n]
        for i in range(n):
            out[i] = np.sum(x[i:i + len(kernel)] * kernel) / np.sum(kernel)
        return out
    fails(checks.moving_average, wrong, case("ma_source_gap"), hint("ch04.int_dtype"))


def test_moving_average_stub_and_nan():
    def stub(x, kernel):
        raise NotImplementedError("write it")
    fails(checks.moving_average, stub, t("check.stub"))
    fails(checks.moving_average, lambda x, k: ma_ok(x, k) * np.nan, hint("check.nan"))


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
    from course_utils.checks.ch04_conv import SOURCE_FILTER, SOURCE_IMAGE
    out = single_ok(SOURCE_IMAGE, SOURCE_FILTER)
    np.testing.assert_allclose(out[0, :2], [6.2, 5.9])


def test_conv2d_single_flipped_kernel():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img, k[::-1, ::-1], stride, padding),
          case("single_source"), t("ch04.flip_2d"))


def test_conv2d_single_one_sided_padding():
    def wrong(img, kernel, stride=1, padding=0):
        return single_ok(np.pad(img, ((padding, 0), (padding, 0))), kernel, stride, 0)
    fails_twice(checks.conv2d_single, wrong, "ch04.one_sided_form", case("single_source_padding"), t("ch04.one_sided"))

    def wrong2(img, kernel, stride=1, padding=0):  # the right amount, all of it at the top-left
        return single_ok(np.pad(img, ((2 * padding, 0), (2 * padding, 0))), kernel, stride, 0)
    fails(checks.conv2d_single, wrong2, case("single_source_padding"), t("ch04.one_sided"))


def test_conv2d_single_stride_ignored():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img, k, 1, padding),
          case("single_source_stride"), t("ch04.stride", stride=2))


def test_conv2d_single_off_by_one():
    def wrong(img, kernel, stride=1, padding=0):
        return single_ok(img, kernel, stride, padding)[:-1, :-1]
    fails_twice(checks.conv2d_single, wrong, "ch04.size_form", case("single_source"),
                t("check.shape", expected=(3, 5), got=(2, 4)), t("ch04.size", ho=3, wo=5), ho=3, wo=5)


def test_conv2d_single_transposed_image():
    fails(checks.conv2d_single, lambda img, k, stride=1, padding=0: single_ok(img.T, k.T, stride, padding).T * 0 + 1,
          case("single_source"))


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
    assert capsys.readouterr().out.count(t("check.passed", name="conv2d", n=9)) == 2


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
          case("conv_source"), t("ch04.flip_2d"))


def test_conv2d_one_sided_padding():
    def wrong(x, w, b=None, stride=1, padding=0):
        xp = np.pad(x, ((0, 0), (0, 0), (0, padding), (0, padding)))
        return conv2d_ok(xp, w, b, stride, 0)
    fails(checks.conv2d, wrong, case("conv_padding"), hint("ch04.one_sided"))


def test_conv2d_stride_ignored():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, b, 1, padding),
          case("conv_stride"), t("ch04.stride", stride=2))


def test_conv2d_off_by_one():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, b, stride, padding)[..., :-1],
          case("conv_source"), hint("check.shape"), t("ch04.size", ho=3, wo=5))


def test_conv2d_channels_last_output():
    def wrong(x, w, b=None, stride=1, padding=0):
        return conv2d_ok(x, w, b, stride, padding).transpose(0, 2, 3, 1)
    fails(checks.conv2d, wrong, case("conv_source"), t("ch04.channels"))


def test_conv2d_reads_channels_last_input():
    def wrong(x, w, b=None, stride=1, padding=0):  # treats x as (N, H, W, C) and w as (kh, kw, C, F)
        return conv2d_ok(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), b, stride, padding)
    fails(checks.conv2d, wrong, t("ch04.channels"))


def test_conv2d_bias_missing_and_wrong_axis():
    fails(checks.conv2d, lambda x, w, b=None, stride=1, padding=0: conv2d_ok(x, w, None, stride, padding),
          case("conv_bias"), t("ch04.bias_missing"))

    def wrong(x, w, b=None, stride=1, padding=0):
        out = conv2d_ok(x, w, None, stride, padding)
        return out if b is None else out + b
    fails(checks.conv2d, wrong, case("conv_bias"), t("ch04.bias_axis"))


def test_conv2d_bias_required_argument():
    def wrong(x, w, b, stride=1, padding=0):  # no default for b
        return conv2d_ok(x, w, b, stride, padding)
    message = fails(checks.conv2d, wrong, case("conv_source"), t("check.raised", etype="TypeError", message=""))
    assert "missing 1 required" in message


def test_conv2d_input_modified():
    def wrong(x, w, b=None, stride=1, padding=0):
        out = conv2d_ok(x, w, b, stride, padding)
        x *= 0
        return out
    fails(checks.conv2d, wrong, t("check.inputs_changed"))


# --------------------------------------------------------------------------- conv_output_size

def size_ok(h, k, stride, padding, dilation=1):
    return (h + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def test_conv_output_size_correct(capsys):
    checks.conv_output_size(size_ok)
    from course_utils.checks.ch04 import _size_cases

    assert capsys.readouterr().out.startswith(t("check.passed", name="conv_output_size", n=len(_size_cases())))


def test_conv_output_size_off_by_one():
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) // s,
          case("size_source_height"), t("ch04.size_off_by_one"))
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1)) // s + 1,
          t("ch04.size_off_by_one"))


def test_conv_output_size_padding_once_stride_dilation():
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + p - dilation * (k - 1) - 1) // s + 1,
          case("size_source_same"), t("ch04.size_padding"))
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) + 1,
          case("size_resnet"), t("ch04.size_stride"))
    fails_twice(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - k) // s + 1,
                "ch04.size_dilation_form", case("size_dilation"), t("ch04.size_dilation"))


def test_conv_output_size_float():
    fails_twice(checks.conv_output_size, lambda h, k, s, p, dilation=1: (h + 2 * p - dilation * (k - 1) - 1) / s + 1,
                "ch04.not_int_form", case("size_source_height"), hint("ch04.not_int"))
    fails(checks.conv_output_size, lambda h, k, s, p, dilation=1: str(size_ok(h, k, s, p, dilation)),
          t("check.type", expected="int", got="str"))


# --------------------------------------------------------------------------- conv_params

def params_ok(c_in, c_out, k, groups=1, bias=True):
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def test_conv_params_correct(capsys):
    checks.conv_params(params_ok)
    assert capsys.readouterr().out.startswith(t("check.passed", name="conv_params", n=11))


def test_conv_params_source_counts_match_torch():
    import torch

    k = 3
    for groups, source in [(1, 4 * k * k * 4), (2, 2 * 2 * k * k * 2), (4, 4 * k * k * 1)]:
        layer = torch.nn.Conv2d(4, 4, k, groups=groups, bias=False)
        assert sum(p.numel() for p in layer.parameters()) == source == params_ok(4, 4, k, groups, False)
    assert params_ok(4, 4, 1, 1, False) == 4 * 1 * 1 * 4


def test_conv_params_forgets_groups():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, 1, bias),
          case("params_source_groups"), t("ch04.params_groups"))


def test_conv_params_forgets_bias():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, groups, False),
          case("params_vgg"), t("ch04.params_bias_missing"))
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, groups, True),
          case("params_source_standard"), t("ch04.params_bias_extra"))


def test_conv_params_kernel_and_float():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: c_out * c_in // groups * k + c_out * bias,
          t("ch04.params_kernel"))
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True: c_out * c_in / groups * k * k + c_out * bias,
          hint("ch04.not_int"))


def test_a_failure_names_the_case_and_the_hint_in_the_course_language(each_language):
    message = fails(checks.conv_params,
                    lambda c_in, c_out, k, groups=1, bias=True: params_ok(c_in, c_out, k, 1, bias), t("ch04.params_groups"))
    assert message.startswith(t("check.failed", name="conv_params", case=case("params_source_groups"), detail=""))
    assert ("ヒント" in message) == (each_language == "ja")


@pytest.mark.parametrize("bias_count", [lambda c_out, groups: c_out * groups, lambda c_out, groups: groups])
def test_conv_params_bias_counted_per_group(bias_count):
    def per_group(c_in, c_out, k, groups=1, bias=True):
        return c_out * (c_in // groups) * k * k + (bias_count(c_out, groups) if groups > 1 and bias else
                                                   c_out if bias else 0)

    fails(checks.conv_params, per_group, case("params_grouped"), t("ch04.params_bias_groups"))


def test_conv_params_one_bias_for_the_layer():
    fails(checks.conv_params, lambda c_in, c_out, k, groups=1, bias=True:
          c_out * (c_in // groups) * k * k + (1 if bias else 0), case("params_vgg"), t("ch04.params_bias_one"))
