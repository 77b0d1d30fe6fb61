"""Chapter 01 checks: right answers pass, typical wrong answers fail with a useful message.

Every test runs in both languages and asserts message keys (t(key), check_helpers.hint(key)), not English text.
"""
import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils.checks import core
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


# --- perceptron ---------------------------------------------------------------------------

def good(x, w, th):
    return int(np.dot(x, w) >= th)


def perceptron_fails(answer, keys=()):
    return assert_fails(lambda: cu.checks.perceptron(answer), keys)


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
    assert capsys.readouterr().out.strip() == t("check.passed", name="perceptron", n=20)


def test_perceptron_strict_greater_is_caught():
    # names the at-threshold case and the >= rule
    perceptron_fails(lambda x, w, th: int(np.dot(x, w) > th), [hint("ch01.case.equal"), t("ch01.hint.equal")])


def test_perceptron_wrong_on_source_example():
    perceptron_fails(lambda x, w, th: int(np.dot(x, w) <= th),
                     [t("ch01.case.source"), t("ch01.hint.source"), t("ch01.sums", X=2.5, th=3.0)])


def test_perceptron_always_one_fails_on_source_example():
    perceptron_fails(lambda x, w, th: 1, [t("ch01.case.source")])


def test_perceptron_returning_the_sum():
    perceptron_fails(lambda x, w, th: float(np.dot(x, w)),
                     [t("ch01.not_binary", got="2.5", extra=t("ch01.sum_returned"))])


def test_perceptron_returning_an_array():
    perceptron_fails(lambda x, w, th: (x * w >= th).astype(int),
                     [t("ch01.not_binary", got="ndarray shape (3,)", extra=t("ch01.array_returned"))])


def test_perceptron_returning_none():
    def no_return(x, w, th):
        int(np.dot(x, w) >= th)

    perceptron_fails(no_return, [t("ch01.not_binary", got="None", extra=t("ch01.none"))])


def test_perceptron_returning_other_numbers():
    perceptron_fails(lambda x, w, th: 2 * int(np.dot(x, w) >= th) - 1, [t("ch01.not_binary", got="-1", extra="")])


def test_perceptron_returning_a_string():
    perceptron_fails(lambda x, w, th: "1" if np.dot(x, w) >= th else "0",
                     [t("ch01.not_binary", got="str '0'", extra="")])


def test_perceptron_ignoring_weights_is_caught():
    perceptron_fails(lambda x, w, th: int(np.sum(x) >= th), [t("ch01.case.source"), t("ch01.hint.source")])


def test_perceptron_ignoring_threshold_is_caught():
    perceptron_fails(lambda x, w, th: int(np.dot(x, w) >= 0), [t("ch01.case.source"), t("ch01.sums", X=2.5, th=3.0)])


def test_perceptron_int_cast_is_named_on_the_fraction_cases():
    perceptron_fails(lambda x, w, th: int(np.dot(np.asarray(x).astype(int), w) >= th),
                     [hint("ch01.case.fraction"), t("ch01.hint.int_cast")])


def test_perceptron_rule_code_only_when_the_same_case_fails_again():
    core._failed_cases.clear()
    first = perceptron_fails(lambda x, w, th: 0, [t("ch01.hint.general")])
    assert t("ch01.hint.general_code") not in first
    perceptron_fails(lambda x, w, th: 0, [t("ch01.hint.general"), t("ch01.hint.general_code")])


def test_perceptron_stub_and_exception():
    def stub(x, w, th):
        raise NotImplementedError("write it")

    perceptron_fails(stub, [t("check.stub")])
    perceptron_fails(lambda x, w, th: 1 / 0, [t("check.raised", etype="ZeroDivisionError", message="division by zero")])


def test_perceptron_modifying_inputs_is_caught():
    def in_place(x, w, th):
        x *= w
        return int(x.sum() >= th)

    perceptron_fails(in_place, [t("check.inputs_changed")])


def test_perceptron_not_callable():
    perceptron_fails(3, [t("check.not_callable", what="perceptron", got="int")])


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


def gates_fail(gates, keys=()):
    return assert_fails(lambda: cu.checks.logic_gates(*gates), keys)


def test_logic_gates_correct_pass(capsys):
    cu.checks.logic_gates(AND, OR, NAND, XOR)
    assert capsys.readouterr().out.strip() == t("check.passed", name="logic_gates", n=16)


def test_logic_gates_bool_outputs_pass():
    cu.checks.logic_gates(lambda a, b: bool(a and b), lambda a, b: bool(a or b),
                          lambda a, b: not (a and b), lambda a, b: a != b)


def test_xor_single_perceptron_gets_the_combining_hint():
    gates_fail((AND, OR, NAND, lambda a, b: step(a, b, 0.5, 0.5, 0.2)),  # XOR = OR
               [t("ch01.case.gate", gate="XOR", x1=1, x2=1), t("ch01.hint.xor")])


def test_xor_wiring_is_shown_only_when_the_same_case_fails_again():
    core._failed_cases.clear()
    as_or = (AND, OR, NAND, lambda a, b: step(a, b, 0.5, 0.5, 0.2))
    first, again = gates_fail(as_or), gates_fail(as_or)
    recipe = t("ch01.hint.xor_recipe").strip()
    assert t("ch01.hint.xor").strip() in first and recipe not in first
    assert recipe in again


def test_xor_always_zero_hint():
    gates_fail((AND, OR, NAND, lambda a, b: 0), [t("ch01.case.gate", gate="XOR", x1=0, x2=1), t("ch01.hint.xor")])


def test_and_with_strict_greater_is_caught():
    gates_fail((lambda a, b: int(0.5 * a + 0.5 * b > 1.0), OR, NAND, XOR),
               [t("ch01.case.gate", gate="AND", x1=1, x2=1), t("ch01.hint.gate_equal")])


def test_wrong_or_is_caught():
    gates_fail((AND, AND, NAND, XOR), [t("ch01.case.gate", gate="OR", x1=0, x2=1)])


def test_nand_equal_to_and_gets_the_flip_hint():
    gates_fail((AND, OR, AND, XOR), [t("ch01.case.gate", gate="NAND", x1=0, x2=0), t("ch01.hint.nand")])


def test_truth_table_is_shown():
    message = gates_fail((AND, OR, OR, XOR))
    assert "(1,1)→1" in message and "(1,1)→0" in message


def test_gate_returning_none_or_two():
    def no_return(a, b):
        a and b

    gates_fail((no_return, OR, NAND, XOR), [t("ch01.not_binary", got="None", extra=t("ch01.none"))])
    gates_fail((AND, lambda a, b: a + b, NAND, XOR), [t("ch01.not_binary", got="2", extra="")])


def test_gate_stubs_and_missing_functions():
    def stub(a, b):
        raise NotImplementedError

    gates_fail((stub, stub, stub, stub), [t("check.stub")])
    gates_fail((AND, OR, NAND, None), [t("check.not_callable", what="XOR", got="NoneType")])
