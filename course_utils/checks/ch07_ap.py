"""Chapter 07: average precision of one class in one image (``average_precision``).

The reference follows pycocotools / torchmetrics: predictions by descending score (a stable
sort: tied scores keep their given order), each takes the unmatched ground truth of highest IoU
and is a true positive when that IoU >= the threshold; COCO's 101-point interpolation of the
precision envelope.

The course's convention for a score whose denominator is zero: it is undefined and the function
returns ``float('nan')``; an average over images or classes leaves it out (``np.nanmean``), as
COCO marks a category without ground truth -1 and skips it, and as mIoU leaves out absent classes.
So with no ground truth (with or without predictions) AP is nan: recall = TP / 0 is undefined.
With ground truths but no predictions nothing is found: AP is 0.0.

The named mistakes (core :class:`~.core.Mistake` records, each a ``rule`` or an ``interpolation``
of :func:`_ap`): a ground truth matched twice, or consumed by a miss below the threshold, only the
best ground truth tried, IoU > threshold, predictions in the given order, ties broken the other
way, no envelope, 11-point or all-point VOC AP, and the mean over the reached recall points only.
"""
from functools import partial

import numpy as np

from ..i18n import register
from .ch07_iou import iou_matrix, one_number, random_boxes, run_detection_cases
from .core import Case, Mistake, seed

__all__ = ["average_precision"]

RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCO's recall thresholds, as in pycocotools
VOC_POINTS = np.linspace(0.0, 1.0, 11)


def _match(pred_boxes, pred_scores, gt_boxes, threshold, rule="coco"):
    """True / False per prediction, in descending-score order: is it a true positive?

    ``coco`` (the reference, as pycocotools): each prediction takes the unmatched ground truth
    with the highest IoU, a hit when that IoU >= threshold. Mistakes: ``twice`` (ground truths
    reusable), ``consume_miss`` (the best free ground truth is marked matched even on a miss),
    ``voc_match`` (only the overall best ground truth counts), ``strict`` (IoU > threshold),
    ``unsorted`` (predictions in the given order), ``ties_reversed`` (tied scores in reverse order).
    """
    scores = np.asarray(pred_scores, dtype=np.float64)
    if rule == "unsorted":
        order = np.arange(len(scores))
    elif rule == "ties_reversed":
        order = np.argsort(scores, kind="stable")[::-1]
    else:
        order = np.argsort(-scores, kind="stable")
    ious = iou_matrix(np.asarray(pred_boxes)[order], gt_boxes)
    matched = np.zeros(ious.shape[1], dtype=bool)
    hits = []
    for row in ious:
        if rule == "voc_match":
            j = int(np.argmax(row)) if len(row) else -1
            ok = j >= 0 and row[j] >= threshold and not matched[j]
        else:
            free = row if rule == "twice" else np.where(matched, -1.0, row)
            j = int(np.argmax(free)) if len(free) else -1
            ok = j >= 0 and (free[j] > threshold if rule == "strict" else free[j] >= threshold)
            if rule == "consume_miss" and j >= 0:
                matched[j] = True
        if ok:
            matched[j] = True
        hits.append(bool(ok))
    return np.array(hits, dtype=bool)


def _ap_from_hits(hits, n_gt, interpolation="coco101"):
    """AP from the hit list: ``coco101`` (reference), ``raw`` (no envelope), ``voc11``, ``all_point``,
    ``reached`` (the mean over the recall points reached only). nan without ground truth."""
    if n_gt == 0:
        return float("nan")
    if len(hits) == 0:
        return 0.0
    tp = np.cumsum(hits)
    recall = tp / n_gt
    precision = tp / np.arange(1, len(hits) + 1)
    if interpolation == "all_point":
        r = np.concatenate([[0.0], recall, [1.0]])
        p = np.maximum.accumulate(np.concatenate([[0.0], precision, [0.0]])[::-1])[::-1]
        return float(np.sum((r[1:] - r[:-1]) * p[1:]))
    if interpolation != "raw":
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = VOC_POINTS if interpolation == "voc11" else RECALL_POINTS
    idx = np.searchsorted(recall, points, side="left")
    values = np.where(idx < len(hits), precision[np.minimum(idx, len(hits) - 1)], 0.0)
    return float(values[idx < len(hits)].mean()) if interpolation == "reached" else float(values.mean())


def _ap(pred_boxes, pred_scores, gt_boxes, threshold, rule="coco", interpolation="coco101"):
    """AP with the matching ``rule`` of :func:`_match` and the ``interpolation`` of :func:`_ap_from_hits`."""
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    hits = _match(np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4), pred_scores, gt, threshold, rule)
    return _ap_from_hits(hits, len(gt), interpolation)


def _average_precision_ref(pred_boxes, pred_scores, gt_boxes, iou_threshold):
    """The reference AP (one class, one image), as pycocotools / torchmetrics compute it.

    Predictions are taken by descending score (stable for ties); each takes the unmatched
    ground truth of highest IoU and is a true positive when that IoU >= iou_threshold.
    Precision is made non-increasing (the envelope), read at recall 0, 0.01, ..., 1.0 (the
    first prediction whose recall reaches the point; 0 beyond the last recall) and averaged.
    With no ground truth, recall is undefined and so is AP: nan (COCO marks it -1 and skips it).
    """
    return _ap(pred_boxes, pred_scores, gt_boxes, iou_threshold)


# (matching rule or interpolation of _ap, hint key, formula key shown on a repeated failure)
AP_MATCH_RULES = [("twice", "ch07.hint_ap_twice", "ch07.formula_ap_matched"),
                  ("consume_miss", "ch07.hint_ap_consume_miss", "ch07.formula_ap_matched"),
                  ("voc_match", "ch07.hint_ap_voc_match", None), ("strict", "ch07.hint_ap_strict", None),
                  ("unsorted", "ch07.hint_ap_unsorted", "ch07.formula_ap_sort"),
                  ("ties_reversed", "ch07.hint_ap_ties", "ch07.formula_ap_sort")]
AP_CURVE_RULES = [("raw", "ch07.hint_ap_envelope", "ch07.formula_ap_envelope"),
                  ("voc11", "ch07.hint_ap_11", "ch07.formula_ap_points"),
                  ("all_point", "ch07.hint_ap_all_point", "ch07.formula_ap_points"),
                  ("reached", "ch07.hint_ap_reached", "ch07.formula_ap_points")]
AP_MISTAKES = ([Mistake(partial(_ap, rule=rule), key, formula) for rule, key, formula in AP_MATCH_RULES]
               + [Mistake(partial(_ap, interpolation=curve), key, formula) for curve, key, formula in AP_CURVE_RULES])


def _random_ap_case(rng, n_gt, threshold):
    """Ground truths, near and far hits, duplicates and false positives, with distinct scores.

    Drawn again until no IoU is within 1e-6 of the threshold and no prediction overlaps two
    ground truths at the same IoU, so that every correct way of computing agrees.
    """
    while True:
        gt = random_boxes(rng, n_gt, size=200.0, min_side=20.0)
        near = gt[rng.integers(0, n_gt, size=n_gt + 2)]
        near = near + rng.normal(0, 6.0, size=near.shape)
        near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 2.0)
        preds = np.concatenate([near, random_boxes(rng, 3, size=200.0, min_side=10.0)])
        ious = iou_matrix(preds, gt)
        overlaps = [np.sort(row[row > 0]) for row in ious]
        distinct = all((np.diff(row) > 1e-9).all() for row in overlaps)
        if np.abs(ious - threshold).min() > 1e-6 and distinct:
            perm = rng.permutation(len(preds))
            return preds[perm], rng.permutation(len(preds)) / len(preds) + 0.01, gt


def _ap_cases():
    rng = np.random.default_rng(seed(7007))
    A, B, C = [10, 10, 50, 50], [60, 10, 100, 60], [20, 70, 70, 110]
    hit = lambda box, d: [box[0] + d, box[1], box[2] + d, box[3]]
    far = [150, 150, 190, 190]
    worked = np.array([hit(A, 1), far, hit(B, -2), hit(A, -3), [120, 0, 140, 30]], dtype=np.float64)
    worked_scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6])
    perm = np.array([3, 0, 4, 2, 1])
    arr = lambda *rows: np.array(rows, dtype=np.float64).reshape(-1, 4)
    s = np.array
    none = np.zeros((0, 4))
    cases = [
        Case("ch07.case.ap_worked", (worked, worked_scores, arr(A, B, C), 0.5)),
        Case("ch07.case.ap_shuffled", (worked[perm], worked_scores[perm], arr(A, B, C), 0.5)),
        Case("ch07.case.ap_all_correct", (arr(hit(A, 1), hit(B, 0), hit(C, -1)), s([0.5, 0.9, 0.7]), arr(A, B, C), 0.5)),
        Case("ch07.case.ap_fp_first", (arr(far, A, B), s([0.9, 0.8, 0.7]), arr(A, B), 0.5)),
        Case("ch07.case.ap_duplicate", (arr(A, hit(A, 2), B), s([0.9, 0.8, 0.7]), arr(A, B), 0.5)),
        Case("ch07.case.ap_equal", (arr([1, 0, 4, 1]), s([0.9]), arr([0, 0, 3, 1]), 0.5)),
        Case("ch07.case.ap_best_taken", (arr([0, 0, 4, 4], [0.8, 0, 4.8, 4]), s([0.9, 0.8]),
                                         arr([0, 0, 4, 4], [2, 0, 6, 4]), 0.5)),
        Case("ch07.case.ap_miss_keeps_gt", (arr(hit(A, 22), A), s([0.9, 0.8]), arr(A), 0.5)),
        Case("ch07.case.ap_tie", (arr(far, A), s([0.9, 0.9]), arr(A), 0.5)),
        Case("ch07.case.ap_no_pred", (none, np.zeros(0), arr(A, B), 0.5), hint="ch07.hint_ap_no_pred"),
        Case("ch07.case.ap_no_gt", (arr(A, B), s([0.9, 0.8]), none, 0.5), hint="ch07.hint_ap_no_gt"),
        Case("ch07.case.ap_nothing", (none, np.zeros(0), none, 0.5), hint="ch07.hint_ap_no_gt"),
    ]
    for i, (n_gt, threshold) in enumerate([(3, 0.5), (6, 0.75), (7, 0.5)]):
        preds, scores, gt = _random_ap_case(rng, n_gt, threshold)
        cases.append(Case("ch07.case.ap_random", (preds, scores, gt, threshold),
                          values={"i": i + 1, "n_gt": n_gt, "n": len(preds), "threshold": threshold}))
    return cases


def average_precision(func):
    """``average_precision(pred_boxes, pred_scores, gt_boxes, iou_threshold) -> float`` (one class, one image).

    Greedy matching by descending score (tied scores keep their given order, a stable sort);
    each ground truth is matched at most once (a prediction takes the unmatched ground truth of
    highest IoU; a hit needs IoU >= threshold); COCO's 101-point interpolated AP of the
    precision envelope, as pycocotools and torchmetrics. No ground truth (with or without
    predictions): AP is undefined, ``float('nan')``, left out of any average (np.nanmean).
    Ground truths but no predictions: 0.0.
    """
    run_detection_cases("average_precision", func, _ap_cases(), _average_precision_ref, AP_MISTAKES,
                        convert=one_number)


register({
    # --- case names --------------------------------------------------------------------------
    "ch07.case.ap_worked": {"ja": "例題: 正解 3 個、スコア順に TP, FP, TP, 重複, FP → 56/101",
                            "en": "worked example: 3 GT; TP, FP, TP, duplicate, FP by score → 56/101"},
    "ch07.case.ap_shuffled": {"ja": "例題の予測を並べ替えたもの (スコアが整列していない)",
                              "en": "the worked example with the predictions shuffled (scores not sorted)"},
    "ch07.case.ap_all_correct": {"ja": "全て正解 → 1.0", "en": "all correct → 1.0"},
    "ch07.case.ap_fp_first": {"ja": "偽陽性 (FP) が 1 位、正解 2 個 → 2/3", "en": "a false positive ranked first, 2 GT → 2/3"},
    "ch07.case.ap_duplicate": {"ja": "同じ物体への重複した予測、正解 2 個 → 253/303",
                               "en": "duplicate detections of one GT, 2 GT → 253/303"},
    "ch07.case.ap_equal": {"ja": "IoU がちょうどしきい値 0.5 なら当たり → 1.0",
                           "en": "IoU exactly 0.5 = threshold counts as a hit → 1.0"},
    "ch07.case.ap_best_taken": {"ja": "最良の正解が使用済みで、まだ使われていない正解との IoU が 0.54 → 1.0",
                                "en": "the best GT is taken, another unmatched GT has IoU 0.54 → 1.0"},
    "ch07.case.ap_miss_keeps_gt": {"ja": "外れの予測 (IoU 0.29) の後に、同じ正解に当たる予測 → 1/2",
                                   "en": "a miss (IoU 0.29) first, then a prediction on the same GT → 1/2"},
    "ch07.case.ap_tie": {"ja": "同じスコア 0.9 の 2 つの予測: 渡された順 (偽陽性が先) → 1/2",
                         "en": "two predictions tied at score 0.9: in the given order (the false positive first) → 1/2"},
    "ch07.case.ap_no_pred": {"ja": "予測なし、正解 2 個 → 0.0", "en": "no predictions, 2 GT → 0.0"},
    "ch07.case.ap_no_gt": {"ja": "正解なし、予測 2 個 → nan (定義できない)",
                           "en": "no ground truth, two predictions → nan (undefined)"},
    "ch07.case.ap_nothing": {"ja": "正解も予測もなし → nan (定義できない)",
                             "en": "no ground truth and no predictions → nan (undefined)"},
    "ch07.case.ap_random": {"ja": "乱数 {i}: 正解 {n_gt} 個、予測 {n} 個、IoU のしきい値 {threshold}",
                            "en": "random {i}: {n_gt} GT, {n} predictions, IoU threshold {threshold}"},
    # --- hints -------------------------------------------------------------------------------
    "ch07.hint_ap_twice": {
        "ja": "ヒント: 1 つの正解 (ground truth) に 2 つ以上の予測が当たったことにしています。各正解が対応できる予測は "
              "1 つだけです。同じ物体への重複した予測は偽陽性 (FP) です。",
        "en": "Hint: one ground truth is matched by more than one prediction. Each ground truth can be matched once; "
              "a duplicate detection of the same object is a false positive.",
    },
    "ch07.formula_ap_matched": {
        "ja": "当たった正解にだけ印を付け (matched[j] = True)、後の予測はまだ印のない正解とだけ比べます。",
        "en": "Mark only a ground truth that was hit (matched[j] = True), and compare later predictions only with "
              "the unmarked ones.",
    },
    "ch07.hint_ap_consume_miss": {
        "ja": "ヒント: 外れた予測 (IoU がしきい値未満) も正解を使用済みにしているようです。正解が使われるのは、"
              "予測が当たったときだけです。外れのあとでも、その正解は後の予測に当たることができます。",
        "en": "Hint: a prediction that misses (IoU below the threshold) seems to use up a ground truth too. A ground "
              "truth is taken only by a hit; after a miss it is still free for later predictions.",
    },
    "ch07.hint_ap_envelope": {
        "ja": "ヒント: 各再現率での生の適合率 (precision) をそのまま使っているようです。先に適合率の包絡線 "
              "(precision envelope) を取ります: 各位置の適合率を、それより後 (再現率が同じか大きい) の最大値で置き換えます。",
        "en": "Hint: you seem to use the raw precision at each recall. Take the precision envelope first: replace "
              "each precision by the maximum over all later positions (equal or higher recall).",
    },
    "ch07.formula_ap_envelope": {"ja": "後ろからの累積最大値: np.maximum.accumulate(precision[::-1])[::-1]。",
                                 "en": "The running maximum from the end: np.maximum.accumulate(precision[::-1])[::-1]."},
    "ch07.hint_ap_11": {
        "ja": "ヒント: 11 点補間 (再現率 0, 0.1, …, 1.0: 古い VOC2007 の方式) になっているようです。ここでは COCO と"
              "同じ 101 点 (0, 0.01, …, 1.0) の平均です。",
        "en": "Hint: this is the 11-point interpolation (recall 0, 0.1, …, 1.0, the old VOC2007 rule). Here AP is "
              "the mean over COCO's 101 points 0, 0.01, …, 1.0.",
    },
    "ch07.formula_ap_points": {
        "ja": "101 個の再現率 np.linspace(0, 1, 101) の全てで包絡線を読み (届かない再現率では 0)、101 で割ります。",
        "en": "Read the envelope at all 101 recalls np.linspace(0, 1, 101) (0 where the recall is never reached) "
              "and divide by 101.",
    },
    "ch07.hint_ap_all_point": {
        "ja": "ヒント: 包絡線の下の面積 (VOC2010 以降の全点補間) になっているようです。ここでは COCO と同じく、"
              "101 個の再現率 0, 0.01, …, 1.0 での包絡線の値の平均を取ります。",
        "en": "Hint: this is the area under the envelope (VOC2010's all-point AP). Here, as in COCO, AP is the mean "
              "of the envelope at the 101 recall values 0, 0.01, …, 1.0.",
    },
    "ch07.hint_ap_reached": {
        "ja": "ヒント: 平均を、実際に届いた再現率の点だけで取っているようです。届かなかった再現率の点の適合率は 0 で、"
              "それも平均に入ります (正解を見逃すほど AP は下がります)。",
        "en": "Hint: you seem to average over the recall points actually reached only. A recall point that is "
              "never reached has precision 0 and counts in the mean too (missing ground truths must lower AP).",
    },
    "ch07.hint_ap_strict": {
        "ja": "ヒント: IoU がちょうどしきい値のときを外れにしています。当たりの条件は「IoU がしきい値以上」です "
              "(pycocotools と同じ)。",
        "en": "Hint: an IoU exactly equal to the threshold counts as a miss in your answer. A match needs an IoU "
              "at or above the threshold (as in pycocotools).",
    },
    "ch07.hint_ap_unsorted": {
        "ja": "ヒント: 予測を渡された順に処理しているようです。先にスコアの高い順に並べ替えてから、1 つずつ正解と対応付けます。",
        "en": "Hint: you seem to process the predictions in the order given. Sort them by descending score first, "
              "then match them one by one.",
    },
    "ch07.hint_ap_ties": {
        "ja": "ヒント: 同じスコアの予測の順番が逆になっています。スコアが同じときは渡された順を保ちます "
              "(安定な並べ替え、pycocotools と同じ)。昇順に並べてから逆順にすると、同点の順番まで逆になります。",
        "en": "Hint: predictions with the same score come in the reverse order. Tied scores keep their given order "
              "(a stable sort, as in pycocotools); sorting ascending and then reversing also reverses the ties.",
    },
    "ch07.formula_ap_sort": {"ja": "order = np.argsort(-scores, kind=\"stable\") の順に処理します。",
                             "en": "Process the predictions in order = np.argsort(-scores, kind=\"stable\")."},
    "ch07.hint_ap_voc_match": {
        "ja": "ヒント: IoU が最大の正解がすでに使われているとき、その予測を外れにしていませんか? ここでは "
              "(pycocotools と同じく) まだ使われていない正解の中で IoU が最大のものと比べ、それがしきい値以上なら当たりです。",
        "en": "Hint: when the prediction's best ground truth is already taken, do you count it as a miss? Here "
              "(as in pycocotools) the prediction is compared with the best of the still unmatched ground truths, "
              "and it is a hit when that IoU reaches the threshold.",
    },
    "ch07.hint_ap_no_gt": {
        "ja": "ヒント: 正解が 0 個のときは、再現率 (TP / 正解の数) が 0 で割ることになり定義できないので、AP も定義できません。"
              "この講座の約束では、分母が 0 になる評価値は float('nan') を返し、画像やクラスの平均からは除きます "
              "(np.nanmean。COCO も正解のないクラスを飛ばします)。0.0 にすると、平均が不当に下がります。",
        "en": "Hint: with no ground truth, recall (TP / number of ground truths) divides by zero, so AP is undefined. "
              "The course's rule: a score whose denominator is zero returns float('nan') and is left out of averages "
              "over images or classes (np.nanmean; COCO skips a class without ground truth). A 0.0 here would drag "
              "the average down unfairly.",
    },
    "ch07.hint_ap_no_pred": {
        "ja": "ヒント: 正解があって予測が 0 個なら、何も見つけていない (再現率 0) ので AP は 0.0 です (nan ではありません)。"
              "空の配列でも動くようにしてください。",
        "en": "Hint: with ground truths but no predictions nothing is found (recall 0), so AP is 0.0, not nan; "
              "make sure empty arrays work.",
    },
})
