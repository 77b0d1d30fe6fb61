"""Chapter 07, the YOLO target: correct code passes; each typical mistake fails with its hint, in both languages."""
import numpy as np
import pytest
import torch

from course_utils import checks
from course_utils.checks import core
from course_utils.i18n import t
from tests.check_helpers import hint
from tests.test_checks_ch07 import case, fails, passes, raised

pytestmark = pytest.mark.usefixtures("each_language")


# --------------------------------------------------------------------------- yolo_encode
def yolo_ok(boxes, labels, S, num_classes, img_size, swap=False, wh_cell=False, absolute=False,
            later_wins=False, int_cell=False, xy_order=False, wh_pixels=False, sqrt_wh=False, layout="box_conf_classes"):
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
        if sqrt_wh:
            w, h = np.sqrt(w), np.sqrt(h)
        if xy_order:
            x, y = y, x
        classes = np.eye(num_classes)[int(label)]
        parts = {"box_conf_classes": ([x, y, w, h], [1], classes), "conf_box_classes": ([1], [x, y, w, h], classes),
                 "box_classes_conf": ([x, y, w, h], classes, [1]), "classes_box_conf": (classes, [x, y, w, h], [1])}
        out[r, c] = np.concatenate(parts[layout])
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
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, swap=True), case("ch07.case.yolo_worked"), hint("ch07.hint_yolo_swap"))


def test_yolo_xy_order():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, xy_order=True), hint("ch07.hint_yolo_xy_order"))


def test_yolo_wh_relative_to_cell():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_cell=True), case("ch07.case.yolo_worked"), hint("ch07.hint_yolo_wh_cell"))


def test_yolo_wh_in_pixels():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_pixels=True), hint("ch07.hint_yolo_wh_pixels"))


def test_yolo_absolute_centre():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, absolute=True), case("ch07.case.yolo_worked"), hint("ch07.hint_yolo_absolute"))

    def in_cell_units(boxes, labels, S, C, img_size):  # cx / cell without subtracting the column
        out = yolo_ok(boxes, labels, S, C, img_size)
        rows, cols = np.nonzero(out[..., 4])
        out[rows, cols, 0] += cols
        out[rows, cols, 1] += rows
        return out

    fails(checks.yolo_encode, in_cell_units, hint("ch07.hint_yolo_absolute"))


def test_yolo_integer_cell_size():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, int_cell=True), case("ch07.case.yolo_not_multiple"), hint("ch07.hint_yolo_int_cell"))


def test_yolo_later_box_wins():
    message = fails(checks.yolo_encode, lambda *a: yolo_ok(*a, later_wins=True), case("ch07.case.yolo_shared"),
                    hint("ch07.hint_yolo_shared"))
    assert message.count(t("ch07.hint_yolo_shared")) == 1, message  # the case's own hint, said once


def test_yolo_two_classes_in_one_cell():
    def merged(boxes, labels, S, C, img_size):  # keeps the first box but sets every class seen
        out = yolo_ok(boxes, labels, S, C, img_size)
        cell = img_size / S
        for (x1, y1, x2, y2), label in zip(boxes, labels):
            out[int((y1 + y2) / 2 // cell), int((x1 + x2) / 2 // cell), 5 + label] = 1
        return out

    fails(checks.yolo_encode, merged, case("ch07.case.yolo_shared"), hint("ch07.hint_yolo_shared"))


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

    fails(checks.yolo_encode, ceil_minus_one, case("ch07.case.yolo_border"), hint("ch07.hint_yolo_border"))


def test_yolo_shape_mistakes():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a).transpose(2, 0, 1), t("check.shape", expected=(7, 7, 8), got=(8, 7, 7)),
          hint("ch07.hint_yolo_shape", shape=(7, 7, 8)))
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a)[..., :-1], hint("ch07.hint_yolo_shape", shape=(7, 7, 8)))


def test_yolo_empty_boxes():
    def stacked(boxes, labels, S, C, img_size):
        centres = np.stack([(b[:2] + b[2:]) / 2 for b in boxes])  # ValueError for no boxes
        assert len(centres)
        return yolo_ok(boxes, labels, S, C, img_size)

    fails(checks.yolo_encode, stacked, case("ch07.case.yolo_none"), raised("ValueError"), hint("ch07.hint_yolo_empty"))


def test_yolo_bad_returns():
    def stub(*args):
        raise NotImplementedError

    fails(checks.yolo_encode, stub, t("check.stub"))
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a).tolist(), t("check.type", expected="ndarray (7, 7, 8)", got="list"))
    with np.errstate(all="ignore"):
        fails(checks.yolo_encode, lambda *a: yolo_ok(*a) / 0.0, hint("check.nan"))


def test_yolo_square_roots_of_w_and_h():
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, sqrt_wh=True), case("ch07.case.yolo_worked"),
          hint("ch07.hint_yolo_sqrt"))


@pytest.mark.parametrize("layout", ["conf_box_classes", "box_classes_conf", "classes_box_conf"])
def test_yolo_confidence_and_classes_out_of_order(layout):
    fails(checks.yolo_encode, lambda *a: yolo_ok(*a, layout=layout), case("ch07.case.yolo_worked"),
          hint("ch07.hint_yolo_layout"))


def test_yolo_target_in_the_network_layout():
    def two_boxes(boxes, labels, S, C, img_size):  # 5B + C numbers per cell, as the network outputs
        one = yolo_ok(boxes, labels, S, C, img_size)
        return np.concatenate([one[..., :5], np.zeros((S, S, 5)), one[..., 5:]], axis=-1)

    fails(checks.yolo_encode, two_boxes, t("check.shape", expected=(7, 7, 8), got=(7, 7, 13)),
          hint("ch07.hint_yolo_5b", shape=(7, 7, 8)))


def test_yolo_formula_only_on_a_repeated_failure():
    core._failed_cases.clear()
    first = fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_cell=True), hint("ch07.hint_yolo_wh_cell"))
    second = fails(checks.yolo_encode, lambda *a: yolo_ok(*a, wh_cell=True), hint("ch07.hint_yolo_wh_cell"))
    assert t("ch07.formula_yolo_wh") not in first and t("ch07.formula_yolo_wh") in second
    core._failed_cases.clear()
