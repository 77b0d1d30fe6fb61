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
import numpy as np
import torch

from ..i18n import register, t
from .core import Check, assert_close, assert_close_or_explain, call, call_unchanged, fail, failure_text, on_repeat

__all__ = ["miou", "dice"]

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
    "ch08.miou_uint8_form": {"ja": " 書き方: .astype(np.int64)", "en": " The form: .astype(np.int64)"},
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
    "ch08.dice_bool_sum_form": {"ja": " 書き方: pred.sum() + target.sum() (または先に整数に変換)",
                                "en": " The form: pred.sum() + target.sum() (or convert to int first)"},
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


# --------------------------------------------------------------------------- miou
def _confusion(pred, target, k):
    """(k, k) confusion matrix: rows the target class, columns the predicted class."""
    p = np.asarray(pred, dtype=np.int64).ravel()
    g = np.asarray(target, dtype=np.int64).ravel()
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k)


def _ious(pred, target, k):
    """Per-class IoU (NaN where the class is in neither map)."""
    cm = _confusion(pred, target, k).astype(np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _miou_reference(pred, target, k):
    return float(np.nanmean(_ious(pred, target, k)))


def _miou_suspects(pred, target, k):
    ious = _ious(pred, target, k)
    present = ~np.isnan(ious)
    in_target = np.isin(np.arange(k), target)
    in_pred = np.isin(np.arange(k), pred)
    cm = _confusion(pred, target, k).astype(np.float64)
    size = cm.sum(0) + cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dices = np.where(size > 0, 2 * np.diag(cm) / size, np.nan)

    def mean(values, mask):
        return float(values[mask].mean()) if mask.any() else None

    return [
        (float(np.nansum(ious) / k), t("ch08.miou_all_classes")),
        (float(np.where(present, ious, 1.0).mean()), t("ch08.miou_absent_one")),
        (mean(ious, in_target), t("ch08.miou_target_classes")),
        (mean(ious, in_pred), t("ch08.miou_pred_classes")),
        (float(np.nanmean(dices)), t("ch08.miou_dice")),
        (float(np.mean(np.asarray(pred) == np.asarray(target))), t("ch08.miou_accuracy")),
        (mean(ious[1:], present[1:]) if k > 1 else None, t("ch08.miou_background")),
    ]


def _scalar(got, hint_text):
    """Accept a number (or a one-element array); a longer array fails with ``hint_text``."""
    if isinstance(got, (np.ndarray, torch.Tensor)) and got.ndim > 0:
        if int(np.prod(got.shape)) == 1:
            return got.reshape(())
        fail(f"{failure_text(assert_close, got, 0.0)}\n{hint_text}")
    return got


def _miou_worked():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 2, 2]])
    pred = np.array([[0, 0, 0, 1],
                     [0, 1, 1, 1],
                     [2, 2, 2, 1]])
    return pred, target


def _miou_cases():
    """(case key, values for its name, pred, target, num_classes)."""
    rng = np.random.default_rng(8)
    pred, target = _miou_worked()
    cases = [("ch08.case.miou_worked", {}, pred, target, 3)]
    perfect = rng.integers(0, 4, size=(6, 7))
    cases.append(("ch08.case.miou_perfect", {}, perfect.copy(), perfect, 4))
    cases.append(("ch08.case.miou_absent", {"k": 5, "absent": "3, 4"}, pred, target, 5))
    pred_only = pred.copy()
    pred_only[2, 3] = 3           # a false detection of class 3
    cases.append(("ch08.case.miou_pred_only", {"cls": 3}, pred_only, target, 4))
    missed = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [0, 0, 1, 1]])
    cases.append(("ch08.case.miou_target_only", {"cls": 2}, missed, target, 3))
    labels = np.array([0, 1, 2, 4])            # class 3 absent from both
    g = labels[rng.integers(0, 4, size=(3, 10, 12))]
    p = np.where(rng.random(g.shape) < 0.3, labels[rng.integers(0, 4, size=g.shape)], g)
    cases.append(("ch08.case.miou_batch", {"shape": g.shape, "k": 5}, p, g, 5))
    g = rng.integers(0, 21, size=(16, 16)).astype(np.uint8)
    p = np.where(rng.random(g.shape) < 0.4, rng.integers(0, 21, size=g.shape), g).astype(np.uint8)
    cases.append(("ch08.case.miou_voc", {}, p, g, 21))
    for shape, k in (((20, 24), 3), ((32, 32), 6), ((2, 15, 9), 8)):
        g = rng.integers(0, k, size=shape)
        p = np.where(rng.random(shape) < 0.5, rng.integers(0, k, size=shape), g)
        cases.append(("ch08.case.miou_random", {"shape": shape, "k": k}, p, g, k))
    return cases


def miou(func):
    """``miou(pred, target, num_classes)``: mean IoU over the classes present in pred or target."""
    with Check("miou") as c:
        for key, values, pred, target, k in _miou_cases():
            c.case(t(key, **values))
            got = _scalar(call_unchanged(func, pred, target, k), t("ch08.miou_scalar"))
            expected = _miou_reference(pred, target, k)
            message = failure_text(assert_close, got, expected, rtol=1e-6, atol=1e-9)
            if message is not None and pred.dtype == np.uint8:
                as_int = _scalar(call(func, pred.astype(np.int64), target.astype(np.int64), k), "")
                if failure_text(assert_close, as_int, expected, rtol=1e-6, atol=1e-9) is None:
                    fail(f"{message}\n{t('ch08.miou_uint8')}{on_repeat(t('ch08.miou_uint8_form'))}")
            assert_close_or_explain(got, expected, _miou_suspects(pred, target, k), rtol=1e-6, atol=1e-9,
                                    nonfinite=t("ch08.miou_nan") + on_repeat(t("ch08.miou_nan_form")))


# --------------------------------------------------------------------------- dice
def _dice_reference(pred, target):
    """2|A∩B| / (|A| + |B|), NaN when both masks are empty (the score is undefined)."""
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    size = int(a.sum()) + int(b.sum())
    return float("nan") if size == 0 else 2.0 * int((a & b).sum()) / size


def _dice_suspects(pred, target):
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    inter, union, size = int((a & b).sum()), int((a | b).sum()), int(a.sum()) + int(b.sum())
    if size == 0:
        return [(0.0, t("ch08.dice_empty_zero")), (1.0, t("ch08.dice_empty_one"))]
    return [
        (inter / union, t("ch08.dice_iou")),
        (2 * inter / union, t("ch08.dice_bool_sum") + on_repeat(t("ch08.dice_bool_sum_form"))),
        (inter / size, t("ch08.dice_no_two")),
        (float((a == b).mean()), t("ch08.dice_accuracy")),
    ]


def _dice_cases():
    rng = np.random.default_rng(9)
    a = np.zeros((4, 4), dtype=bool)
    a[0:2, 0:3] = True                          # 6 pixels
    b = np.zeros((4, 4), dtype=bool)
    b[0:2, 1:3] = True                          # 4 pixels, all inside a
    b[3, 3] = True                              # and one outside: |B| = 5, |A∩B| = 4
    empty = np.zeros((5, 6), dtype=bool)
    some = rng.random((5, 6)) < 0.3
    cases = [("ch08.case.dice_worked", {}, a, b),
             ("ch08.case.dice_both_empty", {}, empty, empty.copy()),
             ("ch08.case.dice_one_empty", {}, empty, some),
             ("ch08.case.dice_target_empty", {}, some, empty.copy()),
             ("ch08.case.dice_perfect", {}, some, some.copy())]
    shape = (2, 8, 10)
    cases.append(("ch08.case.dice_int", {"shape": shape},
                  (rng.random(shape) < 0.4).astype(np.uint8), (rng.random(shape) < 0.5).astype(np.uint8)))
    for shape, pa, pb in (((32, 32), 0.3, 0.35), ((3, 16, 12), 0.6, 0.2)):
        cases.append(("ch08.case.dice_random", {"shape": shape}, rng.random(shape) < pa, rng.random(shape) < pb))
    return cases


def dice(func):
    """``dice(pred, target)``: 2|A∩B| / (|A| + |B|) of two binary masks; NaN (undefined) when both are empty."""
    with Check("dice") as c:
        for key, values, pred, target in _dice_cases():
            c.case(t(key, **values))
            empty = not (pred.any() or target.any())
            with np.errstate(invalid="ignore", divide="ignore"):
                got = call_unchanged(func, pred, target, on_error=t("ch08.dice_empty_raised") if empty else None)
                got = _scalar(got, t("ch08.dice_scalar"))
            expected = _dice_reference(pred, target)
            assert_close_or_explain(got, expected, _dice_suspects(pred, target), rtol=1e-6, atol=1e-9)
