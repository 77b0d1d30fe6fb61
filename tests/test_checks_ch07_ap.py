"""Chapter 07, average precision: correct code passes; each typical mistake fails with its hint, in both
languages; the convention for no ground truth (nan: undefined, left out of averages). Also unit tests of the
AP reference itself on hand-computed examples."""
import numpy as np
import pytest
import torch
import torchvision

from course_utils import checks
from course_utils.checks import ch07_ap, core
from course_utils.i18n import t
from tests.check_helpers import hint
from tests.test_checks_ch07 import JAPANESE, case, fails, iou_ok, passes, raised

pytestmark = pytest.mark.usefixtures("each_language")


# --------------------------------------------------------------------------- average_precision
def ap_ok(pred_boxes, pred_scores, gt_boxes, iou_threshold, twice=False, envelope=True, points=101,
          all_point=False, consume_miss=False, ties_reversed=False, reached_only=False, no_gt=float("nan")):
    if len(gt_boxes) == 0:
        return no_gt                  # recall = TP / 0: undefined (the course's convention: nan)
    if len(pred_boxes) == 0:
        return 0.0
    scores = np.asarray(pred_scores)
    order = np.argsort(scores, kind="stable")[::-1] if ties_reversed else np.argsort(-scores, kind="stable")
    matched = np.zeros(len(gt_boxes), dtype=bool)
    tp = []
    for k in order:
        ious = np.array([iou_ok(pred_boxes[k], g) for g in gt_boxes])
        if not twice:
            ious[matched] = -1
        j = int(np.argmax(ious))
        tp.append(ious[j] >= iou_threshold)
        if tp[-1] or consume_miss:
            matched[j] = True
    tp = np.cumsum(tp)
    recall = tp / len(gt_boxes)
    precision = tp / np.arange(1, len(tp) + 1)
    if envelope:
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    if all_point:
        r = np.r_[0, recall]
        return float(np.sum(np.diff(r) * precision))
    values = []
    for r in np.linspace(0, 1, points):
        at = np.nonzero(recall >= r)[0]
        if len(at) or not reached_only:
            values.append(precision[at[0]] if len(at) else 0.0)
    return float(np.mean(values))


def ap_with_torchvision(pred_boxes, pred_scores, gt_boxes, iou_threshold):
    """A different but correct style: torch, max over later precisions per recall point."""
    if len(gt_boxes) == 0:
        return torch.tensor(float("nan"))
    if len(pred_boxes) == 0:
        return torch.tensor(0.0)
    order = torch.argsort(torch.as_tensor(-pred_scores), stable=True)
    ious = torchvision.ops.box_iou(torch.as_tensor(pred_boxes)[order], torch.as_tensor(gt_boxes))
    taken = torch.zeros(len(gt_boxes), dtype=torch.bool)
    hits = []
    for row in ious:
        row = row.masked_fill(taken, -1)
        best, j = row.max(0)
        hits.append(bool(best >= iou_threshold))
        taken[j] |= hits[-1]
    tp = torch.cumsum(torch.tensor(hits, dtype=torch.float64), 0)
    recall, precision = tp / len(gt_boxes), tp / torch.arange(1, len(hits) + 1)
    grid = torch.linspace(0, 1, 101, dtype=torch.float64)
    return torch.stack([precision[recall >= r].max() if (recall >= r).any() else torch.tensor(0.0, dtype=torch.float64)
                        for r in grid]).mean()


@pytest.mark.parametrize("answer", [ap_ok, ap_with_torchvision, lambda *a: np.float64(ap_ok(*a))])
def test_ap_correct(answer, capsys):
    passes(checks.average_precision, answer, capsys)


def test_ap_ground_truth_matched_twice():
    fails(checks.average_precision, lambda *a: ap_ok(*a, twice=True), case("ch07.case.ap_worked"), hint("ch07.hint_ap_twice"))


def test_ap_without_envelope():
    fails(checks.average_precision, lambda *a: ap_ok(*a, envelope=False), hint("ch07.hint_ap_envelope"))


def test_ap_eleven_points():
    fails(checks.average_precision, lambda *a: ap_ok(*a, points=11), case("ch07.case.ap_worked"), hint("ch07.hint_ap_11"))


def test_ap_all_point_voc():
    fails(checks.average_precision, lambda *a: ap_ok(*a, all_point=True), hint("ch07.hint_ap_all_point"))


def test_ap_not_sorted_by_score():
    def unsorted(p, s, g, thr):
        return ap_ok(p, np.arange(len(s))[::-1].astype(float), g, thr)  # as if listed in score order

    fails(checks.average_precision, unsorted, case("ch07.case.ap_shuffled"), hint("ch07.hint_ap_unsorted"))


def test_ap_strict_threshold():
    def strict(p, s, g, thr):
        return ap_ok(p, s, g, thr + 1e-9)

    fails(checks.average_precision, strict, case("ch07.case.ap_equal"), hint("ch07.hint_ap_strict"))


def test_ap_voc_style_matching():
    def voc(p, s, g, thr):
        if len(g) == 0:
            return float("nan")
        if len(p) == 0:
            return 0.0
        matched = np.zeros(len(g), dtype=bool)
        hits = []
        for k in np.argsort(-s, kind="stable"):
            ious = np.array([iou_ok(p[k], box) for box in g])
            j = int(np.argmax(ious))
            hits.append(ious[j] >= thr and not matched[j])
            matched[j] |= hits[-1]
        return _coco101_from_hits(np.array(hits), len(g))

    fails(checks.average_precision, voc, case("ch07.case.ap_best_taken"), hint("ch07.hint_ap_voc_match"))


def _coco101_from_hits(hits, n_gt):
    """COCO 101-point AP of a hit list, written out here: a student's answer may not call the checks' own code."""
    if n_gt == 0:
        return float("nan")
    if len(hits) == 0:
        return 0.0
    tp = np.cumsum(hits)
    recall, precision = tp / n_gt, tp / np.arange(1, len(hits) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.where(idx < len(hits), precision[np.minimum(idx, len(hits) - 1)], 0.0).mean())


def test_ap_no_ground_truth_is_nan():
    def divides(p, s, g, thr):  # 0 / 0 with NumPy: nan, the course's convention, for both no-GT cases
        with np.errstate(all="ignore"):
            return ap_ok(p, s, g, thr) if len(g) else np.float64(0.0) / np.float64(len(g))

    checks.average_precision(divides)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_ap_no_ground_truth_as_a_number_names_the_convention(value):
    fails(checks.average_precision, lambda *a: ap_ok(*a, no_gt=value), case("ch07.case.ap_no_gt"),
          t("check.scalar", expected="nan", got=f"{value:g}"), hint("ch07.hint_ap_no_gt"))


def test_ap_no_ground_truth_zero_only_without_predictions():
    def zero_when_empty(p, s, g, thr):  # nan with predictions, but 0.0 when there is nothing at all
        return 0.0 if len(g) == 0 and len(p) == 0 else ap_ok(p, s, g, thr)

    fails(checks.average_precision, zero_when_empty, case("ch07.case.ap_nothing"), hint("ch07.hint_ap_no_gt"))


def test_ap_nan_without_predictions_is_refused():
    def nan_when_no_predictions(p, s, g, thr):
        return float("nan") if len(p) == 0 else ap_ok(p, s, g, thr)

    fails(checks.average_precision, nan_when_no_predictions, case("ch07.case.ap_no_pred"), hint("check.nan"),
          hint("ch07.hint_ap_no_pred"))


def test_ap_ground_truth_consumed_by_a_miss():
    fails(checks.average_precision, lambda *a: ap_ok(*a, consume_miss=True), hint("ch07.hint_ap_consume_miss"))

    def consumes_overlapping_only(p, s, g, thr):  # only a miss that overlaps uses up the ground truth
        if len(g) == 0 or len(p) == 0:
            return ap_ok(p, s, g, thr)
        matched = np.zeros(len(g), dtype=bool)
        hits = []
        for k in np.argsort(-s, kind="stable"):
            ious = np.where(matched, -1.0, [iou_ok(p[k], box) for box in g])
            j = int(np.argmax(ious))
            hits.append(ious[j] >= thr)
            matched[j] |= ious[j] > 0
        return _coco101_from_hits(np.array(hits), len(g))

    fails(checks.average_precision, consumes_overlapping_only, case("ch07.case.ap_miss_keeps_gt"),
          hint("ch07.hint_ap_consume_miss"))


def test_ap_ties_on_the_wrong_side():
    fails(checks.average_precision, lambda *a: ap_ok(*a, ties_reversed=True), case("ch07.case.ap_tie"),
          hint("ch07.hint_ap_ties"))


def test_ap_mean_over_reached_recalls_only():
    core._failed_cases.clear()  # a first failure of the case: the formula is not shown yet
    message = fails(checks.average_precision, lambda *a: ap_ok(*a, reached_only=True), case("ch07.case.ap_worked"),
                    hint("ch07.hint_ap_reached"))
    assert t("ch07.formula_ap_points") not in message


def test_ap_formula_only_on_a_repeated_failure():
    core._failed_cases.clear()
    first = fails(checks.average_precision, lambda *a: ap_ok(*a, ties_reversed=True), hint("ch07.hint_ap_ties"))
    second = fails(checks.average_precision, lambda *a: ap_ok(*a, ties_reversed=True), hint("ch07.hint_ap_ties"))
    assert t("ch07.formula_ap_sort") not in first and t("ch07.formula_ap_sort") in second
    core._failed_cases.clear()


def test_ap_convention_hint_is_in_one_language(each_language):
    message = fails(checks.average_precision, lambda *a: ap_ok(*a, no_gt=0.0), hint("ch07.hint_ap_no_gt"))
    assert bool(JAPANESE.search(message)) == (each_language == "ja"), message
    assert ("undefined" in message) == (each_language == "en")


def test_ap_no_predictions_raise():
    def crashes(p, s, g, thr):
        first = np.argsort(-s)[0]  # IndexError when there are no predictions
        return ap_ok(p, s, g, thr) + 0 * first

    fails(checks.average_precision, crashes, case("ch07.case.ap_no_pred"), raised("IndexError"), hint("ch07.hint_ap_no_pred"))


def test_ap_bad_returns():
    def stub(*args):
        raise NotImplementedError

    fails(checks.average_precision, stub, t("check.stub"))
    fails(checks.average_precision, lambda *a: [ap_ok(*a)], hint("check.not_number"), "list [")
    fails(checks.average_precision, lambda *a: np.full(101, ap_ok(*a)), t("check.not_number", got="numpy.ndarray float64 (101,)"))
    fails(checks.average_precision, lambda *a: "0.5", t("check.type", expected="number", got="str"))


# --------------------------------------------------------------------------- the AP reference itself
A, B, C = [0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30]
ref = ch07_ap._average_precision_ref


def boxes(*rows):
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def test_reference_all_correct_is_one():
    assert ref(boxes(A, B, C), np.array([0.9, 0.8, 0.7]), boxes(A, B, C), 0.5) == 1.0


def test_reference_no_predictions_is_zero():
    assert ref(boxes(), np.zeros(0), boxes(A, B), 0.5) == 0.0


def test_reference_no_ground_truth_is_nan():
    assert np.isnan(ref(boxes(A), np.array([0.9]), boxes(), 0.5))
    assert np.isnan(ref(boxes(), np.zeros(0), boxes(), 0.5))
    for interpolation in ("coco101", "raw", "voc11", "all_point", "reached"):
        assert np.isnan(ch07_ap._ap_from_hits(np.array([False]), 0, interpolation))


def test_reference_false_positive_first():
    # one GT: FP (0.9) then TP (0.8): precision 0, 1/2 -> envelope 1/2 at every recall point
    assert ref(boxes([50, 50, 60, 60], A), np.array([0.9, 0.8]), boxes(A), 0.5) == pytest.approx(0.5)
    # two GT: FP, TP, TP: envelope 2/3 everywhere
    assert ref(boxes([50, 50, 60, 60], A, B), np.array([0.9, 0.8, 0.7]), boxes(A, B), 0.5) == pytest.approx(2 / 3)


def test_reference_duplicate_detection():
    # one GT found twice: TP then FP; recall reaches 1 at precision 1 -> AP 1
    assert ref(boxes(A, A), np.array([0.9, 0.8]), boxes(A), 0.5) == pytest.approx(1.0)
    # two GT: TP(A), duplicate of A, TP(B): recall 1/2, 1/2, 1; envelope 1, 2/3, 2/3
    # 51 recall points 0..0.50 at 1.0 and 50 points 0.51..1.0 at 2/3 -> (51 + 100/3) / 101 = 253/303
    assert ref(boxes(A, A, B), np.array([0.9, 0.8, 0.7]), boxes(A, B), 0.5) == pytest.approx(253 / 303)


def test_reference_partial_recall():
    # 3 GT, only A found: recall 1/3 -> points 0, 0.01, ..., 0.33 (34 of them) at precision 1
    assert ref(boxes(A), np.array([0.9]), boxes(A, B, C), 0.5) == pytest.approx(34 / 101)


def test_reference_threshold_inclusive_and_order_independent():
    assert ref(boxes([1, 0, 4, 1]), np.array([0.9]), boxes([0, 0, 3, 1]), 0.5) == 1.0  # IoU exactly 0.5
    p, s = boxes([50, 50, 60, 60], A, B), np.array([0.9, 0.8, 0.7])
    assert ref(p[::-1], s[::-1], boxes(A, B), 0.5) == ref(p, s, boxes(A, B), 0.5)


def test_reference_worked_example_of_the_check():
    # TP, FP, TP, duplicate, FP over 3 GT: envelope 1 up to recall 1/3 (34 points), 2/3 up to 2/3 (33 points)
    preds, scores, gt, thr = ch07_ap._ap_cases()[0].args
    assert ref(preds, scores, gt, thr) == pytest.approx(56 / 101)


def test_reference_new_cases():
    cases = {c.name: c.args for c in ch07_ap._ap_cases()}
    assert ref(*cases["ch07.case.ap_miss_keeps_gt"]) == pytest.approx(0.5)   # FP (IoU 0.29), then TP on the same GT
    assert ref(*cases["ch07.case.ap_tie"]) == pytest.approx(0.5)             # tie: the given order, FP first
    hits = np.array([True, False, True, False, False])                       # the worked example: 3 GT
    assert ch07_ap._ap_from_hits(hits, 3, "reached") == pytest.approx((34 + 33 * 2 / 3) / 67)


def test_reference_interpolation_variants():
    hits = np.array([True, False, True])  # the duplicate example above, 2 GT
    assert ch07_ap._ap_from_hits(hits, 2, "voc11") == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert ch07_ap._ap_from_hits(hits, 2, "all_point") == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    hits = np.array([False, True, True])  # FP first: raw precision 0, 1/2, 2/3
    assert ch07_ap._ap_from_hits(hits, 2, "raw") == pytest.approx((0 + 50 * 0.5 + 50 * 2 / 3) / 101)
