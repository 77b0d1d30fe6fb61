"""core's check API (Case, Mistake, compare, run_cases, as_array), on the small example of CONTRIBUTING.md."""
import numpy as np
import pytest

from course_utils.checks import core
from course_utils.checks.core import Case, Mistake, as_array, compare, run_cases
from course_utils.i18n import register, t
from tests.check_helpers import assert_fails

pytestmark = pytest.mark.usefixtures("each_language")

# The example check of CONTRIBUTING.md, written as a chapter would write it
register({
    "chNN.case.mixed": {"ja": "負・0・正が混ざった {n} 個", "en": "{n} mixed negative, zero and positive values"},
    "chNN.case.empty": {"ja": "空の配列", "en": "an empty array"},
    "chNN.hint.empty": {"ja": "ヒント: 空の入力には空の配列を返します。", "en": "Hint: an empty input gives an empty array."},
    "chNN.hint.abs": {"ja": "ヒント: 負の値を正にしています (絶対値)。負の値は 0 にします。",
                      "en": "Hint: negative values became positive (an absolute value); they become 0."},
    "chNN.formula.abs": {"ja": "式: max(x, 0)", "en": "Formula: max(x, 0)"},
    "chNN.hint.column": {"ja": "ヒント: 形が (N, 1) になっています。入力と同じ形 (N,) で返します。",
                         "en": "Hint: the result has shape (N, 1); return the input's shape (N,)."},
})
MISTAKES = [Mistake(np.abs, "chNN.hint.abs", formula="chNN.formula.abs"),
            Mistake(lambda x: np.maximum(x, 0)[:, None], "chNN.hint.column")]


def relu(func):
    cases = [Case("chNN.case.mixed", (np.array([-2.0, 0.0, 3.0]),), values={"n": 3}),
             Case("chNN.case.empty", (np.zeros(0),), hint="chNN.hint.empty")]
    run_cases("relu", func, cases, reference=lambda x: np.maximum(x, 0), mistakes=MISTAKES)


def test_a_right_answer_passes_with_one_line(capsys):
    relu(lambda x: np.where(x > 0, x, 0.0))
    assert capsys.readouterr().out.strip() == t("check.passed", name="relu", n=2)


def test_a_named_mistake_gets_its_hint_and_the_formula_only_when_the_case_fails_again():
    core._failed_cases.clear()
    first = assert_fails(lambda: relu(np.abs), [t("chNN.hint.abs"), t("chNN.case.mixed", n=3)])
    assert t("chNN.formula.abs") not in first
    assert_fails(lambda: relu(np.abs), [t("chNN.hint.abs"), t("chNN.formula.abs")])


def test_a_shape_mistake_is_named_like_a_value_mistake():
    assert_fails(lambda: relu(lambda x: np.maximum(x, 0)[:, None]), [t("chNN.hint.column")])


def test_a_case_hint_is_added_to_any_failure_of_that_case():
    def breaks_on_empty(x):
        return np.maximum(x, 0) if len(x) else np.zeros(1)

    assert_fails(lambda: relu(breaks_on_empty), [t("chNN.hint.empty"), t("chNN.case.empty")])


def test_an_unknown_wrong_answer_fails_without_a_mistake_hint():
    message = assert_fails(lambda: relu(lambda x: x + 1.0))
    assert t("chNN.hint.abs") not in message and t("chNN.hint.column") not in message


def test_the_reference_runs_after_the_call_and_a_changed_input_fails():
    def clobbers(x):
        x[:] = 0.0
        return x

    assert_fails(lambda: relu(clobbers), [t("check.inputs_changed")])


def test_not_callable_is_refused():
    assert_fails(lambda: relu(None), [t("check.not_callable", what="relu", got="NoneType")])


def test_a_mistake_equal_to_the_right_answer_is_not_named():
    # on [0, 3], |x| equals max(x, 0): a wrong answer there is not the absolute-value mistake
    with pytest.raises(core.Failure) as info:
        compare(np.array([1.0, 3.0]), np.array([0.0, 3.0]), MISTAKES, (np.array([0.0, 3.0]),))
    assert t("chNN.hint.abs") not in str(info.value)


@pytest.mark.parametrize("value, shape", [(np.ones((2, 3)), (3, 2)), ([1.0, 2.0], None), ("abc", None)])
def test_as_array_refuses_a_wrong_shape_and_what_is_not_an_array(value, shape):
    with pytest.raises(core.Failure):
        as_array(value, shape)


def test_as_array_accepts_arrays_and_tensors():
    import torch

    assert as_array(torch.ones(2, 3), (2, 3)).shape == (2, 3)
    assert as_array(np.float32(2.0)).shape == ()


def test_a_generator_of_the_checks_closed_by_the_garbage_collector_is_not_a_call_into_the_checks(capsys):
    # a suspended generator whose code lives in course_utils/checks, closed while the student's function runs
    import gc
    import os

    filename = os.path.join(os.path.dirname(core.__file__), "generated_for_a_test.py")
    namespace = {}
    exec(compile("def numbers():\n    yield 1\n    yield 2\n", filename, "exec"), namespace)
    pending = [namespace["numbers"]()]
    next(pending[0])

    def closes_it(x):
        pending.clear()
        gc.collect()
        return np.maximum(x, 0)

    relu(closes_it)
    assert t("check.passed", name="relu", n=2) in capsys.readouterr().out


def test_a_call_into_the_checks_is_still_refused():
    assert_fails(lambda: relu(lambda x: core.as_array(np.maximum(x, 0))), ["course_utils.checks."])


@pytest.mark.parametrize("value", [__import__("fractions").Fraction(1, 3), __import__("decimal").Decimal("0.3333333333")])
def test_exact_python_numbers_are_numbers(value):
    assert abs(float(core.as_number(value)) - 1 / 3) < 1e-9
