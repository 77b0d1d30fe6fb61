"""Adversarial answers to chapter 08's exercises ``miou``, ``dice`` and ``unet`` (issue 12).

Data for tests/test_adversarial.py, which merges :data:`EXERCISES` into its table:
``{name: (check, [wrong answer argument tuples], [right answer argument tuples])}``. Each wrong
answer is a mistake a student makes (an off-by-one, a wrong normalisation, an input changed in
place, an edge case forgotten, probabilities instead of logits, ...) and must be refused with
ExerciseFailed; each right answer takes an unusual route the contract allows (another algorithm,
dtype or library) and must pass. None repeats an answer of tests/test_checks_ch08.py. The U-Nets
are a few channels wide, so that one run of the ``unet`` check takes well under a second.
"""
import math
import statistics
from collections import Counter
from fractions import Fraction

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import course_utils as cu


# ------------------------------------------------------------------------------------- miou
def _per_class(pred, target, k):
    """(intersection, union) per class as float64 arrays: the part most wrong answers share."""
    p, g = np.asarray(pred).ravel(), np.asarray(target).ravel()
    inter = np.array([np.sum((p == c) & (g == c)) for c in range(k)], dtype=np.float64)
    union = np.array([np.sum((p == c) | (g == c)) for c in range(k)], dtype=np.float64)
    return inter, union


def _miou_of(inter, union):
    return float(np.mean(inter[union > 0] / union[union > 0]))


def miou_per_image(pred, target, num_classes):
    """The mean of each image's mIoU: a batch is not pooled into one confusion matrix."""
    if np.ndim(pred) == 2:
        return _miou_of(*_per_class(pred, target, num_classes))
    return float(np.mean([_miou_of(*_per_class(p, g, num_classes)) for p, g in zip(pred, target)]))


def miou_percent(pred, target, num_classes):
    """Reported in percent, as papers do."""
    return 100 * _miou_of(*_per_class(pred, target, num_classes))


def miou_micro(pred, target, num_classes):
    """Σ intersections / Σ unions: pooled over the classes instead of a mean of per-class IoUs."""
    inter, union = _per_class(pred, target, num_classes)
    return float(inter.sum() / union.sum())


def miou_union_without_intersection(pred, target, num_classes):
    """|A| + |B| as the union (the intersection counted twice)."""
    p, g = np.asarray(pred).ravel(), np.asarray(target).ravel()
    inter = np.array([np.sum((p == c) & (g == c)) for c in range(num_classes)], dtype=float)
    size = np.array([np.sum(p == c) + np.sum(g == c) for c in range(num_classes)], dtype=float)
    return float(np.mean(inter[size > 0] / size[size > 0]))


def miou_index_in_place(pred, target, num_classes):
    """Builds the confusion index target * k + pred in the target array itself (an alias, not a copy)."""
    index = target
    index *= num_classes
    index += pred
    cm = np.bincount(index.astype(np.int64).ravel(), minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return float(np.mean(inter[union > 0] / union[union > 0]))


def miou_one_class_short(pred, target, num_classes):
    """range(num_classes - 1): the last class is never scored."""
    inter, union = _per_class(pred, target, num_classes - 1)
    return _miou_of(inter, union)


def miou_frequency_weighted(pred, target, num_classes):
    """Frequency-weighted IoU (each class weighted by its share of the target's pixels)."""
    inter, union = _per_class(pred, target, num_classes)
    share = np.bincount(np.asarray(target, dtype=np.int64).ravel(), minlength=num_classes) / np.size(target)
    ious = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return float(np.sum(share * ious))


def miou_integer_division(pred, target, num_classes):
    """inter // union: integer division, 0 for every class that is not perfect."""
    p, g = np.asarray(pred).ravel(), np.asarray(target).ravel()
    ious = []
    for c in range(num_classes):
        inter, union = np.sum((p == c) & (g == c)), np.sum((p == c) | (g == c))
        if union > 0:
            ious.append(inter // union)
    return float(np.mean(ious))


def miou_classes_up_to_target_max(pred, target, num_classes):
    """range(target.max() + 1): a class with a higher label that only the prediction has is left out."""
    inter, union = _per_class(pred, target, int(np.max(target)) + 1)
    return _miou_of(inter, union)


MIOU_WRONG = [miou_per_image, miou_percent, miou_micro, miou_union_without_intersection, miou_index_in_place,
              miou_one_class_short, miou_frequency_weighted, miou_integer_division, miou_classes_up_to_target_max]


def miou_sklearn(pred, target, num_classes):
    """scikit-learn's macro Jaccard index: its labels are those found in either map."""
    from sklearn.metrics import jaccard_score

    return jaccard_score(np.ravel(target), np.ravel(pred), average="macro")


def miou_histogram2d(pred, target, num_classes):
    """The confusion matrix by np.histogram2d on integer bin edges, the score as np.float32."""
    edges = np.arange(num_classes + 1) - 0.5
    cm, _, _ = np.histogram2d(np.ravel(target), np.ravel(pred), bins=(edges, edges))
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return np.float32(np.mean(inter[union > 0] / union[union > 0]))


def miou_sets(pred, target, num_classes):
    """Plain Python: a set of pixel positions per class, the classes of np.union1d of the two maps."""
    p, g = np.ravel(pred).tolist(), np.ravel(target).tolist()
    ious = []
    for c in np.union1d(np.unique(pred), np.unique(target)).tolist():
        a = {i for i, v in enumerate(p) if v == c}
        b = {i for i, v in enumerate(g) if v == c}
        ious.append(len(a & b) / len(a | b))
    return sum(ious) / len(ious)


def miou_one_hot(pred, target, num_classes):
    """torch: one-hot (pixels, classes) matrices, a masked mean of a float64 tensor, returned as shape (1,)."""
    p = F.one_hot(torch.as_tensor(np.asarray(pred, dtype=np.int64)).flatten(), num_classes).double()
    g = F.one_hot(torch.as_tensor(np.asarray(target, dtype=np.int64)).flatten(), num_classes).double()
    inter = (p * g).sum(0)
    union = p.sum(0) + g.sum(0) - inter
    return (inter / union)[union > 0].mean().reshape(1)


def miou_counter(pred, target, num_classes):
    """collections.Counter of (target, pred) pairs as a sparse confusion matrix."""
    pairs = Counter(zip(np.ravel(target).tolist(), np.ravel(pred).tolist()))
    rows, cols = Counter(), Counter()
    for (g, p), n in pairs.items():
        rows[g] += n
        cols[p] += n
    classes = set(rows) | set(cols)
    return sum(pairs[c, c] / (rows[c] + cols[c] - pairs[c, c]) for c in classes) / len(classes)


def miou_fractions(pred, target, num_classes):
    """Exact rational arithmetic: fractions.Fraction IoUs and statistics.mean (a Fraction is a number)."""
    inter, union = _per_class(pred, target, num_classes)
    return statistics.mean(Fraction(int(i), int(u)) for i, u in zip(inter, union) if u > 0)


def miou_masked(pred, target, num_classes):
    """0/0 left to NumPy (NaN), then a masked array's mean over the valid IoUs."""
    inter, union = _per_class(pred, target, num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.ma.masked_invalid(inter / union).mean()


MIOU_RIGHT = [miou_sklearn, miou_histogram2d, miou_sets, miou_one_hot, miou_counter, miou_fractions, miou_masked]


# ------------------------------------------------------------------------------------- dice
def _sizes(pred, target):
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    return int((a & b).sum()), int(a.sum()), int(b.sum())


def dice_smoothed(pred, target):
    """The smoothed Dice of a Dice loss, (2|A∩B| + 1) / (|A| + |B| + 1): 1.0 for two empty masks."""
    inter, a, b = _sizes(pred, target)
    return (2 * inter + 1) / (a + b + 1)


def dice_epsilon(pred, target):
    """An ε in the denominator against 0/0: 0.0 for two empty masks."""
    inter, a, b = _sizes(pred, target)
    return 2 * inter / (a + b + 1e-8)


def dice_loss(pred, target):
    """1 − Dice, the loss, instead of the coefficient."""
    inter, a, b = _sizes(pred, target)
    return float("nan") if a + b == 0 else 1 - 2 * inter / (a + b)


def dice_agreement_as_intersection(pred, target):
    """(pred == target).sum() as |A∩B|: the background pixels where both are 0 count as overlap."""
    _, a, b = _sizes(pred, target)
    return float("nan") if a + b == 0 else 2 * np.sum(np.asarray(pred) == np.asarray(target)) / (a + b)


def dice_per_image(pred, target):
    """The mean of the images' Dice scores for a batch, instead of one score over all pixels."""
    def one(p, g):
        inter, a, b = _sizes(p, g)
        return float("nan") if a + b == 0 else 2 * inter / (a + b)

    return one(pred, target) if np.ndim(pred) == 2 else float(np.nanmean([one(p, g) for p, g in zip(pred, target)]))


def dice_and_in_place(pred, target):
    """pred &= target: the intersection written into the prediction."""
    size = int(np.sum(pred)) + int(np.sum(target))
    pred &= target
    return float("nan") if size == 0 else 2 * int(np.sum(pred)) / size


def dice_only_prediction_tested(pred, target):
    """NaN as soon as the prediction is empty: a missed object must score 0.0, not be left out."""
    inter, a, b = _sizes(pred, target)
    return float("nan") if a == 0 else 2 * inter / (a + b)


def dice_over_all_pixels(pred, target):
    """2|A∩B| divided by the number of pixels."""
    inter, a, b = _sizes(pred, target)
    return float("nan") if a + b == 0 else 2 * inter / np.size(pred)


def dice_first_axis_lengths(pred, target):
    """len(pred) + len(target) (the rows) as |A| + |B|."""
    inter, a, b = _sizes(pred, target)
    return float("nan") if a + b == 0 else 2 * inter / (len(pred) + len(target))


def dice_none_when_undefined(pred, target):
    """None instead of NaN for two empty masks: np.nanmean over images cannot leave None out."""
    inter, a, b = _sizes(pred, target)
    return None if a + b == 0 else 2 * inter / (a + b)


DICE_WRONG = [dice_smoothed, dice_epsilon, dice_loss, dice_agreement_as_intersection, dice_per_image,
              dice_and_in_place, dice_only_prediction_tested, dice_over_all_pixels, dice_first_axis_lengths,
              dice_none_when_undefined]


def dice_from_iou(pred, target):
    """Dice = 2 IoU / (1 + IoU); NaN where the union is empty."""
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    union = np.logical_or(a, b).sum()
    if union == 0:
        return math.nan
    iou = np.logical_and(a, b).sum() / union
    return 2 * iou / (1 + iou)


def dice_f1_score(pred, target):
    """Dice is the F1 score of the foreground: scikit-learn, with 0/0 as NaN (zero_division)."""
    from sklearn.metrics import f1_score

    return f1_score(np.ravel(target).astype(int), np.ravel(pred).astype(int), labels=[1], average="binary",
                    zero_division=np.nan)


def dice_means(pred, target):
    """Means instead of sums (the pixel count cancels), NaN by catching Python's ZeroDivisionError."""
    a, b = np.asarray(pred, dtype=np.float32), np.asarray(target, dtype=np.float32)
    try:
        return np.float32(2 * float((a * b).mean()) / (float(a.mean()) + float(b.mean())))
    except ZeroDivisionError:
        return np.float32("nan")


def dice_sets(pred, target):
    """Plain Python sets of the foreground positions."""
    a, b = set(np.flatnonzero(pred).tolist()), set(np.flatnonzero(target).tolist())
    return math.nan if not (a or b) else 2 * len(a & b) / (len(a) + len(b))


def dice_torch_minimum(pred, target):
    """torch: the intersection as the sum of minima, 0/0 left to float division (NaN), returned as shape (1,)."""
    a, b = torch.as_tensor(np.asarray(pred, dtype=np.float64)), torch.as_tensor(np.asarray(target, dtype=np.float64))
    return (2 * torch.minimum(a, b).sum() / (a.sum() + b.sum())).reshape(1)


def dice_union_plus_intersection(pred, target):
    """|A| + |B| = |A ∪ B| + |A ∩ B| by np.count_nonzero, the score as np.longdouble."""
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    inter, union = np.count_nonzero(a & b), np.count_nonzero(a | b)
    return np.longdouble("nan") if union == 0 else np.longdouble(2 * inter) / (union + inter)


DICE_RIGHT = [dice_from_iou, dice_f1_score, dice_means, dice_sets, dice_torch_minimum, dice_union_plus_intersection]


# ------------------------------------------------------------------------------------- unet
def _block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())


class TinyUNet(nn.Module):
    """A correct two-level U-Net (max pooling, transposed convolutions, torch.cat skips) the wrong answers vary."""

    def __init__(self, in_channels, num_classes, out_channels=None):
        super().__init__()
        self.e1, self.e2, self.mid = _block(in_channels, 4), _block(4, 8), _block(8, 8)
        self.up2, self.d2 = nn.ConvTranspose2d(8, 8, 2, stride=2), _block(16, 8)
        self.up1, self.d1 = nn.ConvTranspose2d(8, 4, 2, stride=2), _block(8, 4)
        self.head = nn.Conv2d(4, num_classes if out_channels is None else out_channels, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(m), e2], dim=1))
        return self.head(self.d1(torch.cat([self.up1(d2), e1], dim=1)))


class SigmoidWhenBinary(TinyUNet):
    """Probabilities for binary segmentation: sigmoid when num_classes == 1, logits otherwise."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.binary = num_classes == 1

    def forward(self, x):
        out = super().forward(x)
        return torch.sigmoid(out) if self.binary else out


class FormulaSigmoidWhenBinary(SigmoidWhenBinary):
    """The same sigmoid written as a formula, 1 / (1 + exp(-z)): no function named sigmoid is called."""

    def forward(self, x):
        out = TinyUNet.forward(self, x)
        return 1 / (1 + torch.exp(-out)) if self.binary else out


class HalfTanhWhenBinary(SigmoidWhenBinary):
    """(tanh(z) + 1) / 2, a sigmoid in disguise, for one class."""

    def forward(self, x):
        out = TinyUNet.forward(self, x)
        return (torch.tanh(out) + 1) / 2 if self.binary else out


class ClampWhenBinary(SigmoidWhenBinary):
    """A ReLU as z.clamp(min=0) for one class."""

    def forward(self, x):
        out = TinyUNet.forward(self, x)
        return out.clamp(min=0) if self.binary else out


class DecoderInAList(TinyUNet):
    """The decoder blocks kept in a plain Python list: they are not registered, so an optimizer built
    from model.parameters() never trains them and model.to(device) leaves them behind."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.decoder = [self.d2, self.d1]
        del self.d2, self.d1

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.decoder[0](torch.cat([self.up2(m), e2], dim=1))
        return self.head(self.decoder[1](torch.cat([self.up1(d2), e1], dim=1)))


class BackgroundAdded(TinyUNet):
    """num_classes + 1 channels: a background class added on top of the classes asked for."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes + 1)


class FixedSize(TinyUNet):
    """The output resized to a hard-coded 64×64, the size of the first batch it was tried on."""

    def forward(self, x):
        return F.interpolate(super().forward(x), size=(64, 64), mode="bilinear")


class CatAlongWidth(TinyUNet):
    """torch.cat(..., dim=3): the skip is put beside the decoder features (the width doubles), not
    stacked on the channels; the decoder blocks are built for the channels that come out."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.d2, self.d1 = _block(8, 8), _block(4, 4)
        self.up1 = nn.ConvTranspose2d(8, 4, 2, stride=2)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(m), e2], dim=3))
        return self.head(self.d1(torch.cat([self.up1(d2), F.interpolate(e1, size=(e1.shape[2], 2 * e1.shape[3]))],
                                           dim=3)))


class SqueezeAll(TinyUNet):
    """.squeeze() meant for the channel of a one-class output: it drops a batch of one as well."""

    def forward(self, x):
        return super().forward(x).squeeze()


class ThreeInputChannels(TinyUNet):
    """The first convolution built for RGB whatever in_channels is."""

    def __init__(self, in_channels, num_classes):
        super().__init__(3, num_classes)


class NormalisesInPlace(TinyUNet):
    """x -= x.mean(...): normalises the caller's batch in place (the images are changed after the call)."""

    def forward(self, x):
        x -= x.mean(dim=(2, 3), keepdim=True)
        return super().forward(x)


class ConvMadeInForward(TinyUNet):
    """The bottleneck convolution created inside forward: new random weights at every call, never
    registered or trained."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        del self.mid

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = nn.Conv2d(8, 8, 3, padding=1)(F.max_pool2d(e2, 2)).relu()
        d2 = self.d2(torch.cat([self.up2(m), e2], dim=1))
        return self.head(self.d1(torch.cat([self.up1(d2), e1], dim=1)))


def _standardised(x):
    """Each image and channel to mean 0 and standard deviation 1 (a z-score of the input)."""
    return (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-5)


class FullResolutionStandardised(nn.Module):
    """No pooling, no upsampling, no skip: convolutions at full resolution on a standardised input."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.body, self.head = _block(in_channels, 8), nn.Conv2d(8, num_classes, 1)

    def forward(self, x):
        return self.head(self.body(_standardised(x)))


class UpsampleOnceStandardised(nn.Module):
    """FCN-32s on a standardised input: pooled features, one F.interpolate at the end, no skip."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.features = nn.Sequential(_block(in_channels, 8), nn.MaxPool2d(2), _block(8, 8), nn.MaxPool2d(2))
        self.score = nn.Conv2d(8, num_classes, 1)

    def forward(self, x):
        return F.interpolate(self.score(self.features(_standardised(x))), size=x.shape[-2:], mode="bilinear")


UNET_WRONG = [SigmoidWhenBinary, FormulaSigmoidWhenBinary, HalfTanhWhenBinary, ClampWhenBinary,
              DecoderInAList, BackgroundAdded, FixedSize, CatAlongWidth, SqueezeAll,
              ThreeInputChannels, NormalisesInPlace, ConvMadeInForward, FullResolutionStandardised,
              UpsampleOnceStandardised]


class ResidualPixelShuffle(nn.Module):
    """Average pooling down, a convolution and nn.PixelShuffle up, skips joined by +, GELU, GroupNorm."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.GELU())
        self.down = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.GELU())
        self.bottom = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.GELU())
        self.up = nn.Sequential(nn.Conv2d(8, 4 * 4, 1), nn.PixelShuffle(2))
        self.up_top = nn.Sequential(nn.Conv2d(8, 4 * 4, 1), nn.PixelShuffle(2))
        self.fuse = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.GELU())
        self.head = nn.Conv2d(4, num_classes, 1)

    def forward(self, x):
        s1 = self.stem(x)
        s2 = self.down(F.avg_pool2d(s1, 2))
        b = self.bottom(F.avg_pool2d(s2, 2))
        d2 = self.fuse(self.up(b)) + s2
        return self.head(self.up_top(d2) + s1)


class PaperValidResized(nn.Module):
    """The 2015 paper's valid convolutions and cropped skips; the output resized back to the input size."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.e1 = nn.Sequential(nn.Conv2d(in_channels, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.e2 = nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU())
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.d1 = nn.Sequential(nn.Conv2d(8, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.head = nn.Conv2d(4, num_classes, 1)

    def forward(self, x):
        e1 = self.e1(x)
        u = self.up(self.e2(F.max_pool2d(e1, 2)))
        top, left = (e1.shape[2] - u.shape[2]) // 2, (e1.shape[3] - u.shape[3]) // 2
        crop = e1[:, :, top:top + u.shape[2], left:left + u.shape[3]]
        out = self.head(self.d1(torch.cat([u, crop], dim=1)))
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


class PadForFiveLevels(nn.Module):
    """Five halvings (more than a multiple of 16 allows), the input reflect-padded to a multiple of 32 and
    the output cropped back; stride-2 convolutions down, nearest upsampling, LeakyReLU."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.inp = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(4, 4, 3, stride=2, padding=1) for _ in range(5)])
        self.ups = nn.ModuleList([nn.Conv2d(8, 4, 3, padding=1) for _ in range(5)])
        self.head = nn.Conv2d(4, num_classes, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        x = F.pad(x, (0, -w % 32, 0, -h % 32), mode="reflect")
        x = F.leaky_relu(self.inp(x), 0.1)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = F.leaky_relu(down(x), 0.1)
        for up, skip in zip(self.ups, reversed(skips)):
            x = F.leaky_relu(up(torch.cat([F.interpolate(x, scale_factor=2.0, mode="nearest"), skip], dim=1)), 0.1)
        return self.head(x)[..., :h, :w]


class FunctionalWeights(nn.Module):
    """No layer modules: nn.Parameter tensors with F.conv2d (stride 2 down) and F.conv_transpose2d up."""

    def __init__(self, in_channels, num_classes):
        super().__init__()

        def weight(*shape):
            return nn.Parameter(torch.randn(*shape) * (2 / math.prod(shape[1:])) ** 0.5)

        self.w1, self.b1 = weight(4, in_channels, 3, 3), nn.Parameter(torch.zeros(4))
        self.w2, self.b2 = weight(8, 4, 3, 3), nn.Parameter(torch.zeros(8))
        self.wt, self.bt = weight(8, 4, 2, 2), nn.Parameter(torch.zeros(4))       # (in, out, kH, kW)
        self.w3, self.b3 = weight(4, 8, 3, 3), nn.Parameter(torch.zeros(4))
        self.wh, self.bh = weight(num_classes, 4, 1, 1), nn.Parameter(torch.zeros(num_classes))

    def forward(self, x):
        e1 = F.relu(F.conv2d(x, self.w1, self.b1, padding=1))
        e2 = F.relu(F.conv2d(e1, self.w2, self.b2, stride=2, padding=1))
        u = F.conv_transpose2d(e2, self.wt, self.bt, stride=2)
        d = F.relu(F.conv2d(torch.cat([u, e1], dim=1), self.w3, self.b3, padding=1))
        return F.conv2d(d, self.wh, self.bh)


class SkipBlock(nn.Module):
    """pix2pix's recursive U-Net block: down, the inner block, up, then torch.cat with its own input."""

    def __init__(self, channels, inner=None):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2))
        self.inner = inner if inner is not None else nn.Identity()
        inner_out = 4 * channels if inner is not None else 2 * channels
        self.up = nn.Sequential(nn.ConvTranspose2d(inner_out, channels, 4, stride=2, padding=1), nn.ReLU())

    def forward(self, x):
        return torch.cat([x, self.up(self.inner(self.down(x)))], dim=1)


class RecursiveUNet(nn.Module):
    """U-Net built recursively from :class:`SkipBlock`, in float64 throughout (the logits are float64)."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.body = SkipBlock(4, SkipBlock(8))
        self.head = nn.Conv2d(8, num_classes, 1)
        self.double()

    def forward(self, x):
        return self.head(self.body(self.stem(x.double())))


class AttentionGates(TinyUNet):
    """Attention U-Net: each skip is scaled by a sigmoid gate computed from it and the decoder features."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.g2, self.g1 = nn.Conv2d(16, 1, 1), nn.Conv2d(8, 1, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        u2 = self.up2(m)
        d2 = self.d2(torch.cat([u2, e2 * torch.sigmoid(self.g2(torch.cat([u2, e2], 1)))], dim=1))
        u1 = self.up1(d2)
        return self.head(self.d1(torch.cat([u1, e1 * torch.sigmoid(self.g1(torch.cat([u1, e1], 1)))], dim=1)))


class SqueezeExcite(nn.Module):
    """Channel attention: the features scaled by a sigmoid of their global average (Hu et al. 2018)."""

    def __init__(self, channels):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc(F.adaptive_avg_pool2d(x, 1)))


class SqueezeExciteUNet(TinyUNet):
    """The U-Net with a squeeze-and-excitation block after the first encoder stage."""

    def __init__(self, in_channels, num_classes):
        super().__init__(in_channels, num_classes)
        self.se = SqueezeExcite(4)

    def forward(self, x):
        e1 = self.se(self.e1(x))
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(m), e2], dim=1))
        return self.head(self.d1(torch.cat([self.up1(d2), e1], dim=1)))


UNET_RIGHT = [ResidualPixelShuffle, PaperValidResized, PadForFiveLevels, FunctionalWeights, RecursiveUNet,
              AttentionGates, SqueezeExciteUNet]


# ------------------------------------------------------------------------------------- the table
EXERCISES = {
    "miou": (cu.checks.miou, [(a,) for a in MIOU_WRONG], [(a,) for a in MIOU_RIGHT]),
    "dice": (cu.checks.dice, [(a,) for a in DICE_WRONG], [(a,) for a in DICE_RIGHT]),
    "unet": (cu.checks.unet, [(a,) for a in UNET_WRONG], [(a,) for a in UNET_RIGHT]),
}
