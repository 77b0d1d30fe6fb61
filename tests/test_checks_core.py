"""The machinery every exercise check is built from, and the chapter 00 warm-up check."""
import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import i18n
from course_utils.checks import core
from course_utils.checks.core import Check, ExerciseFailed, assert_close, call, call_unchanged
from tests.check_helpers import assert_fails, hint


pytestmark = pytest.mark.usefixtures("each_language")


def failure_of(body):
    with pytest.raises(ExerciseFailed) as info:
        with Check("demo") as c:
            c.case("case one")
            body()
    message = str(info.value)
    assert "demo" in message and "case one" in message
    return message


def test_success_prints_one_line(capsys):
    with Check("demo") as c:
        c.case("a")
        assert_close(np.ones(3), np.ones(3))
    assert capsys.readouterr().out.strip() == i18n.t("check.passed", name="demo", n=1)


def test_stub_says_not_implemented():
    def stub(x):
        raise NotImplementedError("hint")

    assert hint("check.stub") in failure_of(lambda: call(stub, 1))


def test_exception_in_student_code_is_reported_without_our_traceback():
    def buggy(x):
        return x / "a"

    with pytest.raises(ExerciseFailed) as info:
        with Check("demo") as c:
            c.case("c")
            call(buggy, 1)
    assert "TypeError" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_type_shape_nan_value_dtype():
    assert hint("check.type") in failure_of(lambda: assert_close("abc", np.ones(2)))
    assert hint("check.type") in failure_of(lambda: assert_close([1.0, 1.0], np.ones(2)))
    assert hint("check.shape") in failure_of(lambda: assert_close(np.ones(3), np.ones(2)))
    assert hint("check.nan") in failure_of(lambda: assert_close(np.array([1.0, np.nan]), np.ones(2)))
    message = failure_of(lambda: assert_close(np.array([1.0, 2.5]), np.array([1.0, 2.0])))
    assert i18n.t("check.value", count=1, total=2, index=(1,), expected="2", got="2.5", rtol=1e-05, atol=1e-08) in message
    assert hint("check.dtype") in failure_of(
        lambda: assert_close(np.array([1, 2]), np.array([1.0, 2.0]), check_dtype="float"))
    assert i18n.t("check.scalar", expected="2", got="3") in failure_of(lambda: assert_close(3.0, 2.0))
    assert hint("check.dtype") in failure_of(lambda: assert_close(np.array(["a", "b"]), np.ones(2)))


def test_tensors_and_numbers_accepted():
    assert_close(torch.ones(2, requires_grad=True) * 1, np.ones(2))
    assert_close(np.float32(2.0), 2.0)
    assert_close(2, 2.0)


def test_call_unchanged_catches_modified_input():
    def in_place(x):
        x += 1
        return x

    assert i18n.t("check.inputs_changed") in failure_of(lambda: call_unchanged(in_place, np.zeros(3)))


def test_expect_and_expect_equal():
    assert "custom hint" in failure_of(lambda: core.expect(False, "custom hint"))
    assert i18n.t("check.scalar", expected="1", got="0") in failure_of(lambda: core.expect_equal(0, 1))


def test_a_bug_in_a_check_is_not_blamed_on_the_student():
    with pytest.raises(ZeroDivisionError):
        with Check("demo"):
            1 / 0


class TestNormalizeImage:
    """Chapter 00's warm-up check, in both languages, asserting message keys."""

    def test_correct_answers_pass(self, capsys):
        cu.checks.normalize_image(lambda img: img / 255.0)
        cu.checks.normalize_image(lambda img: img.astype(np.float32) / 255)
        assert capsys.readouterr().out.splitlines()[-1] == i18n.t("check.passed", name="normalize_image", n=4)

    @pytest.mark.parametrize("wrong, keys", [
        (lambda img: img, [("ch00.range", {})]),
        (lambda img: img / 256.0, [("check.value", {}), ("ch00.hint.256", {})]),
        (lambda img: (img / 255).astype(np.uint8), [("check.dtype", {"expected": "float", "got": "uint8"})]),
        (lambda img: img > 127, [("check.dtype", {"expected": "float", "got": "bool"})]),
        (lambda img: img.ravel() / 255.0, [("check.shape", {})]),
        (lambda img: (img - img.min()) / (img.max() - img.min()), [("ch00.case.rgb", {}), ("ch00.hint.minmax", {})]),
        (lambda img: None, [("check.type", {})]),
        (lambda img: [[0.0]], [("check.type", {})]),
    ])
    def test_wrong_answers_fail_clearly(self, wrong, keys):
        assert_fails(lambda: cu.checks.normalize_image(wrong), [hint(key, **values) for key, values in keys])

    def test_in_place_division_is_caught(self):
        def in_place(img):
            img //= 255
            return img.astype(float)

        assert_fails(lambda: cu.checks.normalize_image(in_place), [i18n.t("check.inputs_changed")])


def test_hint_adds_to_any_failure_and_failure_text_reports():
    message = failure_of(lambda: _with_hint())
    assert hint("check.shape") in message and "did you transpose?" in message
    assert core.failure_text(assert_close, np.ones(2), np.ones(2)) is None
    assert hint("check.shape") in core.failure_text(assert_close, np.ones(3), np.ones(2))


def _with_hint():
    with core.hint("did you transpose?"):
        assert_close(np.ones((2, 3)), np.ones((3, 2)))


def test_on_error_hint_only_when_the_student_code_raises():
    def raises(x):
        raise ValueError("shapes (2,3) and (2,3) not aligned")

    message = failure_of(lambda: call(raises, 1, on_error="check the axis order"))
    assert "ValueError" in message and "check the axis order" in message

    def stub(x):
        raise NotImplementedError

    assert "axis order" not in failure_of(lambda: call(stub, 1, on_error="check the axis order"))


def test_assert_close_or_explain_names_the_mistake_the_answer_equals():
    explain = core.assert_close_or_explain
    suspects = [(None, "not applicable"), (2.0, "the right value here"), (4.0, "summed, not averaged")]
    with Check("demo") as c:
        c.case("right")
        explain(2.0, 2.0, suspects)  # passes, no hint
    message = failure_of(lambda: explain(4.0, 2.0, suspects))
    assert i18n.t("check.scalar", expected="2", got="4") in message and "summed, not averaged" in message
    assert "right value here" not in message and "not applicable" not in message
    message = failure_of(lambda: explain(5.0, 2.0, suspects, unexplained="read the formula again"))
    assert "read the formula again" in message and "summed" not in message
    message = failure_of(lambda: explain(np.nan, 2.0, [(np.nan, "a suspect")], nonfinite="overflow: subtract the max"))
    assert "overflow: subtract the max" in message and "a suspect" not in message
    message = failure_of(lambda: explain(np.array([1.0, 3.0]), np.array([1.0, 2.0]), [(np.array([[1.0, 3.0]]), "2-D")]))
    assert "2-D" not in message  # a suspect of another shape never matches


# --- what a student sees, fair play ------------------------------------------------------------

def test_failure_renders_its_message_alone_in_ipython():
    with pytest.raises(ExerciseFailed) as info:
        with Check("demo") as c:
            c.case("one")
            core.fail("the reason")
    lines = info.value._render_traceback_()
    assert lines == str(info.value).splitlines() and lines[-1] == "the reason"
    assert not any("Traceback" in line or "File " in line for line in lines)


def test_a_real_bug_inside_a_check_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError) as info:
        with Check("demo") as c:
            c.case("one")
            1 / 0
    assert not hasattr(info.value, "_render_traceback_")
    assert core.OUTCOMES[-1].check == "demo" and not core.OUTCOMES[-1].passed


def test_stub_message_names_what_the_release_shows():
    from course_utils.release import strip_solutions

    released = strip_solutions("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n", i18n.language())
    todo = released.splitlines()[1].strip()
    with pytest.raises(ExerciseFailed) as info:
        with Check("demo") as c:
            c.case("case one")
            call(lambda: (_ for _ in ()).throw(NotImplementedError("x")))
    message = str(info.value)
    assert todo in message and "BEGIN SOLUTION" not in message
    assert "raise NotImplementedError" in message


def test_calling_the_course_reference_is_refused():
    def answer(x):
        return cu.checks.ch02._torch("softmax", x)

    message = failure_of(lambda: call(answer, np.ones(3)))
    assert i18n.t("check.reference", where="course_utils.checks.ch02._torch") in message


def test_library_op_of_a_by_hand_exercise_is_named(capsys):
    import torch.nn.functional as F

    with Check("conv2d") as c:
        c.case("a")
        call(lambda: F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)))
    out = capsys.readouterr().out
    assert "torch.nn.functional.conv2d" in out and core.OUTCOMES[-1].notes
    with Check("softmax") as c:  # another exercise: torch.conv2d is not its library op
        c.case("a")
        call(lambda: F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)))
    assert hint("check.library") not in capsys.readouterr().out


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.complex64, torch.bool, torch.uint8])
def test_tensors_of_any_dtype_give_a_clear_message(dtype):
    value = torch.ones(3, dtype=dtype)
    arr = core.to_numpy(value)
    assert arr.shape == (3,)
    if dtype is torch.bfloat16:
        assert arr.dtype == np.float64
    message = failure_of(lambda: assert_close(torch.zeros(2, dtype=dtype), np.ones(3)))
    assert hint("check.shape") in message


def test_float8_and_meta_tensors_give_a_clear_message():
    if hasattr(torch, "float8_e4m3fn"):
        assert core.to_numpy(torch.ones(2).to(torch.float8_e4m3fn)).tolist() == [1.0, 1.0]
    assert hint("check.type") in failure_of(lambda: assert_close(torch.ones(2, device="meta"), np.ones(2)))
    assert hint("check.dtype") in failure_of(lambda: assert_close(np.array(["a", "b"]), np.ones(2)))
