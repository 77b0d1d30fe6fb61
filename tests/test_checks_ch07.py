"""Chapter 07 checks: correct detection code passes; each typical mistake fails with its hint.

Also unit tests of the AP reference itself on hand-computed examples.
"""
import numpy as np
import pytest
import torch
import torchvision

from course_utils import checks
from course_utils.checks import ch07
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


def fails(check, func, *fragments):
    return assert_fails(lambda: check(func), fragments)


def passes(check, func, capsys):
    check(func)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and check.__name__ in out[0] and out[0].startswith("✓"), out


# --------------------------------------------------------------------------- iou: answers
def iou_ok(box_a, box_b):
    a, b = np.asarray(box_a, dtype=float), np.asarray(box_b, dtype=float)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def iou_variant(box_a, box_b, clamp=True, one=0.0, subtract=True, clamp_product=False):
    a, b = np.asarray(box_a, dtype=float), np.asarray(box_b, dtype=float)
    w = min(a[2], b[2]) - max(a[0], b[0]) + one
    h = min(a[3], b[3]) - max(a[1], b[1]) + one
    if clamp:
        w, h = max(0.0, w), max(0.0, h)
    inter = max(0.0, w * h) if clamp_product else w * h
    union = (a[2] - a[0] + one) * (a[3] - a[1] + one) + (b[2] - b[0] + one) * (b[3] - b[1] + one)
    return inter / (union - inter if subtract else union)


@pytest.mark.parametrize("answer", [
    iou_ok,
    lambda a, b: np.float32(iou_ok(a, b)),                                         # NumPy scalar
    lambda a, b: np.array(iou_ok(a, b)),                                           # 0-d array
    lambda a, b: torchvision.ops.box_iou(torch.tensor(np.array([a], dtype=float)),
                                         torch.tensor(np.array([b], dtype=float)))[0, 0],  # 0-d tensor
])
def test_iou_correct(answer, capsys):
    passes(checks.iou, answer, capsys)


def test_iou_no_clamp():
    fails(checks.iou, lambda a, b: iou_variant(a, b, clamp=False), "side by side", hint("ch07.hint_no_clamp"))
    fails(checks.iou, lambda a, b: iou_variant(a, b, clamp=False, clamp_product=True), "diagonal",
          hint("ch07.hint_no_clamp"))


def test_iou_plus_one_pixel():
    fails(checks.iou, lambda a, b: iou_variant(a, b, one=1.0), "worked example", hint("ch07.hint_plus_one"))


def test_iou_union_without_subtracting():
    fails(checks.iou, lambda a, b: iou_variant(a, b, subtract=False), "1/7", hint("ch07.hint_no_subtract"))


def test_iou_reads_xywh():
    def xywh(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return iou_ok(np.r_[a[:2], a[:2] + a[2:]], np.r_[b[:2], b[:2] + b[2:]])

    fails(checks.iou, xywh, hint("ch07.hint_xywh"))


def test_iou_only_arrays():
    def array_only(a, b):  # list - list raises TypeError
        lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
        inter = np.prod(np.clip(hi - lo, 0, None))
        return inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)

    fails(checks.iou, array_only, "Python lists", "TypeError", hint("ch07.hint_lists"))


def test_iou_bad_returns():
    def stub(a, b):
        raise NotImplementedError

    fails(checks.iou, stub, t("check.stub"))
    fails(checks.iou, lambda a, b: 1 / 0, "ZeroDivisionError")
    fails(checks.iou, lambda a, b: [iou_ok(a, b)], t("ch07.not_number", got="list")[:8])
    fails(checks.iou, lambda a, b: np.array([iou_ok(a, b)]), "(1,)")
    fails(checks.iou, lambda a, b: None, "NoneType")
    fails(checks.iou, lambda a, b: float("nan"), hint("check.nan", count=1, index=()))


def test_iou_modifying_input():
    def in_place(a, b):
        value = iou_ok(a, b)
        if isinstance(a, np.ndarray):
            a[:] = 0
        return value

    fails(checks.iou, in_place, t("check.inputs_changed"))


# --------------------------------------------------------------------------- box_iou
def box_iou_ok(a, b):
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def box_iou_loops(a, b):
    out = np.zeros((len(a), len(b)))
    for i, box_a in enumerate(a):
        for j, box_b in enumerate(b):
            out[i, j] = iou_ok(box_a, box_b)
    return out


@pytest.mark.parametrize("answer", [
    box_iou_ok,
    box_iou_loops,
    lambda a, b: torchvision.ops.box_iou(torch.from_numpy(a), torch.from_numpy(b)),   # a tensor is fine
])
def test_box_iou_correct(answer, capsys):
    passes(checks.box_iou, answer, capsys)


def test_box_iou_transposed():
    fails(checks.box_iou, lambda a, b: box_iou_ok(b, a), "N=3, M=2", "(3, 2)", hint("ch07.hint_transposed"))

    def square_only(a, b):  # the right shape whenever N == M, but the values transposed
        return box_iou_ok(a, b).T if len(a) == len(b) else box_iou_ok(a, b)

    fails(checks.box_iou, square_only, "N=M=3", hint("ch07.hint_transposed"))


def test_box_iou_elementwise_mistakes():
    def no_clamp(a, b):
        lo = np.maximum(a[:, None, :2], b[None, :, :2])
        hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
        inter = np.prod(hi - lo, axis=-1)
        area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
        area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
        return inter / (area_a[:, None] + area_b[None, :] - inter)

    fails(checks.box_iou, no_clamp, hint("ch07.hint_no_clamp"))

    def no_subtract(a, b):
        out = np.zeros((len(a), len(b)))
        for i, j in np.ndindex(out.shape):
            out[i, j] = iou_variant(a[i], b[j], subtract=False)
        return out

    fails(checks.box_iou, no_subtract, hint("ch07.hint_no_subtract"))


def test_box_iou_without_broadcasting():
    def pairs(a, b):  # elementwise IoU of a[i] and b[i]: only works when N == M
        lo = np.maximum(a[:, :2], b[:, :2])
        hi = np.minimum(a[:, 2:], b[:, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
        return inter / (np.prod(a[:, 2:] - a[:, :2], axis=-1) + np.prod(b[:, 2:] - b[:, :2], axis=-1) - inter)

    fails(checks.box_iou, pairs, "worked example", "(1,)", hint("ch07.hint_broadcast"))

    def pairs_2d(a, b):  # the same, kept 2-D: breaks as soon as N != M
        return pairs(a, b)[:, None] if len(a) == len(b) else pairs(a, b)

    fails(checks.box_iou, pairs_2d, "N=3, M=2", "ValueError", hint("ch07.hint_broadcast"))


def test_box_iou_empty_inputs():
    def comprehension(a, b):
        return np.array([[iou_ok(x, y) for y in b] for x in a])

    fails(checks.box_iou, comprehension, "a empty", "(0, 3)", hint("ch07.hint_box_iou_empty"))


def test_box_iou_bad_returns():
    fails(checks.box_iou, lambda a, b: box_iou_ok(a, b).tolist(), "list")
    fails(checks.box_iou, lambda a, b: box_iou_ok(a, b) * np.nan, hint("check.nan", count=1, index=(0, 0)))

    def stub(a, b):
        raise NotImplementedError("TODO")

    fails(checks.box_iou, stub, t("check.stub"))


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
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, ascending=True), "worked example",
          hint("ch07.hint_nms_ascending"))


def test_nms_unsorted_indices():
    fails(checks.nms, lambda b, s, thr: sorted(nms_ok(b, s, thr)), "[1, 4, 0]", "[0, 1, 4]",
          hint("ch07.hint_nms_order"))


def test_nms_boolean_mask():
    def mask(b, s, thr):
        m = np.zeros(len(b), dtype=bool)
        m[nms_ok(b, s, thr)] = True
        return m

    fails(checks.nms, mask, hint("ch07.hint_nms_mask"))
    fails(checks.nms, lambda b, s, thr: mask(b, s, thr).astype(int), hint("ch07.hint_nms_mask"))


def test_nms_greater_or_equal():
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, ge=True), "exactly 0.5", hint("ch07.hint_nms_ge"))


def test_nms_suppressed_boxes_suppress():
    fails(checks.nms, lambda b, s, thr: nms_variant(b, s, thr, chain=True), "chain", hint("ch07.hint_nms_chain"))


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

    fails(checks.nms, first_then_loop, "no boxes", "IndexError", hint("ch07.hint_nms_empty"))


def test_nms_bad_returns():
    def stub(b, s, thr):
        raise NotImplementedError

    fails(checks.nms, stub, t("check.stub"))
    fails(checks.nms, lambda b, s, thr: np.array(nms_ok(b, s, thr), dtype=float), "float64")
    fails(checks.nms, lambda b, s, thr: nms_ok(b, s, thr) * 2, hint("ch07.hint_nms_duplicates"))
    fails(checks.nms, lambda b, s, thr: [i + 1 for i in nms_ok(b, s, thr)],
          t("ch07.indices_range", index=5, n=5, last=4))
    fails(checks.nms, lambda b, s, thr: None, "NoneType")
    fails(checks.nms, lambda b, s, thr: np.array([nms_ok(b, s, thr)]), "(1, 3)")


def test_nms_sorting_scores_in_place():
    def in_place(b, s, thr):
        keep = nms_ok(b, s, thr)
        s.sort()
        return keep

    fails(checks.nms, in_place, t("check.inputs_changed"))


# --------------------------------------------------------------------------- yolo_encode
def yolo_ok(boxes, labels, S, num_classes, img_size, swap=False, wh_cell=False, absolute=False,
            later_wins=False, int_cell=False, xy_order=False, wh_pixels=False):
    cell = img_size // S if int_cell else img_size / S
    out = np.zeros((S, S, 5 + num_classes))
    for (x1, y1, x2, y2), label in zip(boxes, labels):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        col, row = int(cx // cell), int(cy // cell)
        r, c = (col, row) if swap else (row, col)
        if out[r, c, 4] and not later_wins:
            continue
        x, y = (cx / img_size, cy / img_size) if absolute else (cx / cell - col, cy / cell - row)
        w, h = (x2 - x1) / img_size, (y2 - y1) / img_size
        if wh_cell:
            w, h = (x2 - x1) / cell, (y2 - y1) / cell
        if wh_pixels:
            w, h = x2 - x1, y2 - y1
        if xy_order:
            x, y = y, x
        out[r, c] = 0
        out[r, c, :5] = [x, y, w, h, 1]
        out[r, c, 5 + int(label)] = 1
    return out


def yolo_vectorised(boxes, labels, S, num_classes, img_size):
    out = np.zeros((S, S, 5 + num_classes), dtype=np.float32)
    cell = img_size / S
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    cols, rows = np.floor(centres / cell).astype(int).T
    cells = rows * S + cols
    _, first = np.unique(cells, return_index=True)  # the first box of every cell
    for k in first:
        out[rows[k], cols[k], :2] = centres[k] / cell - [cols[k], rows[k]]
        out[rows[k], cols[k], 2:4] = (boxes[k, 2:] - boxes[k, :2]) / img_size
        out[rows[k], cols[k], 4] = 1
        out[rows[k], cols[k], 5 + labels[k]] = 1
    return out


@pytest.mark.parametrize("answer", [
    yolo_ok,
    yolo_vectorised,
    lambda *args: torch.from_numpy(yolo_ok(*args)),
])
def test_yolo_correct(answer, capsys):
    passes(checks.yolo_encode, answer, capsys)


def test_yolo_row_column_swapped():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, swap=True), "worked example", hint("ch07.hint_yolo_swap"))


def test_yolo_xy_order():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, xy_order=True), hint("ch07.hint_yolo_xy_order"))


def test_yolo_wh_relative_to_cell():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_cell=True), "worked example", hint("ch07.hint_yolo_wh_cell"))


def test_yolo_wh_in_pixels():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_pixels=True), hint("ch07.hint_yolo_wh_pixels"))


def test_yolo_absolute_centre():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, absolute=True), "worked example", hint("ch07.hint_yolo_absolute"))

    def in_cell_units(boxes, labels, S, C, img_size):  # cx / cell without subtracting the column
        out = yolo_ok(boxes, labels, S, C, img_size)
        rows, cols = np.nonzero(out[..., 4])
        out[rows, cols, 0] += cols
        out[rows, cols, 1] += rows
        return out

    fails(checks.yolo_encode, in_cell_units, hint("ch07.hint_yolo_absolute"))


def test_yolo_integer_cell_size():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, int_cell=True), "not a multiple", hint("ch07.hint_yolo_int_cell"))


def test_yolo_later_box_wins():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, later_wins=True), "one cell", hint("ch07.hint_yolo_shared"))


def test_yolo_two_classes_in_one_cell():
    def merged(boxes, labels, S, C, img_size):  # keeps the first box but sets every class seen
        out = yolo_ok(boxes, labels, S, C, img_size)
        cell = img_size / S
        for (x1, y1, x2, y2), label in zip(boxes, labels):
            out[int((y1 + y2) / 2 // cell), int((x1 + x2) / 2 // cell), 5 + label] = 1
        return out

    fails(checks.yolo_encode, merged, "one cell", hint("ch07.hint_yolo_shared"))


def test_yolo_centre_on_border_rounded_down_wrongly():
    def ceil_minus_one(boxes, labels, S, C, img_size):
        cell = img_size / S
        out = np.zeros((S, S, 5 + C))
        for (x1, y1, x2, y2), label in zip(boxes, labels):
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            col, row = int(np.ceil(cx / cell)) - 1, int(np.ceil(cy / cell)) - 1
            out[row, col, :5] = [cx / cell - col, cy / cell - row, (x2 - x1) / img_size, (y2 - y1) / img_size, 1]
            out[row, col, 5 + label] = 1
        return out

    fails(checks.yolo_encode, ceil_minus_one, "borders", hint("ch07.hint_yolo_border"))


def test_yolo_shape_mistakes():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a).transpose(2, 0, 1), "(7, 7, 8)", hint("ch07.hint_yolo_shape", shape=(7, 7, 8)))
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a)[..., :-1], hint("ch07.hint_yolo_shape", shape=(7, 7, 8)))


def test_yolo_empty_boxes():
    def stacked(boxes, labels, S, C, img_size):
        centres = np.stack([(b[:2] + b[2:]) / 2 for b in boxes])  # ValueError for no boxes
        assert len(centres)
        return yolo_ok(boxes, labels, S, C, img_size)

    fails(checks.yolo_encode, stacked, "no boxes", "ValueError", hint("ch07.hint_yolo_empty"))


def test_yolo_bad_returns():
    def stub(*args):
        raise NotImplementedError

    fails(checks.yolo_encode, stub, t("check.stub"))
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a).tolist(), "list")
    with np.errstate(all="ignore"):
        fails(checks.yolo_encode, lambda *a: yolo_ok(*a) / 0.0, "NaN")


# --------------------------------------------------------------------------- average_precision
def ap_ok(pred_boxes, pred_scores, gt_boxes, iou_threshold, twice=False, envelope=True, points=101,
          all_point=False):
    if len(gt_boxes) == 0 or len(pred_boxes) == 0:
        return 0.0
    order = np.argsort(-np.asarray(pred_scores), kind="stable")
    matched = np.zeros(len(gt_boxes), dtype=bool)
    tp = []
    for k in order:
        ious = np.array([iou_ok(pred_boxes[k], g) for g in gt_boxes])
        if not twice:
            ious[matched] = -1
        j = int(np.argmax(ious))
        tp.append(ious[j] >= iou_threshold)
        if tp[-1]:
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
        values.append(precision[at[0]] if len(at) else 0.0)
    return float(np.mean(values))


def ap_with_torchvision(pred_boxes, pred_scores, gt_boxes, iou_threshold):
    """A different but correct style: torch, max over later precisions per recall point."""
    if len(gt_boxes) == 0 or len(pred_boxes) == 0:
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
    fails(checks.average_precision, lambda *a: ap_ok(*a, twice=True), "worked example", hint("ch07.hint_ap_twice"))


def test_ap_without_envelope():
    fails(checks.average_precision, lambda *a: ap_ok(*a, envelope=False), hint("ch07.hint_ap_envelope"))


def test_ap_eleven_points():
    fails(checks.average_precision, lambda *a: ap_ok(*a, points=11), "worked example", hint("ch07.hint_ap_11"))


def test_ap_all_point_voc():
    fails(checks.average_precision, lambda *a: ap_ok(*a, all_point=True), hint("ch07.hint_ap_all_point"))


def test_ap_not_sorted_by_score():
    def unsorted(p, s, g, thr):
        return ap_ok(p, np.arange(len(s))[::-1].astype(float), g, thr)  # as if listed in score order

    fails(checks.average_precision, unsorted, "shuffled", hint("ch07.hint_ap_unsorted"))


def test_ap_strict_threshold():
    def strict(p, s, g, thr):
        return ap_ok(p, s, g, thr + 1e-9)

    fails(checks.average_precision, strict, "exactly 0.5", hint("ch07.hint_ap_strict"))


def test_ap_voc_style_matching():
    def voc(p, s, g, thr):
        if len(g) == 0 or len(p) == 0:
            return 0.0
        matched = np.zeros(len(g), dtype=bool)
        hits = []
        for k in np.argsort(-s, kind="stable"):
            ious = np.array([iou_ok(p[k], box) for box in g])
            j = int(np.argmax(ious))
            hits.append(ious[j] >= thr and not matched[j])
            matched[j] |= hits[-1]
        return _coco101_from_hits(np.array(hits), len(g))

    fails(checks.average_precision, voc, "best GT is taken", hint("ch07.hint_ap_voc_match"))


def _coco101_from_hits(hits, n_gt):
    """COCO 101-point AP of a hit list, written out here: a student's answer may not call the checks' own code."""
    if n_gt == 0 or len(hits) == 0:
        return 0.0
    tp = np.cumsum(hits)
    recall, precision = tp / n_gt, tp / np.arange(1, len(hits) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.where(idx < len(hits), precision[np.minimum(idx, len(hits) - 1)], 0.0).mean())


def test_ap_no_ground_truth_nan():
    def divides(p, s, g, thr):
        with np.errstate(all="ignore"):
            if len(p) == 0:
                return 0.0
            return ap_ok(p, s, g, thr) if len(g) else np.float64(0.0) / np.float64(len(g))

    fails(checks.average_precision, divides, "no ground truth", "NaN", hint("ch07.hint_ap_no_gt"))


def test_ap_no_predictions_raise():
    def crashes(p, s, g, thr):
        first = np.argsort(-s)[0]  # IndexError when there are no predictions
        return ap_ok(p, s, g, thr) + 0 * first

    fails(checks.average_precision, crashes, "no predictions", "IndexError", hint("ch07.hint_ap_no_pred"))


def test_ap_bad_returns():
    def stub(*args):
        raise NotImplementedError

    fails(checks.average_precision, stub, t("check.stub"))
    fails(checks.average_precision, lambda *a: [ap_ok(*a)], "list")
    fails(checks.average_precision, lambda *a: np.full(101, ap_ok(*a)), "(101,)")
    fails(checks.average_precision, lambda *a: "0.5", "str")


# --------------------------------------------------------------------------- the AP reference itself
A, B, C = [0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30]
ref = ch07._average_precision_ref


def boxes(*rows):
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def test_reference_all_correct_is_one():
    assert ref(boxes(A, B, C), np.array([0.9, 0.8, 0.7]), boxes(A, B, C), 0.5) == 1.0


def test_reference_no_predictions_is_zero():
    assert ref(boxes(), np.zeros(0), boxes(A, B), 0.5) == 0.0


def test_reference_no_ground_truth_is_zero():
    assert ref(boxes(A), np.array([0.9]), boxes(), 0.5) == 0.0
    assert ref(boxes(), np.zeros(0), boxes(), 0.5) == 0.0


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
    name, preds, scores, gt, thr, _ = ch07._ap_cases()[0]
    assert ref(preds, scores, gt, thr) == pytest.approx(56 / 101)


def test_reference_interpolation_variants():
    hits = np.array([True, False, True])  # the duplicate example above, 2 GT
    assert ch07._ap_from_hits(hits, 2, "voc11") == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert ch07._ap_from_hits(hits, 2, "all_point") == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    hits = np.array([False, True, True])  # FP first: raw precision 0, 1/2, 2/3
    assert ch07._ap_from_hits(hits, 2, "raw") == pytest.approx((0 + 50 * 0.5 + 50 * 2 / 3) / 101)


def test_every_check_is_exported():
    for name in ["iou", "box_iou", "nms", "yolo_encode", "average_precision"]:
        assert name in checks.names()


def test_nms_that_drops_low_scores_after_suppressing_fails():
    import torchvision

    def drops_low(boxes, scores, iou_threshold):
        keep = torchvision.ops.nms(torch.as_tensor(boxes, dtype=torch.float64),
                                   torch.as_tensor(scores, dtype=torch.float64), iou_threshold).numpy()
        return keep[np.asarray(scores)[keep] >= 0.05]

    with pytest.raises(checks.ExerciseFailed):
        checks.nms(drops_low)
