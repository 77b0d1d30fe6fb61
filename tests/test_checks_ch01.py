"""Chapter 01 checks: right answers pass, typical wrong answers fail with a useful message."""
import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import i18n
from course_utils.checks import ExerciseFailed, core


@pytest.fixture(autouse=True, params=["en", "ja"])
def language(request):
    old = i18n.language()
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(old)


def failure(check, *funcs) -> str:
    with pytest.raises(ExerciseFailed) as info:
        check(*funcs)
    return str(info.value)


# --- perceptron ---------------------------------------------------------------------------

def good(x, w, th):
    return int(np.dot(x, w) >= th)


@pytest.mark.parametrize("answer", [
    good,
    lambda x, w, th: np.dot(x, w) >= th,                      # numpy bool
    lambda x, w, th: float(np.dot(x, w) >= th),               # 0.0 / 1.0
    lambda x, w, th: 1 if sum(xi * wi for xi, wi in zip(x, w)) >= th else 0,
    lambda x, w, th: (torch.as_tensor(x) @ torch.as_tensor(w) >= th).int(),  # 0-d tensor
    lambda x, w, th: np.array([int(x @ w >= th)]),            # one-element array
])
def test_perceptron_correct_answers_pass(answer, capsys):
    cu.checks.perceptron(answer)
    assert "perceptron" in capsys.readouterr().out


def test_perceptron_strict_greater_is_caught(language):
    msg = failure(cu.checks.perceptron, lambda x, w, th: int(np.dot(x, w) > th))
    assert ">=" in msg
    assert "x·w" in msg  # names the at-threshold case
    if language == "en":
        assert "instead of >=" in msg


def test_perceptron_wrong_on_source_example(language):
    msg = failure(cu.checks.perceptron, lambda x, w, th: int(np.dot(x, w) <= th))
    assert "A=5" in msg and "2.5" in msg


def test_perceptron_always_one_fails_on_source_example():
    msg = failure(cu.checks.perceptron, lambda x, w, th: 1)
    assert "A=5" in msg


def test_perceptron_returning_the_sum(language):
    msg = failure(cu.checks.perceptron, lambda x, w, th: float(np.dot(x, w)))
    assert "2.5" in msg
    assert ("sum X" in msg) if language == "en" else ("合計" in msg)


def test_perceptron_returning_an_array(language):
    msg = failure(cu.checks.perceptron, lambda x, w, th: (x * w >= th).astype(int))
    assert "shape" in msg


def test_perceptron_returning_none(language):
    def no_return(x, w, th):
        int(np.dot(x, w) >= th)

    msg = failure(cu.checks.perceptron, no_return)
    assert "None" in msg and "return" in msg


def test_perceptron_returning_other_numbers():
    msg = failure(cu.checks.perceptron, lambda x, w, th: 2 * int(np.dot(x, w) >= th) - 1)  # -1 / +1
    assert "-1" in msg


def test_perceptron_returning_a_string():
    msg = failure(cu.checks.perceptron, lambda x, w, th: "1" if np.dot(x, w) >= th else "0")
    assert "str" in msg


def test_perceptron_ignoring_weights_is_caught():
    msg = failure(cu.checks.perceptron, lambda x, w, th: int(np.sum(x) >= th))
    assert "th" in msg


def test_perceptron_ignoring_threshold_is_caught():
    failure(cu.checks.perceptron, lambda x, w, th: int(np.dot(x, w) >= 0))


def test_perceptron_stub_and_exception():
    def stub(x, w, th):
        raise NotImplementedError("write it")

    assert "NotImplementedError" in failure(cu.checks.perceptron, stub)
    assert "ZeroDivisionError" in failure(cu.checks.perceptron, lambda x, w, th: 1 / 0)


def test_perceptron_modifying_inputs_is_caught():
    def in_place(x, w, th):
        x *= w
        return int(x.sum() >= th)

    failure(cu.checks.perceptron, in_place)


def test_perceptron_not_callable():
    assert "perceptron" in failure(cu.checks.perceptron, 3)


# --- logic gates --------------------------------------------------------------------------

def step(x1, x2, w1, w2, th):
    return int(x1 * w1 + x2 * w2 >= th)


def AND(x1, x2):
    return step(x1, x2, 0.5, 0.5, 0.7)


def OR(x1, x2):
    return step(x1, x2, 0.5, 0.5, 0.2)


def NAND(x1, x2):
    return step(x1, x2, -0.5, -0.5, -0.7)


def XOR(x1, x2):
    return AND(NAND(x1, x2), OR(x1, x2))


def test_logic_gates_correct_pass(capsys):
    cu.checks.logic_gates(AND, OR, NAND, XOR)
    assert "logic_gates" in capsys.readouterr().out


def test_logic_gates_bool_outputs_pass():
    cu.checks.logic_gates(lambda a, b: bool(a and b), lambda a, b: bool(a or b),
                          lambda a, b: not (a and b), lambda a, b: a != b)


def test_xor_single_perceptron_gets_the_combining_hint(language):
    msg = failure(cu.checks.logic_gates, AND, OR, NAND, lambda a, b: step(a, b, 0.5, 0.5, 0.2))  # = OR
    assert "XOR(1, 1)" in msg
    assert ("NAND" in msg and "OR" in msg and "AND" in msg)
    assert ("Combine" in msg) if language == "en" else ("組み合わせ" in msg)


def test_xor_wiring_is_shown_only_when_the_same_case_fails_again():
    core._failed_cases.clear()
    as_or = (AND, OR, NAND, lambda a, b: step(a, b, 0.5, 0.5, 0.2))
    first, again = failure(cu.checks.logic_gates, *as_or), failure(cu.checks.logic_gates, *as_or)
    recipe = i18n.t("ch01.hint.xor_recipe").strip()
    assert i18n.t("ch01.hint.xor").strip() in first and recipe not in first
    assert recipe in again


def test_xor_always_zero_hint():
    msg = failure(cu.checks.logic_gates, AND, OR, NAND, lambda a, b: 0)
    assert "XOR(0, 1)" in msg and "NAND" in msg


def test_and_with_strict_greater_is_caught(language):
    msg = failure(cu.checks.logic_gates, lambda a, b: int(0.5 * a + 0.5 * b > 1.0), OR, NAND, XOR)
    assert "AND(1, 1)" in msg and ">=" in msg


def test_wrong_or_is_caught():
    msg = failure(cu.checks.logic_gates, AND, AND, NAND, XOR)
    assert "OR(0, 1)" in msg


def test_nand_equal_to_and_gets_the_flip_hint(language):
    msg = failure(cu.checks.logic_gates, AND, OR, AND, XOR)
    assert "NAND(0, 0)" in msg
    assert "NOT AND" in msg


def test_truth_table_is_shown():
    msg = failure(cu.checks.logic_gates, AND, OR, OR, XOR)
    assert "(1,1)→1" in msg and "(1,1)→0" in msg


def test_gate_returning_none_or_two():
    def no_return(a, b):
        a and b

    assert "None" in failure(cu.checks.logic_gates, no_return, OR, NAND, XOR)
    assert "2" in failure(cu.checks.logic_gates, AND, lambda a, b: a + b, NAND, XOR)


def test_gate_stubs_and_missing_functions():
    def stub(a, b):
        raise NotImplementedError

    assert "NotImplementedError" in failure(cu.checks.logic_gates, stub, stub, stub, stub)
    assert "XOR" in failure(cu.checks.logic_gates, AND, OR, NAND, None)
