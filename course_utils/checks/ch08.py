"""Chapter 08: segmentation — the metrics ``miou`` and ``dice``.

Conventions checked here (the notebook states them too):

- ``miou(pred, target, num_classes)`` takes integer label maps of the same shape ((H, W) or a
  batch (N, H, W)) and returns one number: the mean over classes of
  IoU_c = |pred = c ∧ target = c| / |pred = c ∨ target = c|. A class absent from both maps is
  left out of the mean (its IoU would be 0/0); a class present in only one of them counts with
  IoU 0. Every pixel of the arrays counts (a batch is pooled, like one confusion matrix over
  the data set). The reference is the confusion matrix (and scikit-learn's ``jaccard_score``
  agrees, which the tests show).
- ``dice(pred, target)`` takes binary masks (bool or 0/1) and returns 2|A∩B| / (|A| + |B|).
  When both masks are empty the denominator is 0 and the score is undefined: the function
  returns ``float("nan")``, and any average over images or classes leaves it out
  (``np.nanmean``), as COCO leaves out the categories without ground truth and as ``miou``
  leaves out the classes absent from both maps. This is the course-wide convention for a score
  whose denominator is zero (chapter 07's AP follows it too).

The ``unet`` exercise is checked in ``ch08_unet.py``.
"""
import contextlib
from typing import NamedTuple

import numpy as np

from ..i18n import register, t
from .core import Case, Check, Mistake, as_number, call, call_unchanged, compare, failure_text, hint, on_repeat, seed

__all__ = ["miou", "dice"]

RTOL, ATOL = 1e-6, 1e-9  # both scores are compared in float64


def _scores(name, func, cases, reference, mistakes, several, on_error=lambda *args: None, nonfinite=lambda: None):
    """The loop of both checks, :func:`.run_cases` with what a score needs beside it: the answer one
    number (:func:`_as_score`, ``several`` the hint key for an array of several), ``mistakes(func, got,
    expected)`` the :class:`.Mistake` records of the case (one of ``miou``'s calls the student's function
    again), ``on_error(*args)`` the hint when the student's code raises on the case, and ``nonfinite()``
    the hint for a NaN answer, made inside the case (its formula is shown only on a repeat)."""
    with Check(name) as c:
        for case in cases:
            c.case(case.title)
            with np.errstate(invalid="ignore", divide="ignore"):
                got = _as_score(call_unchanged(func, *case.args, on_error=on_error(*case.args)), several)
            expected = reference(*case.args)
            compare(got, expected, mistakes(func, got, expected), case.args, rtol=RTOL, atol=ATOL, nonfinite=nonfinite())


def _as_score(got, several: str):
    """The answer as one number (core's :func:`.as_number`); a one-element array or tensor counts as its
    element, and an array of several numbers (per class, per image) fails with the hint ``several``."""
    is_array = getattr(got, "ndim", 0) > 0
    if is_array and int(np.prod(got.shape)) == 1:
        return as_number(got.reshape(()))
    with hint(t(several)) if is_array else contextlib.nullcontext():
        return as_number(got)


# --------------------------------------------------------------------------- miou
def _confusion(pred, target, k):
    """(k, k) confusion matrix: rows the target class, columns the predicted class."""
    p = np.asarray(pred, dtype=np.int64).ravel()
    g = np.asarray(target, dtype=np.int64).ravel()
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k).astype(np.float64)


def _ious(pred, target, k):
    """Per-class IoU (NaN where the class is in neither map)."""
    cm = _confusion(pred, target, k)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _miou_reference(pred, target, k):
    return float(np.nanmean(_ious(pred, target, k)))


def _mean_where(values, mask):
    """The mean of ``values[mask]``; None (no such mistake) when the mask selects nothing."""
    return float(values[mask].mean()) if mask.any() else None


def _over_num_classes(pred, target, k):
    return float(np.nansum(_ious(pred, target, k)) / k)


def _absent_as_one(pred, target, k):
    return float(np.nan_to_num(_ious(pred, target, k), nan=1.0).mean())


def _target_classes_only(pred, target, k):
    return _mean_where(_ious(pred, target, k), np.isin(np.arange(k), target))


def _pred_classes_only(pred, target, k):
    return _mean_where(_ious(pred, target, k), np.isin(np.arange(k), pred))


def _mean_dice(pred, target, k):
    cm = _confusion(pred, target, k)
    size = cm.sum(0) + cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nanmean(np.where(size > 0, 2 * np.diag(cm) / size, np.nan)))


def _pixel_accuracy(pred, target, *_):
    return float(np.mean(np.asarray(pred) == np.asarray(target)))


def _without_background(pred, target, k):
    ious = _ious(pred, target, k)[1:]
    return _mean_where(ious, ~np.isnan(ious))


MIOU_MISTAKES = [Mistake(_over_num_classes, "ch08.miou_all_classes"),
                 Mistake(_absent_as_one, "ch08.miou_absent_one"),
                 Mistake(_target_classes_only, "ch08.miou_target_classes"),
                 Mistake(_pred_classes_only, "ch08.miou_pred_classes"),
                 Mistake(_mean_dice, "ch08.miou_dice"),
                 Mistake(_pixel_accuracy, "ch08.miou_accuracy"),
                 Mistake(_without_background, "ch08.miou_background")]


def _miou_mistakes(func, got, expected):
    """The uint8 trap first, then :data:`MIOU_MISTAKES`. The trap needs the student's function itself:
    on the same labels as int64 it gives the right answer (uint8 arithmetic wrapped around above 255)."""
    def wrapped_around(pred, target, k):
        if pred.dtype != np.uint8:
            return None
        widened = _as_score(call(func, pred.astype(np.int64), target.astype(np.int64), k), "ch08.miou_scalar")
        return got if failure_text(compare, widened, expected, rtol=RTOL, atol=ATOL) is None else None

    return [Mistake(wrapped_around, "ch08.miou_uint8", formula="ch08.miou_uint8_form")] + MIOU_MISTAKES


def _miou_worked():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 2, 2]])
    pred = np.array([[0, 0, 0, 1],
                     [0, 1, 1, 1],
                     [2, 2, 2, 1]])
    return pred, target


def _miou_cases():
    """The worked example, the edge cases (absent classes, a class in one map only), a batch,
    uint8 labels, then random label maps: Case records whose args are (pred, target, num_classes)."""
    rng = np.random.default_rng(seed(8))
    pred, target = _miou_worked()
    perfect = rng.integers(0, 4, size=(6, 7))
    pred_only = pred.copy()
    pred_only[2, 3] = 3           # a false detection of class 3
    missed = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [0, 0, 1, 1]])
    cases = [Case("ch08.case.miou_worked", (pred, target, 3)),
             Case("ch08.case.miou_perfect", (perfect.copy(), perfect, 4)),
             Case("ch08.case.miou_absent", (pred, target, 5), values={"k": 5, "absent": "3, 4"}),
             Case("ch08.case.miou_pred_only", (pred_only, target, 4), values={"cls": 3}),
             Case("ch08.case.miou_target_only", (missed, target, 3), values={"cls": 2})]
    labels = np.array([0, 1, 2, 4])            # class 3 absent from both
    g = labels[rng.integers(0, 4, size=(3, 10, 12))]
    p = np.where(rng.random(g.shape) < 0.3, labels[rng.integers(0, 4, size=g.shape)], g)
    cases.append(Case("ch08.case.miou_batch", (p, g, 5), values={"shape": g.shape, "k": 5}))
    g = rng.integers(0, 21, size=(16, 16)).astype(np.uint8)
    p = np.where(rng.random(g.shape) < 0.4, rng.integers(0, 21, size=g.shape), g).astype(np.uint8)
    cases.append(Case("ch08.case.miou_voc", (p, g, 21)))
    for shape, k in (((20, 24), 3), ((32, 32), 6), ((2, 15, 9), 8)):
        g = rng.integers(0, k, size=shape)
        p = np.where(rng.random(shape) < 0.5, rng.integers(0, k, size=shape), g)
        cases.append(Case("ch08.case.miou_random", (p, g, k), values={"shape": shape, "k": k}))
    return cases


def miou(func):
    """``miou(pred, target, num_classes)``: mean IoU over the classes present in pred or target."""
    _scores("miou", func, _miou_cases(), _miou_reference, _miou_mistakes, "ch08.miou_scalar",
            nonfinite=lambda: t("ch08.miou_nan") + on_repeat(t("ch08.miou_nan_form")))


# --------------------------------------------------------------------------- dice
class _Counts(NamedTuple):
    """What Dice and its typical mistakes are made of, for two masks A and B."""
    inter: int      # |A ∩ B|
    union: int      # |A ∪ B|
    size: int       # |A| + |B|
    accuracy: float  # the share of pixels where A and B agree


def _counts(pred, target) -> _Counts:
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    return _Counts(int((a & b).sum()), int((a | b).sum()), int(a.sum()) + int(b.sum()), float((a == b).mean()))


def _dice_reference(pred, target):
    """2|A∩B| / (|A| + |B|), NaN when both masks are empty (the score is undefined)."""
    n = _counts(pred, target)
    return float("nan") if n.size == 0 else 2.0 * n.inter / n.size


def _if_empty(value):
    """A mistake of two empty masks only: ``value`` instead of NaN."""
    return lambda pred, target: value if _counts(pred, target).size == 0 else None


def _unless_empty(rule):
    """A mistake in the formula: ``rule(counts)`` where the masks are not both empty."""
    return lambda pred, target: None if (n := _counts(pred, target)).size == 0 else rule(n)


DICE_MISTAKES = [Mistake(_if_empty(0.0), "ch08.dice_empty_zero"),
                 Mistake(_if_empty(1.0), "ch08.dice_empty_one"),
                 Mistake(_unless_empty(lambda n: n.inter / n.union), "ch08.dice_iou"),
                 Mistake(_unless_empty(lambda n: 2 * n.inter / n.union), "ch08.dice_bool_sum",
                         formula="ch08.dice_bool_sum_form"),
                 Mistake(_unless_empty(lambda n: n.inter / n.size), "ch08.dice_no_two"),
                 Mistake(_unless_empty(lambda n: n.accuracy), "ch08.dice_accuracy")]


def _dice_cases():
    """The worked example, the empty masks, identical masks, 0/1 integer masks and random ones:
    Case records whose args are (pred, target)."""
    rng = np.random.default_rng(seed(9))
    a = np.zeros((4, 4), dtype=bool)
    a[0:2, 0:3] = True                          # 6 pixels
    b = np.zeros((4, 4), dtype=bool)
    b[0:2, 1:3] = True                          # 4 pixels, all inside a
    b[3, 3] = True                              # and one outside: |B| = 5, |A∩B| = 4
    empty = np.zeros((5, 6), dtype=bool)
    some = rng.random((5, 6)) < 0.3
    shape = (2, 8, 10)
    cases = [Case("ch08.case.dice_worked", (a, b)),
             Case("ch08.case.dice_both_empty", (empty, empty.copy())),
             Case("ch08.case.dice_one_empty", (empty, some)),
             Case("ch08.case.dice_target_empty", (some, empty.copy())),
             Case("ch08.case.dice_perfect", (some, some.copy())),
             Case("ch08.case.dice_int", ((rng.random(shape) < 0.4).astype(np.uint8),
                                         (rng.random(shape) < 0.5).astype(np.uint8)), values={"shape": shape})]
    for shape, pa, pb in (((32, 32), 0.3, 0.35), ((3, 16, 12), 0.6, 0.2)):
        cases.append(Case("ch08.case.dice_random", (rng.random(shape) < pa, rng.random(shape) < pb),
                          values={"shape": shape}))
    return cases


def _dice_on_error(pred, target):
    """Raising on two empty masks (a ZeroDivisionError) is the undefined score's mistake."""
    return t("ch08.dice_empty_raised") if not (pred.any() or target.any()) else None


def dice(func):
    """``dice(pred, target)``: 2|A∩B| / (|A| + |B|) of two binary masks; NaN (undefined) when both are empty."""
    _scores("dice", func, _dice_cases(), _dice_reference, lambda *_: DICE_MISTAKES, "ch08.dice_scalar",
            on_error=_dice_on_error)


register({
    # ---------------------------------------------------------------- case names
    "ch08.case.miou_worked": {"ja": "手計算の例 (3×4、3 クラス): IoU = 3/5, 3/6, 3/4、mIoU = 0.6167",
                              "en": "worked example (3×4, 3 classes): IoU = 3/5, 3/6, 3/4, mIoU = 0.6167"},
    "ch08.case.miou_perfect": {"ja": "完全に一致する予測 (mIoU = 1.0)", "en": "a perfect prediction (mIoU = 1.0)"},
    "ch08.case.miou_absent": {
        "ja": "num_classes={k} だがクラス {absent} は予測にも正解にもない (平均から除く)",
        "en": "num_classes={k}, but classes {absent} are in neither map (left out of the mean)"},
    "ch08.case.miou_pred_only": {
        "ja": "クラス {cls} が予測にだけ現れる (IoU 0 として平均に入る)",
        "en": "class {cls} appears only in the prediction (counts with IoU 0)"},
    "ch08.case.miou_target_only": {
        "ja": "クラス {cls} が正解にだけある (見落とし、IoU 0 として平均に入る)",
        "en": "class {cls} is only in the target (missed; counts with IoU 0)"},
    "ch08.case.miou_batch": {"ja": "バッチ (N, H, W) = {shape}、{k} クラス (全画素をまとめて数える)",
                             "en": "a batch (N, H, W) = {shape}, {k} classes (all pixels pooled)"},
    "ch08.case.miou_voc": {"ja": "uint8 のラベル画像、num_classes=21 (PASCAL VOC と同じ)",
                           "en": "uint8 label maps, num_classes=21 (as in PASCAL VOC)"},
    "ch08.case.miou_random": {"ja": "ランダムな {shape}、{k} クラス (混同行列による計算と比較)",
                              "en": "random {shape}, {k} classes (compared with a confusion matrix)"},
    "ch08.case.dice_worked": {"ja": "手計算の例 (4×4): |A|=6, |B|=5, |A∩B|=4 → Dice = 8/11",
                              "en": "worked example (4×4): |A|=6, |B|=5, |A∩B|=4 → Dice = 8/11"},
    "ch08.case.dice_both_empty": {"ja": "予測も正解も空のマスク (分母が 0 で Dice は定義されない: NaN)",
                                  "en": "both masks empty (the denominator is 0, Dice is undefined: NaN)"},
    "ch08.case.dice_one_empty": {"ja": "予測だけが空 (Dice = 0.0)", "en": "only the prediction is empty (Dice = 0.0)"},
    "ch08.case.dice_target_empty": {"ja": "正解だけが空で予測に画素がある (Dice = 0.0)",
                                    "en": "only the target is empty, the prediction is not (Dice = 0.0)"},
    "ch08.case.dice_perfect": {"ja": "完全に一致するマスク (Dice = 1.0)", "en": "identical masks (Dice = 1.0)"},
    "ch08.case.dice_int": {"ja": "0/1 の整数マスク (uint8) {shape}", "en": "0/1 integer masks (uint8) {shape}"},
    "ch08.case.dice_random": {"ja": "ランダムな bool マスク {shape}", "en": "random bool masks {shape}"},
    # ---------------------------------------------------------------- miou hints
    "ch08.miou_scalar": {
        "ja": "ヒント: mIoU は 1 つの数 (クラスごとの IoU の平均) です。クラスごとの IoU の配列ではなく、その平均を返してください。",
        "en": "Hint: mIoU is one number, the mean of the per-class IoUs; return their mean, not the array of IoUs."},
    "ch08.miou_nan": {
        "ja": ("ヒント: 予測にも正解にもないクラスでは和集合が 0 なので、IoU = 0/0 = NaN になります。"
               "そういうクラスは平均から除いてください。"),
        "en": ("Hint: for a class in neither map the union is 0, so IoU = 0/0 = NaN. Leave such classes out "
               "of the mean.")},
    "ch08.miou_nan_form": {"ja": " (和集合 > 0 のクラスだけで平均する、または np.nanmean)",
                           "en": " (average only the classes whose union > 0, or use np.nanmean)"},
    "ch08.miou_all_classes": {
        "ja": ("ヒント: 予測にも正解にもないクラスまで数に入れて、num_classes で割っているようです。"
               "そのクラスの IoU は 0/0 で定義できないので、平均から除きます (0 として数えると mIoU が不当に下がります)。"),
        "en": ("Hint: you seem to divide by num_classes, counting classes that are in neither map. Their IoU is "
               "0/0, undefined, so they are left out of the mean (counting them as 0 drags mIoU down unfairly).")},
    "ch08.miou_absent_one": {
        "ja": "ヒント: 予測にも正解にもないクラスを IoU = 1 として数えているようです。そのクラスは平均から除いてください。",
        "en": "Hint: you seem to count a class that is in neither map as IoU = 1; leave it out of the mean."},
    "ch08.miou_accuracy": {
        "ja": ("ヒント: 結果が画素正解率 (pixel accuracy、一致した画素の割合) と同じです。mIoU はクラスごとに "
               "|予測 ∩ 正解| / |予測 ∪ 正解| を求めてから、クラスについて平均します。"),
        "en": ("Hint: your result equals the pixel accuracy (the fraction of matching pixels). mIoU computes "
               "|pred ∩ target| / |pred ∪ target| for each class and then averages over the classes.")},
    "ch08.miou_target_classes": {
        "ja": ("ヒント: 正解 (target) に現れるクラスだけで平均しているようです。予測にだけ現れるクラス "
               "(誤検出) も IoU = 0 として平均に入ります。除くのは予測にも正解にもないクラスだけです。"),
        "en": ("Hint: you seem to average only over the classes present in the target. A class that appears "
               "only in the prediction (a false detection) counts too, with IoU 0; only classes in neither "
               "map are left out.")},
    "ch08.miou_pred_classes": {
        "ja": ("ヒント: 予測 (pred) に現れるクラスだけで平均しているようです。正解にあるのに予測されなかったクラス "
               "(見落とし) も IoU = 0 として平均に入ります。"),
        "en": ("Hint: you seem to average only over the classes present in the prediction. A class in the "
               "target that was never predicted (a miss) counts too, with IoU 0.")},
    "ch08.miou_dice": {
        "ja": "ヒント: 結果がクラスごとの Dice 係数 2|A∩B|/(|A|+|B|) の平均と一致しました。IoU は |A∩B|/|A∪B| です。",
        "en": "Hint: your result is the mean per-class Dice 2|A∩B|/(|A|+|B|); IoU is |A∩B|/|A∪B|."},
    "ch08.miou_background": {
        "ja": "ヒント: クラス 0 (背景) を除いているようです。ここではクラス 0 から num_classes-1 まですべて数えます。",
        "en": "Hint: you seem to skip class 0 (background); here every class from 0 to num_classes-1 counts."},
    "ch08.miou_uint8": {
        "ja": ("ヒント: 同じラベルを int64 で渡すと正しく計算できています。uint8 のまま target * num_classes + pred "
               "のような計算をすると 255 を超えたところで桁あふれします。先に広い整数型に変換してください。"),
        "en": ("Hint: with the same labels as int64 your answer is right. In uint8, arithmetic such as "
               "target * num_classes + pred wraps around above 255; convert to a wider integer type first.")},
    "ch08.miou_uint8_form": {"ja": "書き方: .astype(np.int64)", "en": "The form: .astype(np.int64)"},
    # ---------------------------------------------------------------- dice hints
    "ch08.dice_empty_zero": {
        "ja": ("ヒント: 予測も正解も空だと |A| + |B| = 0 で、Dice は 0/0 になり定義されません。0.0 とすると、"
               "何もない画像で何も予測しなかったモデルが最低点になってしまいます。このコースでは「定義されない」値として "
               "NaN を返し、画像やクラスの平均からは除きます (np.nanmean。COCO も正解のないカテゴリを除きます)。"),
        "en": ("Hint: with both masks empty, |A| + |B| = 0 and Dice is 0/0, undefined. Scoring it 0.0 gives the worst "
               "score to a model that rightly predicted nothing where there is nothing. In this course an undefined "
               "score is NaN, left out of any average over images or classes (np.nanmean; COCO likewise leaves out "
               "categories without ground truth).")},
    "ch08.dice_empty_one": {
        "ja": ("ヒント: 予測も正解も空だと |A| + |B| = 0 で、Dice は 0/0 になり定義されません。1.0 とすると、"
               "空の画像が多いデータでは平均が実力以上に高く出ます。このコースでは「定義されない」値として NaN を返し、"
               "画像やクラスの平均からは除きます (np.nanmean。mIoU でどちらにもないクラスを除くのと同じです)。"),
        "en": ("Hint: with both masks empty, |A| + |B| = 0 and Dice is 0/0, undefined. Scoring it 1.0 inflates the "
               "average on data with many empty images. In this course an undefined score is NaN, left out of any "
               "average over images or classes (np.nanmean, as mIoU leaves out the classes absent from both maps).")},
    "ch08.dice_empty_raised": {
        "ja": "ヒント: 予測も正解も空のマスクでは |A| + |B| = 0 です。この場合は例外ではなく NaN (定義されない値) を返します。",
        "en": "Hint: with both masks empty, |A| + |B| = 0. Return NaN there (an undefined score), not an error."},
    "ch08.dice_iou": {
        "ja": ("ヒント: 結果が IoU |A∩B|/|A∪B| と一致しました。Dice は 2|A∩B|/(|A|+|B|) です "
               "(Dice = 2 IoU / (1 + IoU))。"),
        "en": "Hint: your result equals the IoU |A∩B|/|A∪B|; Dice is 2|A∩B|/(|A|+|B|) (Dice = 2 IoU / (1 + IoU))."},
    "ch08.dice_bool_sum": {
        "ja": ("ヒント: 分母が |A∪B| になっています。NumPy では bool 配列どうしの + は論理和 (or) なので、"
               "(pred + target).sum() は |A| + |B| ではなく |A∪B| です。2 つのマスクの画素数を別々に数えて足してください。"),
        "en": ("Hint: your denominator is |A∪B|. In NumPy, + on two bool arrays is a logical or, so "
               "(pred + target).sum() is |A∪B|, not |A| + |B|. Count the pixels of each mask separately, then add.")},
    "ch08.dice_bool_sum_form": {"ja": "書き方: pred.sum() + target.sum() (または先に整数に変換)",
                                "en": "The form: pred.sum() + target.sum() (or convert to int first)"},
    "ch08.dice_no_two": {
        "ja": "ヒント: 分子の 2 を忘れていませんか? Dice = 2|A∩B|/(|A|+|B|) (完全一致で 1 になります)。",
        "en": "Hint: did you forget the 2? Dice = 2|A∩B|/(|A|+|B|), which is 1 for identical masks."},
    "ch08.dice_accuracy": {
        "ja": "ヒント: 結果が画素正解率 (一致した画素の割合) と同じです。Dice は前景 (True の画素) だけを数えます。",
        "en": "Hint: your result equals the pixel accuracy; Dice counts foreground (True) pixels only."},
    "ch08.dice_scalar": {
        "ja": "ヒント: Dice 係数は 2 つのマスク全体について 1 つの数を返します (画素ごとや画像ごとの配列ではありません)。",
        "en": "Hint: the Dice coefficient is one number for the two masks as a whole (not an array per pixel or per image)."},
})
