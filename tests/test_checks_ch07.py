"""Chapter 07 checks, IoU and pairwise IoU: correct code passes; each typical mistake fails with its hint,
in both languages; every case name and message is in one language only.

The other chapter-07 checks are tested in test_checks_ch07_nms.py, _yolo.py and _ap.py, which share the
helpers and the reference answers of this module.
"""
import gc
import re

import numpy as np
import pytest
import torch
import torchvision

from course_utils import checks
from course_utils.checks import ch07_ap, ch07_iou, ch07_nms, ch07_yolo, core
from course_utils.i18n import set_language, t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")

JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def fails(check, func, *fragments):
    return assert_fails(lambda: check(func), fragments)


def passes(check, func, capsys):
    check(func)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and check.__name__ in out[0] and out[0].startswith("✓"), out


def case(key, **values):
    """A case's name as a failure shows it, in the current language."""
    return t(key, **values)


def raised(etype):
    """The start of the message for an exception the student's code raised."""
    return t("check.raised", etype=etype, message="")


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
    fails(checks.iou, lambda a, b: iou_variant(a, b, clamp=False), case("ch07.case.iou_side"), hint("ch07.hint_no_clamp"))
    fails(checks.iou, lambda a, b: iou_variant(a, b, clamp=False, clamp_product=True), case("ch07.case.iou_diagonal"),
          hint("ch07.hint_no_clamp"))


def test_iou_plus_one_pixel():
    fails(checks.iou, lambda a, b: iou_variant(a, b, one=1.0), case("ch07.case.iou_worked"), hint("ch07.hint_plus_one"))


def test_iou_union_without_subtracting():
    fails(checks.iou, lambda a, b: iou_variant(a, b, subtract=False), case("ch07.case.iou_worked"), hint("ch07.hint_no_subtract"))


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

    fails(checks.iou, array_only, case("ch07.case.iou_lists"), raised("TypeError"), hint("ch07.hint_lists"))


def test_iou_bad_returns():
    def stub(a, b):
        raise NotImplementedError

    fails(checks.iou, stub, t("check.stub"))
    fails(checks.iou, lambda a, b: 1 / 0, raised("ZeroDivisionError"))
    fails(checks.iou, lambda a, b: [iou_ok(a, b)], hint("check.not_number"), "list [")
    fails(checks.iou, lambda a, b: np.array([iou_ok(a, b)]), t("check.not_number", got="numpy.ndarray float64 (1,)"))
    fails(checks.iou, lambda a, b: None, t("check.type", expected="number", got="NoneType"))
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
    fails(checks.box_iou, lambda a, b: box_iou_ok(b, a), case("ch07.case.box_iou_3x2"),
          t("check.shape", expected=(3, 2), got=(2, 3)), hint("ch07.hint_transposed"))

    def square_only(a, b):  # the right shape whenever N == M, but the values transposed
        return box_iou_ok(a, b).T if len(a) == len(b) else box_iou_ok(a, b)

    fails(checks.box_iou, square_only, case("ch07.case.box_iou_square"), hint("ch07.hint_transposed"))


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

    fails(checks.box_iou, pairs, case("ch07.case.box_iou_worked"), t("check.shape", expected=(1, 1), got=(1,)),
          hint("ch07.hint_broadcast"))

    def pairs_2d(a, b):  # the same, kept 2-D: breaks as soon as N != M
        return pairs(a, b)[:, None] if len(a) == len(b) else pairs(a, b)

    fails(checks.box_iou, pairs_2d, case("ch07.case.box_iou_3x2"), raised("ValueError"), hint("ch07.hint_broadcast"))


def test_box_iou_empty_inputs():
    def comprehension(a, b):
        return np.array([[iou_ok(x, y) for y in b] for x in a])

    fails(checks.box_iou, comprehension, case("ch07.case.box_iou_a_empty"), t("check.shape", expected=(0, 3), got=(0,)),
          hint("ch07.hint_box_iou_empty"))


def test_box_iou_bad_returns():
    fails(checks.box_iou, lambda a, b: box_iou_ok(a, b).tolist(), t("check.type", expected="ndarray (1, 1)", got="list"))
    fails(checks.box_iou, lambda a, b: box_iou_ok(a, b) * np.nan, hint("check.nan", count=1, index=(0, 0)))

    def stub(a, b):
        raise NotImplementedError("TODO")

    fails(checks.box_iou, stub, t("check.stub"))


def overlap(a, b):
    """The intersection and the two areas of two xyxy boxes."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h, (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])


def dice(a, b):
    inter, area_a, area_b = overlap(a, b)
    return 2 * inter / (area_a + area_b)


def giou(a, b):
    inter, area_a, area_b = overlap(a, b)
    union = area_a + area_b - inter
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def pairwise(pair):
    """A box_iou answer built from an answer for one pair."""
    return lambda a, b: np.array([[pair(x, y) for y in b] for x in a]).reshape(len(a), len(b))


def test_iou_computed_as_dice():
    fails(checks.iou, dice, case("ch07.case.iou_worked"), hint("ch07.hint_dice"))
    fails(checks.box_iou, pairwise(dice), case("ch07.case.box_iou_worked"), hint("ch07.hint_dice"))


def test_iou_computed_as_giou():
    fails(checks.iou, giou, case("ch07.case.iou_worked"), hint("ch07.hint_giou"))
    fails(checks.box_iou, pairwise(giou), case("ch07.case.box_iou_worked"), hint("ch07.hint_giou"))


def test_iou_formula_only_on_a_repeated_failure():
    core._failed_cases.clear()
    first = fails(checks.iou, dice, hint("ch07.hint_dice"))
    second = fails(checks.iou, dice, hint("ch07.hint_dice"))
    assert t("ch07.formula_iou") not in first and t("ch07.formula_iou") in second
    core._failed_cases.clear()


# --------------------------------------------------------------------------- one language per message
def _all_cases():
    """Every case of the five chapter-07 checks (name keys and values)."""
    return (ch07_iou._iou_cases() + ch07_iou._box_iou_cases() + ch07_nms._nms_cases() + ch07_yolo._yolo_cases()
            + ch07_ap._ap_cases())


def test_every_case_name_is_in_one_language():
    before = t("ch07.case.iou_worked")
    try:
        for c in _all_cases():
            set_language("en")
            en = c.title
            set_language("ja")
            ja = c.title
            assert not JAPANESE.search(en), en
            assert JAPANESE.search(ja), ja
            assert en not in ja and ja not in en
        set_language("ja")
        assert "worked example" not in t("ch07.case.iou_lists")
    finally:
        set_language("ja" if JAPANESE.search(before) else "en")


def test_every_chapter_07_message_is_in_its_language():
    from course_utils import i18n

    keys = [k for k in i18n.keys() if k.startswith("ch07.")]
    assert len(keys) > 80
    for key in keys:
        en, ja = i18n.text_in("en", key), i18n.text_in("ja", key)
        assert not JAPANESE.search(en), (key, en)
        assert JAPANESE.search(ja), (key, ja)


WRONG = [
    (checks.iou, lambda a, b: 0.5),
    (checks.box_iou, lambda a, b: np.zeros((len(b), len(a)))),
    (checks.nms, lambda b, s, thr: list(range(len(b)))),
    (checks.yolo_encode, lambda boxes, labels, S, C, img: np.ones((S, S, 5 + C))),
    (checks.average_precision, lambda p, s, g, thr: 0.5),
]


@pytest.mark.parametrize("check,answer", WRONG, ids=[c.__name__ for c, _ in WRONG])
def test_failure_message_is_in_one_language(check, answer, each_language):
    message = assert_fails(lambda: check(answer))
    if each_language == "en":
        assert not JAPANESE.search(message), message
    else:
        assert "worked example" not in message and "Hint:" not in message and "Wrong" not in message, message
        assert JAPANESE.search(message.splitlines()[0]), message


def test_every_check_is_exported():
    for name in ["iou", "box_iou", "nms", "yolo_encode", "average_precision"]:
        assert name in checks.names()
        assert getattr(checks, name).__module__.startswith("course_utils.checks.ch07_")


def test_as_number_refuses_what_is_not_one_number():
    assert core.as_number(np.float32(0.25)) == 0.25 and core.as_number(torch.tensor(1.5)).shape == ()
    with pytest.raises(core.Failure, match=re.escape(t("check.not_number", got="list [1.0]"))):
        core.as_number([1.0])
    with pytest.raises(core.Failure):
        core.as_number(np.zeros(3))


def fail_and_keep(check, answer):
    """Fail ``check`` and leave the failure in a reference cycle, for the garbage collector to free later."""
    try:
        check(answer)
    except checks.ExerciseFailed as failure:
        kept = failure  # the traceback holds this frame, the frame holds the failure
        return kept is not None
    return False


def test_a_failure_freed_later_is_no_call_into_the_checks(capsys):
    # compare() leaves its generator of mistakes suspended; closed by the garbage collector inside a later
    # student's call, it would count as a call into the checks (run_detection_cases clears a failure's frames)
    from tests.test_checks_ch07_ap import ap_ok
    from tests.test_checks_ch07_nms import nms_ok, nms_variant
    from tests.test_checks_ch07_yolo import yolo_ok

    def collecting(right):
        calls = []

        def answer(*args):
            if not calls:  # once: it is slow
                gc.collect()
            calls.append(1)
            return right(*args)
        return answer

    mistakes = [(checks.iou, dice, iou_ok), (checks.box_iou, lambda a, b: box_iou_ok(b, a), box_iou_ok),
                (checks.nms, lambda b, s, thr: nms_variant(b, s, thr, ascending=True), nms_ok),
                (checks.yolo_encode, lambda *a: yolo_ok(*a, swap=True), yolo_ok),
                (checks.average_precision, lambda *a: ap_ok(*a, twice=True), ap_ok)]
    gc.collect()
    gc.disable()
    try:
        for check, wrong, right in mistakes:
            assert fail_and_keep(check, wrong)
            passes(check, collecting(right), capsys)
    finally:
        gc.enable()
