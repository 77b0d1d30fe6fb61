"""Chapter 07, NMS: correct code passes; each typical mistake fails with its hint, in both languages."""
import numpy as np
import pytest
import torch
import torchvision

from course_utils import checks
from course_utils.i18n import t
from tests.check_helpers import hint
from tests.test_checks_ch07 import case, fails, iou_ok, passes, raised

pytestmark = pytest.mark.usefixtures("each_language")


# --------------------------------------------------------------------------- nms
def nms_ok(boxes, scores, iou_threshold):
    order = np.argsort(scores)[::-1]
    keep = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        ious = np.array([iou_ok(boxes[i], boxes[j]) for j in rest])
        order = rest[ious <= iou_threshold] if len(rest) else rest
    return keep


def nms_variant(boxes, scores, thr, ascending=False, ge=False, chain=False):
    order = list(np.argsort(scores) if ascending else np.argsort(scores)[::-1])
    keep = []
    for rank, i in enumerate(order):
        others = order[:rank] if chain else keep
        over = [iou_ok(boxes[i], boxes[j]) for j in others]
        if not any(o >= thr if ge else o > thr for o in over):
            keep.append(int(i))
    return keep


@pytest.mark.parametrize("answer", [
    nms_ok,
    lambda b, s, thr: np.array(nms_ok(b, s, thr)),                                  # int array
    lambda b, s, thr: np.array(nms_ok(b, s, thr), dtype=np.int32),
    lambda b, s, thr: torchvision.ops.nms(torch.from_numpy(b), torch.from_numpy(s), thr),  # tensor
    lambda b, s, thr: np.array([int(i) for i in nms_ok(b, s, thr)] or []),         # empty: float64 []
    lambda b, s, thr: nms_variant(b, s, thr),
])
def test_nms_correct(answer, capsys):
    passes(checks.nms, answer, capsys)


def test_nms_ascending():
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, ascending=True), case("ch07.case.nms_worked"),
          hint("ch07.hint_nms_ascending"))


def test_nms_unsorted_indices():
    fails(checks.nms, lambda b, s, thr: sorted(nms_ok(b, s, thr)), t("ch07.indices_wrong", expected=[1, 4, 0], got=[0, 1, 4]),
          hint("ch07.hint_nms_order"))


def test_nms_boolean_mask():
    def mask(b, s, thr):
        m = np.zeros(len(b), dtype=bool)
        m[nms_ok(b, s, thr)] = True
        return m

    fails(checks.nms, mask, hint("ch07.hint_nms_mask"))
    fails(checks.nms, lambda b, s, thr: mask(b, s, thr).astype(int), hint("ch07.hint_nms_mask"))


def test_nms_greater_or_equal():
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, ge=True), case("ch07.case.nms_equal"), hint("ch07.hint_nms_ge"))


def test_nms_suppressed_boxes_suppress():
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, chain=True), case("ch07.case.nms_chain"), hint("ch07.hint_nms_chain"))


def test_nms_positions_in_sorted_order():
    def positions(b, s, thr):
        order = np.argsort(-s)
        kept = nms_ok(b[order], s[order], thr)
        return kept  # indices into the sorted arrays

    fails(checks.nms, positions, hint("ch07.hint_nms_positions"))


def test_nms_empty_input():
    def first_then_loop(b, s, thr):
        order = list(np.argsort(s)[::-1])
        keep = [int(order.pop(0))]  # IndexError on no boxes
        return keep + [k for k in nms_ok(b, s, thr) if k != keep[0]]

    fails(checks.nms, first_then_loop, case("ch07.case.nms_none"), raised("IndexError"), hint("ch07.hint_nms_empty"))


def test_nms_bad_returns():
    def stub(b, s, thr):
        raise NotImplementedError

    fails(checks.nms, stub, t("check.stub"))
    fails(checks.nms, lambda b, s, thr: np.array(nms_ok(b, s, thr), dtype=float), t("ch07.indices_float", dtype="float64"))
    fails(checks.nms, lambda b, s, thr: nms_ok(b, s, thr) * 2, hint("ch07.hint_nms_duplicates"))
    fails(checks.nms, lambda b, s, thr: [i + 1 for i in nms_ok(b, s, thr)],
          t("ch07.indices_range", index=5, n=5, last=4))
    fails(checks.nms, lambda b, s, thr: None, t("check.type", expected="list / numpy.ndarray of int", got="NoneType"))
    fails(checks.nms, lambda b, s, thr: np.array([nms_ok(b, s, thr)]), t("ch07.not_indices", got="numpy.ndarray int64 (1, 3)"))


def test_nms_sorting_scores_in_place():
    def in_place(b, s, thr):
        keep = nms_ok(b, s, thr)
        s.sort()
        return keep

    fails(checks.nms, in_place, t("check.inputs_changed"))


def test_nms_that_drops_low_scores_after_suppressing_fails():
    def drops_low(boxes, scores, iou_threshold):
        keep = torchvision.ops.nms(torch.as_tensor(boxes, dtype=torch.float64),
                                   torch.as_tensor(scores, dtype=torch.float64), iou_threshold).numpy()
        return keep[np.asarray(scores)[keep] >= 0.05]

    fails(checks.nms, drops_low, case("ch07.case.nms_low_scores", n=25), hint("ch07.hint_nms_none_kept"))


def test_nms_top_k_only():
    fails(checks.nms, lambda b, s, thr: nms_ok(b, s, thr)[:10], hint("ch07.hint_nms_score_cut"))

    def without_the_last(b, s, thr):  # the lowest-scoring kept box dropped
        keep = nms_ok(b, s, thr)
        return keep[:-1] if len(keep) > 1 else keep

    fails(checks.nms, without_the_last, case("ch07.case.nms_worked"), hint("ch07.hint_nms_score_cut"))
