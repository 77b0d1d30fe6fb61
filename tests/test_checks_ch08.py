"""Chapter 08 checks ``miou``, ``dice``, ``unet``: right answers pass, typical wrong answers fail with their hint."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import course_utils as cu
from course_utils.checks import core
from course_utils.checks.ch08 import _dice_cases, _dice_reference, _miou_cases, _miou_reference, _miou_worked
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


def fails(check, *funcs, fragments=()):
    return assert_fails(lambda: check(*funcs), fragments)


def raised(etype, message=""):
    """The start of the message for an exception the student's code raised (``message`` its text, if given)."""
    return t("check.raised", etype=etype, message=message).strip()


def passes(check, answer, capsys, cases):
    check(answer)
    assert capsys.readouterr().out.strip() == t("check.passed", name=check.__name__, n=cases)


# =========================================================================== miou
def miou_loops(pred, target, num_classes):
    ious = []
    for c in range(num_classes):
        p, g = pred == c, target == c
        union = np.logical_or(p, g).sum()
        if union > 0:
            ious.append(np.logical_and(p, g).sum() / union)
    return float(np.mean(ious))


def miou_confusion(pred, target, num_classes):
    k = num_classes
    cm = np.bincount(target.astype(np.int64).ravel() * k + pred.astype(np.int64).ravel(),
                     minlength=k * k).reshape(k, k)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return (inter[union > 0] / union[union > 0]).mean()


def miou_torch(pred, target, num_classes):
    p, g = torch.from_numpy(pred.astype(np.int64)), torch.from_numpy(target.astype(np.int64))
    ious = [((p == c) & (g == c)).sum() / ((p == c) | (g == c)).sum()
            for c in range(num_classes) if ((p == c) | (g == c)).any()]
    return torch.stack(ious).mean()


def test_worked_example_by_hand():
    pred, target = _miou_worked()
    # class 0: target 4 px, pred 4 px, both 3 px -> union 5; class 1: 4 and 5 px, both 3 -> 6;
    # class 2: 4 and 3 px, both 3 -> 4
    by_hand = (3 / 5 + 3 / 6 + 3 / 4) / 3
    assert by_hand == pytest.approx(0.616667, abs=1e-6)
    assert _miou_reference(pred, target, 3) == pytest.approx(by_hand)
    assert miou_loops(pred, target, 3) == pytest.approx(by_hand)


def test_reference_agrees_with_scikit_learn():
    from sklearn.metrics import jaccard_score

    rng = np.random.default_rng(0)
    for k in (2, 3, 6, 21):
        target = rng.integers(0, k, size=(3, 9, 11))
        pred = np.where(rng.random(target.shape) < 0.4, rng.integers(0, k, size=target.shape), target)
        pred[pred == k - 1] = 0            # a class only in the target
        expected = jaccard_score(target.ravel(), pred.ravel(), average="macro")
        assert _miou_reference(pred, target, k) == pytest.approx(expected)


@pytest.mark.parametrize("func", [miou_loops, miou_confusion, miou_torch])
def test_miou_correct(func, capsys):
    passes(cu.checks.miou, func, capsys, len(_miou_cases()))


def per_class(pred, target, num_classes):
    inter = np.array([np.sum((pred == c) & (target == c)) for c in range(num_classes)], dtype=float)
    union = np.array([np.sum((pred == c) | (target == c)) for c in range(num_classes)], dtype=float)
    return inter, union


def test_miou_over_all_classes_fails():
    def all_classes(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        return np.sum(np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)) / num_classes

    fails(cu.checks.miou, all_classes, fragments=[t("ch08.case.miou_absent", k=5, absent="3, 4"), hint("ch08.miou_all_classes")])


def test_miou_nan_for_absent_class_fails():
    def plain_mean(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        with np.errstate(invalid="ignore"):
            return np.mean(inter / union)

    fails(cu.checks.miou, plain_mean, fragments=[hint("check.nan"), hint("ch08.miou_nan")])


def test_miou_absent_as_one_fails():
    def absent_one(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        return np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0))

    fails(cu.checks.miou, absent_one, fragments=[hint("ch08.miou_absent_one")])


def test_miou_pixel_accuracy_fails():
    fails(cu.checks.miou, lambda pred, target, num_classes: np.mean(pred == target),
          fragments=[hint("ch08.miou_accuracy")])


def test_miou_only_target_classes_fails():
    def target_classes(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        present = [c for c in range(num_classes) if np.any(target == c)]
        return np.mean(inter[present] / union[present])

    fails(cu.checks.miou, target_classes, fragments=[hint("ch08.miou_target_classes")])


def test_miou_only_pred_classes_fails():
    def pred_classes(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        present = [c for c in range(num_classes) if np.any(pred == c)]
        return np.mean(inter[present] / union[present])

    fails(cu.checks.miou, pred_classes, fragments=[hint("ch08.miou_pred_classes")])


def test_miou_dice_instead_fails():
    def mean_dice(pred, target, num_classes):
        inter, _ = per_class(pred, target, num_classes)
        size = np.array([np.sum(pred == c) + np.sum(target == c) for c in range(num_classes)])
        return np.mean(2 * inter[size > 0] / size[size > 0])

    fails(cu.checks.miou, mean_dice, fragments=[hint("ch08.miou_dice")])


def test_miou_skipping_background_fails():
    def no_background(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        keep = union[1:] > 0
        return np.mean(inter[1:][keep] / union[1:][keep])

    fails(cu.checks.miou, no_background, fragments=[hint("ch08.miou_background")])


def _uint8_without_cast(pred, target, num_classes):
    k = num_classes
    cm = np.bincount((target * k + pred).ravel(), minlength=k * k)[:k * k].reshape(k, k)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return (inter[union > 0] / union[union > 0]).mean()


def test_miou_uint8_overflow_fails():
    fails(cu.checks.miou, _uint8_without_cast, fragments=[t("ch08.case.miou_voc"), hint("ch08.miou_uint8")])


def test_miou_per_class_array_fails():
    def ious(pred, target, num_classes):
        inter, union = per_class(pred, target, num_classes)
        return inter / union

    fails(cu.checks.miou, ious, fragments=[t("check.not_number", got="numpy.ndarray float64 (3,)"), hint("ch08.miou_scalar")])


def test_miou_bad_code_fails_clearly():
    def stub(pred, target, num_classes):
        raise NotImplementedError

    def modifies(pred, target, num_classes):
        result = miou_loops(pred, target, num_classes)
        pred[...] = 0
        return result

    fails(cu.checks.miou, stub, fragments=[t("check.stub")])
    fails(cu.checks.miou, lambda pred, target: 1.0, fragments=[raised("TypeError")])
    fails(cu.checks.miou, modifies, fragments=[t("check.inputs_changed")])
    fails(cu.checks.miou, lambda p, g, k: [miou_loops(p, g, k)], fragments=[hint("check.not_number"), "list"])
    fails(cu.checks.miou, lambda p, g, k: None, fragments=[t("check.type", expected="number", got="NoneType")])


# =========================================================================== dice
def dice_bool(pred, target):
    a, b = pred.astype(bool), target.astype(bool)
    size = a.sum() + b.sum()
    return float("nan") if size == 0 else 2 * np.logical_and(a, b).sum() / size


def dice_float(pred, target):
    a, b = torch.as_tensor(pred, dtype=torch.float32), torch.as_tensor(target, dtype=torch.float32)
    size = a.sum() + b.sum()
    return torch.tensor(float("nan")) if size == 0 else 2 * (a * b).sum() / size


def dice_plain(pred, target):
    """No special case: 0/0 gives NaN (with a RuntimeWarning), which is the convention."""
    a, b = np.asarray(pred, bool), np.asarray(target, bool)
    with np.errstate(invalid="ignore"):
        return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_dice_worked_example_by_hand():
    a, b = _dice_cases()[0].args
    assert (a.sum(), b.sum(), (a & b).sum()) == (6, 5, 4)
    assert dice_bool(a, b) == pytest.approx(8 / 11)


def test_dice_reference_is_undefined_for_two_empty_masks():
    empty = np.zeros((3, 3), dtype=bool)
    assert np.isnan(_dice_reference(empty, empty))
    assert _dice_reference(empty, ~empty) == 0.0
    # an average over images leaves the undefined score out, as np.nanmean does
    scores = [_dice_reference(empty, empty), _dice_reference(~empty, ~empty), _dice_reference(empty, ~empty)]
    assert np.nanmean(scores) == pytest.approx(0.5)


@pytest.mark.parametrize("func", [dice_bool, dice_float, dice_plain])
def test_dice_correct(func, capsys):
    passes(cu.checks.dice, func, capsys, len(_dice_cases()))


def test_dice_zero_for_empty_fails():
    def zero(pred, target):
        size = pred.sum() + target.sum()
        return 0.0 if size == 0 else 2 * (pred & target).sum() / size

    fails(cu.checks.dice, zero, fragments=[t("check.scalar", expected="nan", got="0"), t("ch08.case.dice_both_empty"),
                                          hint("ch08.dice_empty_zero")])


def test_dice_one_for_empty_fails():
    """The old convention (1.0 for two empty masks) is refused: the score is undefined there."""
    fails(cu.checks.dice, lambda p, g: dice_bool(p, g) if (p.any() or g.any()) else 1.0,
          fragments=[t("check.scalar", expected="nan", got="1"), t("ch08.case.dice_both_empty"),
                     hint("ch08.dice_empty_one")])


def test_dice_that_raises_for_empty_fails_with_the_convention():
    def python_division(pred, target):
        a, b = np.asarray(pred, bool), np.asarray(target, bool)
        return 2 * int((a & b).sum()) / (int(a.sum()) + int(b.sum()))

    fails(cu.checks.dice, python_division, fragments=[raised("ZeroDivisionError"), hint("ch08.dice_empty_raised")])


def test_dice_iou_instead_fails():
    def iou(pred, target):
        union = (pred | target).sum()
        return float("nan") if union == 0 else (pred & target).sum() / union

    fails(cu.checks.dice, iou, fragments=[t("ch08.case.dice_worked"), hint("ch08.dice_iou")])


def test_dice_bool_plus_fails():
    def bool_plus(pred, target):
        size = (pred + target).sum()        # bool + bool is "or"
        return float("nan") if size == 0 else 2 * (pred * target).sum() / size

    fails(cu.checks.dice, bool_plus, fragments=[hint("ch08.dice_bool_sum")])


def test_dice_without_the_two_fails():
    def no_two(pred, target):
        size = pred.sum() + target.sum()
        return float("nan") if size == 0 else (pred & target).sum() / size

    fails(cu.checks.dice, no_two, fragments=[hint("ch08.dice_no_two")])


def test_dice_pixel_accuracy_fails():
    fails(cu.checks.dice, lambda p, g: np.mean(p == g), fragments=[hint("ch08.dice_accuracy")])


def test_dice_per_image_fails():
    def per_image(pred, target):
        if pred.ndim == 2:
            return dice_bool(pred, target)
        return np.array([dice_bool(p, g) for p, g in zip(pred, target)])

    fails(cu.checks.dice, per_image, fragments=[t("check.not_number", got="numpy.ndarray float64 (2,)"),
                                               hint("ch08.dice_scalar")])


def test_dice_bad_code_fails_clearly():
    def stub(pred, target):
        raise NotImplementedError

    fails(cu.checks.dice, stub, fragments=[t("check.stub")])
    fails(cu.checks.dice, lambda p, g: 1 / 0, fragments=[raised("ZeroDivisionError", "division by zero")])
    fails(cu.checks.dice, lambda p, g: "0.5", fragments=[t("check.type", expected="number", got="str")])


# =========================================================================== unet
# the cases a right answer passes: build, 3 sizes, registered, down, up, skip, varies, logits, non-linear, three
# other (in_channels, num_classes) built, run and their logits judged, head, gradients (with its forward pass)
UNET_CASES = 24


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Four levels (64 → 4 at the bottom), max pooling, transposed convolutions, torch.cat skips."""

    def __init__(self, in_channels, num_classes, width=4, depth=4):
        super().__init__()
        widths = [width * 2 ** i for i in range(depth + 1)]
        self.downs = nn.ModuleList([block(in_channels, widths[0])]
                                   + [block(widths[i], widths[i + 1]) for i in range(depth)])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                  for i in reversed(range(depth))])
        self.decs = nn.ModuleList([block(2 * widths[i], widths[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def encode(self, x):
        skips = []
        for i, down in enumerate(self.downs):
            x = down(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        return x, skips[:-1]

    def forward(self, x):
        x, skips = self.encode(x)
        for up, dec, skip in zip(self.ups, self.decs, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class UNetInterpolate(nn.Module):
    """Strided convolutions down, bilinear F.interpolate up (to the skip's size), cat skips, no BN."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.e1 = nn.Conv2d(in_channels, 6, 3, padding=1)
        self.e2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.e3 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.d2 = nn.Conv2d(16, 6, 3, padding=1)
        self.d1 = nn.Conv2d(12, 6, 3, padding=1)
        self.out = nn.Conv2d(6, num_classes, 1)

    def forward(self, x):
        e1 = F.relu(self.e1(x))
        e2 = F.relu(self.e2(e1))
        e3 = F.relu(self.e3(e2))
        d2 = F.relu(self.d2(torch.cat([F.interpolate(e3, size=e2.shape[-2:], mode="bilinear"), e2], 1)))
        d1 = F.relu(self.d1(torch.cat([F.interpolate(d2, scale_factor=2), e1], 1)))
        return self.out(d1)


class UNetBook(nn.Module):
    """The source book's U-Net (three poolings, nn.ConvTranspose2d, torch.cat), narrow widths."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.enc1 = self.conv_block(in_channels, 4)
        self.enc2 = self.conv_block(4, 8)
        self.enc3 = self.conv_block(8, 16)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bottleneck = self.conv_block(16, 32)
        self.upconv3 = nn.ConvTranspose2d(32, 16, kernel_size=2, stride=2)
        self.dec3 = self.conv_block(32, 16)
        self.upconv2 = nn.ConvTranspose2d(16, 8, kernel_size=2, stride=2)
        self.dec2 = self.conv_block(16, 8)
        self.upconv1 = nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2)
        self.dec1 = self.conv_block(8, 4)
        self.final_conv = nn.Conv2d(4, out_channels, kernel_size=1)

    def forward(self, img):
        enc1 = self.enc1(img)
        enc2 = self.enc2(self.pool(enc1))
        enc3 = self.enc3(self.pool(enc2))
        dec3 = self.bottleneck(self.pool(enc3))
        dec2 = self.dec3(torch.cat([self.upconv3(dec3), enc3], dim=1))
        dec1 = self.dec2(torch.cat([self.upconv2(dec2), enc2], dim=1))
        out = self.dec1(torch.cat([self.upconv1(dec1), enc1], dim=1))
        return self.final_conv(out)

    def conv_block(self, in_channels, out_channels):
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                             nn.BatchNorm2d(out_channels), nn.ReLU())


class FCN8s(nn.Module):
    """FCN style: class scores upsampled and *added* to scores from earlier stages (skips by +)."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)
        self.s1, self.s2, self.s3 = (nn.Conv2d(8, num_classes, 1) for _ in range(3))

    def forward(self, x):
        f1 = F.max_pool2d(F.relu(self.c1(x)), 2)
        f2 = F.max_pool2d(F.relu(self.c2(f1)), 2)
        f3 = F.max_pool2d(F.relu(self.c3(f2)), 2)
        s = F.interpolate(self.s3(f3), scale_factor=2) + self.s2(f2)
        s = F.interpolate(s, scale_factor=2) + self.s1(f1)
        return F.interpolate(s, scale_factor=2, mode="bilinear")


@pytest.mark.parametrize("answer", [UNet, UNetInterpolate, UNetBook, FCN8s])
def test_unet_correct(answer, capsys):
    passes(cu.checks.unet, answer, capsys, UNET_CASES)


def test_unet_check_leaves_grad_mode_on():
    # (its speed is a benchmark's business, not a unit test's: two tests at once on two cores made it flaky)
    cu.checks.unet(UNet)
    assert torch.is_grad_enabled()


class ValidConvs(nn.Module):
    """The 2015 paper's valid (unpadded) convolutions with cropped skips, never resized back."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.e1a, self.e1b = nn.Conv2d(in_channels, 4, 3), nn.Conv2d(4, 4, 3)
        self.e2a, self.e2b = nn.Conv2d(4, 8, 3), nn.Conv2d(8, 8, 3)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.d1a, self.d1b = nn.Conv2d(8, 4, 3), nn.Conv2d(4, 4, 3)
        self.head = nn.Conv2d(4, num_classes, 1)

    def forward(self, x):
        e1 = F.relu(self.e1b(F.relu(self.e1a(x))))
        e2 = F.relu(self.e2b(F.relu(self.e2a(F.max_pool2d(e1, 2)))))
        u = self.up(e2)
        dh, dw = (e1.shape[2] - u.shape[2]) // 2, (e1.shape[3] - u.shape[3]) // 2
        crop = e1[:, :, dh:dh + u.shape[2], dw:dw + u.shape[3]]
        d = F.relu(self.d1b(F.relu(self.d1a(torch.cat([u, crop], 1)))))
        return self.head(d)


def test_unet_valid_convolutions_shrink_fails():
    fails(cu.checks.unet, ValidConvs, fragments=[t("ch08.unet_shape", inp=(2, 3, 64, 64), expected=(2, 4, 64, 64),
                                                      got=(2, 4, 48, 48)), t("ch08.unet_shrunk")])


class HardCodedClasses(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, 2)


class InChannelsOut(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, in_channels)


@pytest.mark.parametrize("answer", [HardCodedClasses, InChannelsOut])
def test_unet_wrong_number_of_classes_fails(answer):
    fails(cu.checks.unet, answer, fragments=[t("ch08.case.unet_forward", inp=(2, 3, 64, 64), k=4),
                                            hint("ch08.unet_shape"), t("ch08.unet_classes")])


class EncoderOnly(UNet):
    def forward(self, x):
        return self.head(self.encode(x)[0][:, :self.head.in_channels])


def test_unet_without_upsampling_fails():
    fails(cu.checks.unet, EncoderOnly, fragments=[t("ch08.unet_shape", inp=(2, 3, 64, 64), expected=(2, 4, 64, 64),
                                                        got=(2, 4, 4, 4)), t("ch08.unet_halved", f=16)])


class UpsampleAtTheEnd(nn.Module):
    """FCN-32s style: encoder, class scores, one F.interpolate to the input size, no skips."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.score = nn.Conv2d(8, num_classes, 1)

    def forward(self, x):
        return F.interpolate(self.score(self.features(x)), size=x.shape[-2:], mode="bilinear")


class NoSkips(UNet):
    """A full decoder with transposed convolutions that never uses the encoder features."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes, depth=2)
        self.decs = nn.ModuleList([block(d[0].in_channels // 2, d[0].out_channels) for d in self.decs])

    def forward(self, x):
        x, _ = self.encode(x)
        for up, dec in zip(self.ups, self.decs):
            x = dec(up(x))
        return self.head(x)


@pytest.mark.parametrize("answer", [UpsampleAtTheEnd, NoSkips])
def test_unet_without_skip_connections_fails(answer):
    fails(cu.checks.unet, answer, fragments=[t("ch08.case.unet_skip"), t("ch08.unet_no_skip")])


class FullResolution(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.body = block(in_channels, 8)
        self.head = nn.Conv2d(8, num_classes, 1)

    def forward(self, x):
        return self.head(self.body(x))


def test_unet_without_downsampling_fails():
    fails(cu.checks.unet, FullResolution, fragments=[t("ch08.case.unet_down"), hint("ch08.unet_no_down"), "conv2d"])


class PooledBranchUnused(FullResolution):
    def forward(self, x):
        F.max_pool2d(x, 2)                     # computed, but nothing on the way to the output
        return super().forward(x)


def test_unet_pooled_but_never_upsampled_fails():
    fails(cu.checks.unet, PooledBranchUnused, fragments=[t("ch08.case.unet_up"), hint("ch08.unet_no_up"), "max_pool2d"])


class TooDeep(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes, width=2, depth=5)


def test_unet_five_poolings_fail_on_a_multiple_of_16():
    fails(cu.checks.unet, TooDeep, fragments=[t("ch08.case.unet_forward", inp=(1, 3, 48, 80), k=4), raised("RuntimeError"),
                                           t("ch08.unet_sizes", inp=(1, 3, 48, 80))])


class SwapsHW(UNetInterpolate):
    def forward(self, x):
        out = super().forward(x)
        return F.interpolate(out, size=(x.shape[3], x.shape[2]))


def test_unet_height_and_width_swapped_fails():
    fails(cu.checks.unet, SwapsHW, fragments=[t("ch08.unet_shape", inp=(1, 3, 96, 64), expected=(1, 4, 96, 64), got=(1, 4, 64, 96)),
                                         t("ch08.unet_sizes", inp=(1, 3, 96, 64))])


class GlobalPool(UNet):
    def forward(self, x):
        out = super().forward(x)
        return out.mean(dim=(2, 3), keepdim=True).expand_as(out)


def test_unet_constant_over_pixels_fails():
    fails(cu.checks.unet, GlobalPool, fragments=[t("ch08.case.unet_varies"), t("ch08.unet_constant")])


class IgnoresInput(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.prior = nn.Parameter(torch.randn(1, num_classes, 4, 4))

    def forward(self, x):
        out = super().forward(x)
        return 0 * out + F.interpolate(self.prior, size=x.shape[-2:], mode="bilinear").expand_as(out)


def test_unet_same_output_for_every_input_fails():
    fails(cu.checks.unet, IgnoresInput, fragments=[t("ch08.case.unet_varies"), t("ch08.unet_same_for_inputs")])


class DetachedEncoder(UNet):
    def encode(self, x):
        x, skips = super().encode(x)
        return x.detach(), [s.detach() for s in skips]


class UnusedLayer(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.spare = nn.Conv2d(4, num_classes, 1)


class Frozen(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.head.weight.requires_grad_(False)


def test_unet_gradients_fail():
    fails(cu.checks.unet, DetachedEncoder, fragments=[t("module.case.grad"), hint("module.no_grad"), "downs.0.0.weight"])
    fails(cu.checks.unet, UnusedLayer, fragments=[t("module.no_grad", names="spare.weight, spare.bias")])
    fails(cu.checks.unet, Frozen, fragments=[t("module.frozen", names="head.weight")])


class ReturnsDict(UNet):
    def forward(self, x):
        return {"out": super().forward(x)}


class NaNOut(UNet):
    def forward(self, x):
        return super().forward(x) * float("nan")


def test_unet_bad_outputs_fail():
    fails(cu.checks.unet, ReturnsDict, fragments=[t("ch08.unet_not_tensor", got="dict")])
    fails(cu.checks.unet, NaNOut, fragments=[t("module.nan")])


class Stub(nn.Module):
    def __init__(self, in_channels, num_classes):
        super().__init__()
        raise NotImplementedError


class StubForward(UNet):
    def forward(self, x):
        raise NotImplementedError


class NoSuper(nn.Module):
    def __init__(self, in_channels, num_classes):
        self.k = num_classes


class NoArguments(nn.Module):
    def __init__(self):
        super().__init__()


def test_unet_bad_code_fails_clearly():
    fails(cu.checks.unet, Stub, fragments=[t("check.stub")])
    fails(cu.checks.unet, StubForward, fragments=[t("check.stub")])
    fails(cu.checks.unet, NoSuper, fragments=[t("module.no_super")])
    fails(cu.checks.unet, NoArguments, fragments=[t("ch08.case.unet_build", cin=3, k=4), raised("TypeError")])
    fails(cu.checks.unet, UNet(3, 4), fragments=[t("module.instance", got="UNet", check="unet", cls="UNet")])
    fails(cu.checks.unet, 3, fragments=[t("check.not_callable", what="UNet", got="int")])
    fails(cu.checks.unet, lambda cin, k: (lambda x: x),
          fragments=[t("module.not_module", got="function", signature="UNet(in_channels, num_classes)", cls="UNet")])


class RaisesInForward(UNet):
    def forward(self, x):
        raise RuntimeError("boom in forward")


def test_unet_forward_that_raises_fails_clearly():
    message = fails(cu.checks.unet, RaisesInForward, fragments=[raised("RuntimeError", "boom in forward"),
                                                             t("ch08.case.unet_forward", inp=(2, 3, 64, 64), k=4)])
    assert hint("ch08.unet_sizes", inp=(2, 3, 64, 64)) not in message


def test_dice_that_is_one_whenever_the_target_is_empty_fails():
    def one_if_target_empty(pred, target):
        pred, target = np.asarray(pred, bool), np.asarray(target, bool)
        if not target.any():
            return float("nan")
        return 2 * (pred & target).sum() / (pred.sum() + target.sum())

    fails(cu.checks.dice, one_if_target_empty, fragments=[t("ch08.case.dice_target_empty"), hint("check.nan")])


# ------------------------------------------- the contract shared with lenet (checks/modules.py)
class SoftmaxOut(UNet):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


class SigmoidOut(UNet):
    def forward(self, x):
        return torch.sigmoid(super().forward(x))


class ReLUOut(UNet):
    def forward(self, x):
        return F.relu(super().forward(x))


class LogSoftmaxOut(UNet):
    """Log-probabilities are logits up to a per-pixel constant: F.cross_entropy gives the same loss,
    where there are several classes (over a single one, log_softmax is always 0)."""

    def forward(self, x):
        out = super().forward(x)
        return F.log_softmax(out, dim=1) if out.shape[1] > 1 else out


class LogSoftmaxEvenForOneClass(UNet):
    def forward(self, x):
        return F.log_softmax(super().forward(x), dim=1)


class FormulaSigmoidForOneClass(UNet):
    """A sigmoid written as a formula, which no function name reveals, where the signs cannot tell."""

    def forward(self, x):
        out = super().forward(x)
        return 1 / (1 + torch.exp(-out)) if out.shape[1] == 1 else out


@pytest.mark.parametrize("answer", [SoftmaxOut, SigmoidOut, ReLUOut])
def test_unet_probabilities_or_relu_out_fail(answer):
    message = fails(cu.checks.unet, answer, fragments=[t("module.case.logits"), hint("module.not_logits", extra="")])
    assert (t("module.softmax_out") in message) == (answer is SoftmaxOut)


def test_unet_log_softmax_out_passes(capsys):
    passes(cu.checks.unet, LogSoftmaxOut, capsys, UNET_CASES)


def test_unet_log_softmax_over_one_class_fails():
    fails(cu.checks.unet, LogSoftmaxEvenForOneClass,
          fragments=[t("ch08.case.unet_logits", cin=4, k=1), t("module.constant_after_head")])


def test_unet_sigmoid_written_as_a_formula_fails():
    message = fails(cu.checks.unet, FormulaSigmoidForOneClass,
                    fragments=[t("ch08.case.unet_logits", cin=4, k=1), hint("module.not_logits", extra="")])
    assert t("module.squashed") in message


class LinearUNet(nn.Module):
    """Every part of a U-Net (strided and transposed convolutions, a cat skip, a 1×1 head) but no activation."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.e1 = nn.Conv2d(in_channels, 6, 3, padding=1)
        self.e2 = nn.Conv2d(6, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 6, 2, stride=2)
        self.d1 = nn.Conv2d(12, 6, 3, padding=1)
        self.head = nn.Conv2d(6, num_classes, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.avg_pool2d(e1, 2))
        return self.head(self.d1(torch.cat([self.up(e2), e1], 1)))


def test_unet_without_non_linearity_fails():
    fails(cu.checks.unet, LinearUNet, fragments=[t("module.case.nonlinear"), t("module.linear")])


class SlicedHead(UNet):
    """A fixed 10-channel head cut down to num_classes: right shapes, but the head ignores num_classes."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, 10)
        self.k = num_classes

    def forward(self, x):
        return super().forward(x)[:, :self.k]


def test_unet_fixed_head_sliced_to_num_classes_fails():
    fails(cu.checks.unet, SlicedHead, fragments=[t("module.case.head"),
                                                 t("module.head_fixed", n=_n_params(SlicedHead(3, 4)), model="UNet(3, 4)",
                                                   other="UNet(3, 7)")])


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------- every model the check builds returns logits
class SigmoidForOneClass(UNet):
    """Probabilities for binary segmentation only: sigmoid when num_classes == 1."""

    def forward(self, x):
        out = super().forward(x)
        return torch.sigmoid(out) if self.head.out_channels == 1 else out


class ReLUModuleForTwoClasses(UNet):
    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.last = nn.ReLU() if num_classes == 2 else nn.Identity()

    def forward(self, x):
        return self.last(super().forward(x))


@pytest.mark.parametrize("answer, cin, k, name", [(SigmoidForOneClass, 4, 1, "sigmoid"),
                                                   (ReLUModuleForTwoClasses, 1, 2, "relu")])
def test_unet_probabilities_for_another_num_classes_fail(answer, cin, k, name):
    fails(cu.checks.unet, answer, fragments=[t("ch08.case.unet_logits", cin=cin, k=k),
                                             hint("module.not_logits", extra=""), t("module.made_by", name=name)])


class PositiveLogitsForOneClass(UNet):
    """Logits that all happen to be positive for one class (a large head bias): still logits."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        if num_classes == 1:
            with torch.no_grad():
                self.head.bias.fill_(50.0)


def test_unet_one_class_logits_of_one_sign_pass(capsys):
    with torch.no_grad():
        assert bool((PositiveLogitsForOneClass(4, 1).eval()(torch.randn(1, 4, 32, 48)) > 0).all())
    passes(cu.checks.unet, PositiveLogitsForOneClass, capsys, UNET_CASES)


# ------------------------------------------- every weight forward uses is a parameter of the model
class DecodersInAList(UNet):
    """The decoder blocks in a plain Python list: not registered, never trained."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.dec_list = list(self.decs)
        del self.decs

    def forward(self, x):
        x, skips = self.encode(x)
        for up, dec, skip in zip(self.ups, self.dec_list, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class HeadMadeInForward(UNet):
    """The 1×1 head created inside forward: new random weights at every call."""

    def forward(self, x):
        x, skips = self.encode(x)
        for up, dec, skip in zip(self.ups, self.decs, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return nn.Conv2d(x.shape[1], self.head.out_channels, 1)(x)


@pytest.mark.parametrize("answer, shape", [(DecodersInAList, "(32, 64, 3, 3)"), (HeadMadeInForward, "(4, 4, 1, 1)")])
def test_unet_layers_not_registered_fail(answer, shape):
    message = fails(cu.checks.unet, answer, fragments=[t("module.case.registered"), hint("module.unregistered")])
    assert shape in message


class AliasedInAList(UNet):
    """A plain list of layers that are registered as well (nn.ModuleList): their weights are parameters."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.order = [self.head]

    def forward(self, x):
        x, skips = self.encode(x)
        for up, dec, skip in zip(self.ups, self.decs, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.order[0](x)


def test_unet_registered_layers_also_in_a_list_pass(capsys):
    passes(cu.checks.unet, AliasedInAList, capsys, UNET_CASES)


# ------------------------------------------- reductions to 1×1 are neither down- nor upsampling
def standardised(x):
    return (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-5)


class StandardisedFullResolution(FullResolution):
    def forward(self, x):
        return super().forward(standardised(x))


class StandardisedUpsampleAtTheEnd(UpsampleAtTheEnd):
    def forward(self, x):
        return super().forward(standardised(x))


class GatedUpsampleAtTheEnd(UpsampleAtTheEnd):
    """FCN-32s whose upsampled scores are scaled by a gate from the input's global mean: no skip."""

    def forward(self, x):
        return super().forward(x) * torch.sigmoid(x.mean(dim=(1, 2, 3), keepdim=True))


def test_unet_standardised_input_is_no_downsampling():
    fails(cu.checks.unet, StandardisedFullResolution, fragments=[t("ch08.case.unet_down"), hint("ch08.unet_no_down")])


@pytest.mark.parametrize("answer", [StandardisedUpsampleAtTheEnd, GatedUpsampleAtTheEnd])
def test_unet_global_statistics_are_no_skip(answer):
    fails(cu.checks.unet, answer, fragments=[t("ch08.case.unet_skip"), t("ch08.unet_no_skip")])


class SqueezeExciteSkips(UNet):
    """Each skip scaled by channel attention (sigmoid of its global average): a right U-Net."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.se = nn.ModuleList([nn.Conv2d(4 * 2 ** i, 4 * 2 ** i, 1) for i in range(4)])

    def encode(self, x):
        x, skips = super().encode(x)
        return x, [s * torch.sigmoid(fc(F.adaptive_avg_pool2d(s, 1))) for fc, s in zip(self.se, skips)]


def test_unet_channel_attention_passes(capsys):
    passes(cu.checks.unet, SqueezeExciteSkips, capsys, UNET_CASES)


class CentresInPlace(UNet):
    def forward(self, x):
        x -= x.mean(dim=(2, 3), keepdim=True)
        return super().forward(x)


class InPlaceReLUFirst(UNet):
    def forward(self, x):
        return super().forward(F.relu(x, inplace=True))


@pytest.mark.parametrize("answer", [CentresInPlace, InPlaceReLUFirst])
def test_unet_changing_the_input_fails(answer):
    fails(cu.checks.unet, answer, fragments=[t("ch08.case.unet_forward", inp=(2, 3, 64, 64), k=4),
                                             t("module.input_changed")])


def test_unet_centred_copy_passes(capsys):
    class Centres(UNet):
        def forward(self, x):
            return super().forward(x - x.mean(dim=(2, 3), keepdim=True))

    passes(cu.checks.unet, Centres, capsys, UNET_CASES)


# ------------------------------------------- the formula only when the same case fails again
def _plain_mean(pred, target, num_classes):
    inter, union = per_class(pred, target, num_classes)
    with np.errstate(invalid="ignore"):
        return np.mean(inter / union)


@pytest.mark.parametrize("check, answer, hint_key, formula_key", [
    (cu.checks.miou, _plain_mean, "ch08.miou_nan", "ch08.miou_nan_form"),
    (cu.checks.miou, _uint8_without_cast, "ch08.miou_uint8", "ch08.miou_uint8_form"),
    (cu.checks.dice, lambda p, g: np.nan if not (p.any() or g.any()) else 2 * (p & g).sum() / (p | g).sum(),
     "ch08.dice_bool_sum", "ch08.dice_bool_sum_form"),
    (cu.checks.unet, ValidConvs, "ch08.unet_shrunk", "ch08.unet_shrunk_form"),
], ids=["miou-nan", "miou-uint8", "dice-bool-sum", "unet-valid"])
def test_a_first_failure_names_the_mistake_and_a_repeat_shows_the_formula(check, answer, hint_key, formula_key):
    core._failed_cases.clear()
    first = fails(check, answer, fragments=[t(hint_key)])
    assert t(formula_key).strip() not in first
    again = fails(check, answer, fragments=[t(hint_key), t(formula_key).strip()])
    assert first.splitlines()[0] == again.splitlines()[0]
