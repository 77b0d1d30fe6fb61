"""Chapter 02 checks: right answers pass, typical wrong answers fail with a useful message.

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


def failure(check, *funcs, keys=()) -> str:
    return assert_fails(lambda: check(*funcs), keys)


def twice(check, *funcs, keys=()):
    """The message of a first failure and of the same failure repeated (which may show the form)."""
    core._failed_cases.clear()
    return failure(check, *funcs, keys=keys), failure(check, *funcs, keys=keys)


def shows_form_only_again(check, *funcs, keys=(), form):
    """The first failure holds ``keys`` but not the form ``form`` (a message key); the repeated one shows it."""
    first, again = twice(check, *funcs, keys=keys)
    assert t(form) not in first, first
    assert t(form) in again, again
    return first


# --- activations -------------------------------------------------------------------------------

def step(x):
    return np.where(x > 0, 1, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def stable_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("funcs", [
    (step, sigmoid, relu),
    (lambda x: (x > 0).astype(int), stable_sigmoid, lambda x: x * (x > 0)),
    (lambda x: x > 0, lambda x: torch.sigmoid(torch.as_tensor(x)).numpy(), lambda x: np.where(x > 0, x, 0.0)),
    (lambda x: np.array(x > 0, dtype=np.float64), sigmoid, lambda x: torch.relu(torch.as_tensor(x))),
])
def test_activations_correct_answers_pass(funcs, capsys):
    cu.checks.activations(*funcs)
    out = capsys.readouterr()
    assert out.out.strip() == t("check.passed", name="activations", n=7)
    assert "Warning" not in out.err  # overflow warnings of the student's sigmoid are kept quiet


def test_step_at_zero_convention():
    failure(cu.checks.activations, lambda x: np.where(x >= 0, 1, 0), sigmoid, relu,
            keys=[hint("ch02.case.step_source"), t("ch02.step_zero")])


def test_step_not_vectorised():
    def scalar_step(x):
        if x > 0:
            return 1
        return 0
    shows_form_only_again(cu.checks.activations, scalar_step, sigmoid, relu,
                          keys=[hint("check.raised", etype="ValueError", message=""), t("ch02.vectorise")],
                          form="ch02.vectorise_form")


def test_step_non_binary():
    failure(cu.checks.activations, lambda x: np.where(x > 0, x, 0), sigmoid, relu,
            keys=[t("ch02.step_binary", got=[0.5, 2.0])])
    failure(cu.checks.activations, lambda x: np.heaviside(x, 0.5), sigmoid, relu, keys=[t("ch02.step_binary", got=[0.5])])


def test_sigmoid_overflow_nan():
    shows_form_only_again(cu.checks.activations, step, lambda x: np.exp(x) / (1 + np.exp(x)), relu,
                          keys=[hint("ch02.case.sigmoid_big"), hint("check.nan"), t("ch02.sigmoid_nan")],
                          form="ch02.sigmoid_form")


def test_sigmoid_wrong_sign():
    shows_form_only_again(cu.checks.activations, step, lambda x: 1 / (1 + np.exp(x)), relu,
                          keys=[hint("ch02.case.sigmoid_source"), t("ch02.sigmoid_sign")], form="ch02.sigmoid_form")


def test_sigmoid_out_of_range():
    failure(cu.checks.activations, step, np.tanh, relu, keys=[hint("ch02.sigmoid_range")])


def test_relu_negative_values():
    shows_form_only_again(cu.checks.activations, step, sigmoid, np.abs,
                          keys=[hint("ch02.case.relu_source"), t("ch02.relu_abs")], form="ch02.relu_form")
    failure(cu.checks.activations, step, sigmoid, lambda x: x, keys=[t("ch02.relu_negative", lo=-2.0)])


def test_relu_clipped_gets_the_definition():
    shows_form_only_again(cu.checks.activations, step, sigmoid, lambda x: np.clip(x, 0, 1),
                          keys=[t("ch02.relu_def")], form="ch02.relu_form")


def test_relu_modifies_input():
    def inplace(x):
        x[x < 0] = 0
        return x
    failure(cu.checks.activations, step, sigmoid, inplace, keys=[hint("ch02.case.relu_source"), t("check.inputs_changed")])


def test_relu_np_max():
    shows_form_only_again(cu.checks.activations, step, sigmoid, lambda x: np.max(x, 0),
                          keys=[hint("check.shape"), t("ch02.relu_def")], form="ch02.relu_form")


def test_activation_stubs_and_non_callables():
    def stub(x):
        raise NotImplementedError("write it")
    failure(cu.checks.activations, stub, sigmoid, relu, keys=[t("check.stub")])
    failure(cu.checks.activations, step, None, relu, keys=[t("check.not_callable", what="sigmoid", got="NoneType")])


# --- softmax -----------------------------------------------------------------------------------

def softmax(x):
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


@pytest.mark.parametrize("answer", [
    softmax,
    lambda x: torch.softmax(torch.as_tensor(x), dim=-1),
    lambda x: np.exp(x - np.logaddexp.reduce(x, axis=-1, keepdims=True)),
])
def test_softmax_correct_answers_pass(answer, capsys):
    cu.checks.softmax(answer)
    assert capsys.readouterr().out.startswith(t("check.passed", name="softmax", n=8))  # torch.softmax is noted after


def test_softmax_without_max_subtraction_overflows():
    shows_form_only_again(cu.checks.softmax, lambda x: np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True),
                          keys=[t("ch02.case.softmax_big", x="[1000, 1001, 1002]"), hint("check.nan"),
                                t("ch02.softmax_overflow")], form="ch02.softmax_max_form")


def test_softmax_wrong_axis():
    def axis0(x):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    shows_form_only_again(cu.checks.softmax, axis0, keys=[hint("ch02.case.softmax_batch"), t("ch02.softmax_axis0")],
                          form="ch02.softmax_sum_form")


def test_softmax_whole_array_sum():
    def total(x):
        e = np.exp(x - x.max())
        return e / e.sum()
    shows_form_only_again(cu.checks.softmax, total, keys=[hint("ch02.case.softmax_batch"), hint("ch02.softmax_sum")],
                          form="ch02.softmax_sum_form")


def test_softmax_without_keepdims():
    def no_keepdims(x):
        e = np.exp(x - np.max(x, axis=-1))
        return e / np.sum(e, axis=-1)
    shows_form_only_again(cu.checks.softmax, no_keepdims, keys=[hint("ch02.case.softmax_batch"),
                                                                t("ch02.softmax_batch_error")],
                          form="ch02.softmax_batch_form")


def test_softmax_global_max():
    def global_max(x):
        e = np.exp(x - np.max(x))
        return e / np.sum(e, axis=-1, keepdims=True)
    first = shows_form_only_again(cu.checks.softmax, global_max,
                                  keys=[t("ch02.case.softmax_rows", x="[[0, 1, 2], [1000, 1001, 1002]]"),
                                        t("ch02.softmax_rowmax")], form="ch02.softmax_max_form")
    assert t("ch02.softmax_overflow") not in first


@pytest.mark.parametrize("shift", [lambda x: x.min(axis=-1, keepdims=True), lambda x: x.mean(axis=-1, keepdims=True),
                                   lambda x: x[..., :1]])
def test_softmax_shift_that_leaves_thousands(shift):
    def shifted(x):
        e = np.exp(x - shift(x))
        return e / e.sum(axis=-1, keepdims=True)
    failure(cu.checks.softmax, shifted, keys=[hint("ch02.case.softmax_span"), t("ch02.softmax_span")])


def test_softmax_axis1_fails_on_a_1d_input():
    def axis1(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    failure(cu.checks.softmax, axis1, keys=[hint("check.raised", etype="AxisError", message=""), t("ch02.softmax_batch_error")])


def test_softmax_in_place_subtraction():
    def inplace(x):
        x -= x.max(axis=-1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)
    failure(cu.checks.softmax, inplace, keys=[t("check.inputs_changed")])


def test_softmax_wrong_shape():
    failure(cu.checks.softmax, lambda x: softmax(x)[..., None], keys=[hint("check.shape")])


# --- cross-entropy -----------------------------------------------------------------------------

def cross_entropy(p, y):
    if y.ndim == p.ndim:
        y = y.argmax(axis=-1)
    n = p.shape[0]
    return -np.mean(np.log(p[np.arange(n), y] + 1e-7))


@pytest.mark.parametrize("answer", [
    cross_entropy,
    lambda p, y: -np.sum((y if y.ndim == 2 else np.eye(p.shape[1])[y]) * np.log(p + 1e-7)) / p.shape[0],
    lambda p, y: torch.nn.functional.nll_loss(torch.log(torch.as_tensor(p).clamp_min(1e-12)),
                                              torch.as_tensor(y if y.ndim == 1 else y.argmax(1))),
    lambda p, y: float(-np.mean(np.log(np.clip(p, 1e-12, 1)[np.arange(len(p)), y if y.ndim == 1 else y.argmax(1)]))),
    lambda p, y: np.array([cross_entropy(p, y)]),  # one number in a one-element array
])
def test_cross_entropy_correct_answers_pass(answer, capsys):
    cu.checks.cross_entropy(answer)
    assert capsys.readouterr().out.strip() == t("check.passed", name="cross_entropy", n=10)


def test_cross_entropy_source_example_values():
    p = np.array([[0.00, 0.97, 0.02, 0.01]])
    assert cross_entropy(p, np.array([1])) == pytest.approx(-np.log(0.97), rel=1e-5)
    assert cross_entropy(p, np.array([3])) == pytest.approx(-np.log(0.01), rel=1e-4)


def test_cross_entropy_summed_instead_of_mean():
    def summed(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.sum(np.log(p[np.arange(len(p)), y] + 1e-7))
    failure(cu.checks.cross_entropy, summed, keys=[t("ch02.case.ce_batch", y="[1, 3]"), t("ch02.ce_sum")])  # the batch case


def test_cross_entropy_indices_only():
    def indices_only(p, y):
        return -np.mean(np.log(p[np.arange(len(p)), y] + 1e-7))
    shows_form_only_again(cu.checks.cross_entropy, indices_only, keys=[t("ch02.ce_labels")], form="ch02.ce_labels_code")


def test_cross_entropy_onehot_only():
    def onehot_only(p, y):
        return -np.sum(y * np.log(p + 1e-7)) / len(p)
    # fails on the first case (class index 1)
    failure(cu.checks.cross_entropy, onehot_only,
            keys=[t("ch02.case.ce_source", label=t("ch02.label.polyps"), y="[1]"), t("ch02.ce_labels")])


def test_cross_entropy_by_dtype_fails_on_integer_one_hot():
    def by_dtype(p, y):
        y = y.argmax(1) if y.dtype.kind == "f" else y
        return -np.mean(np.log(p[np.arange(len(p)), y] + 1e-7))
    failure(cu.checks.cross_entropy, by_dtype, keys=[hint("ch02.case.ce_random"), t("ch02.ce_labels")])


def test_cross_entropy_log_zero():
    def no_eps(p, y):
        if y.ndim == 1:
            y = np.eye(p.shape[1])[y]
        return -np.sum(y * np.log(p)) / len(p)
    shows_form_only_again(cu.checks.cross_entropy, no_eps,
                          keys=[t("ch02.case.ce_source", label=t("ch02.label.polyps"), y="[1]"), t("ch02.ce_log0")],
                          form="ch02.ce_log0_form")


def test_cross_entropy_zero_probability_without_eps():
    def no_eps_index(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.mean(np.log(p[np.arange(len(p)), y]))
    failure(cu.checks.cross_entropy, no_eps_index, keys=[t("ch02.case.ce_zero", y="[0]"), t("ch02.ce_log0")])


def test_cross_entropy_big_epsilon():
    def big_eps(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.mean(np.log(p[np.arange(len(p)), y] + 0.01))
    failure(cu.checks.cross_entropy, big_eps, keys=[hint("ch02.case.ce_source")])


def test_cross_entropy_big_epsilon_only_where_p_is_zero():
    def clipped(p, y):
        return cross_entropy(np.clip(p, 0.01, 1), y)
    failure(cu.checks.cross_entropy, clipped, keys=[t("ch02.case.ce_zero", y="[0]"), hint("ch02.ce_zero_small")])


def test_cross_entropy_mean_over_all_entries():
    def all_mean(p, y):
        if y.ndim == 1:
            y = np.eye(p.shape[1])[y]
        return -np.mean(y * np.log(p + 1e-7))
    failure(cu.checks.cross_entropy, all_mean, keys=[t("ch02.ce_all_mean")])


def test_cross_entropy_missing_minus():
    failure(cu.checks.cross_entropy, lambda p, y: -cross_entropy(p, y), keys=[hint("ch02.ce_negative")])


def test_cross_entropy_per_sample_vector():
    def per_sample(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.log(p[np.arange(len(p)), y] + 1e-7)
    failure(cu.checks.cross_entropy, per_sample,
            keys=[t("ch02.case.ce_batch", y="[1, 3]"), t("check.shape", expected=(), got=(2,)), t("ch02.ce_scalar")])


# --- sgd_step ----------------------------------------------------------------------------------

def sgd_step(params, grads, lr):
    for name in params:
        params[name] -= lr * grads[name]


@pytest.mark.parametrize("answer", [
    sgd_step,
    lambda params, grads, lr: [np.subtract(params[k], lr * grads[k], out=params[k]) for k in params],
])
def test_sgd_step_correct_answers_pass(answer, capsys):
    cu.checks.sgd_step(answer)
    assert capsys.readouterr().out.strip() == t("check.passed", name="sgd_step", n=4)


def test_sgd_step_returning_new_arrays():
    def new_dict(params, grads, lr):
        return {k: params[k] - lr * grads[k] for k in params}
    shows_form_only_again(cu.checks.sgd_step, new_dict, keys=[t("ch02.sgd_untouched")], form="ch02.sgd_code")


def test_sgd_step_replacing_arrays():
    def replace(params, grads, lr):
        for k in params:
            params[k] = params[k] - lr * grads[k]
    shows_form_only_again(cu.checks.sgd_step, replace, keys=[t("ch02.sgd_replaced", name="W1")], form="ch02.sgd_code")


def test_sgd_step_wrong_sign():
    def ascent(params, grads, lr):
        for k in params:
            params[k] += lr * grads[k]
    shows_form_only_again(cu.checks.sgd_step, ascent, keys=[t("ch02.sgd_sign")], form="ch02.sgd_direction_form")


def test_sgd_step_zip_order():
    def zipped(params, grads, lr):
        for p, g in zip(params.values(), grads.values()):
            p -= lr * g
    failure(cu.checks.sgd_step, zipped, keys=[hint("check.raised", etype="ValueError", message=""), t("ch02.sgd_direction")])


def test_sgd_step_forgets_lr():
    def no_lr(params, grads, lr):
        for k in params:
            params[k] -= grads[k]
    shows_form_only_again(cu.checks.sgd_step, no_lr, keys=[t("ch02.sgd_no_lr")], form="ch02.sgd_direction_form")


def test_sgd_step_wrong_step_size_gets_the_direction_hint():
    def half(params, grads, lr):
        for k in params:
            params[k] -= 0.5 * lr * grads[k]
    failure(cu.checks.sgd_step, half, keys=[hint("check.value"), t("ch02.sgd_direction")])


def test_sgd_step_second_step_is_checked_too():
    calls = []

    def only_once(params, grads, lr):
        calls.append(1)
        if len(calls) < 4:
            sgd_step(params, grads, lr)
    failure(cu.checks.sgd_step, only_once, keys=[t("ch02.case.sgd_float32", lr=0.01, step=2), t("ch02.sgd_untouched")])


def test_sgd_step_modifies_grads():
    def touches_grads(params, grads, lr):
        for k in params:
            grads[k] *= lr
            params[k] -= grads[k]
    failure(cu.checks.sgd_step, touches_grads, keys=[t("ch02.sgd_grads_changed")])


def test_sgd_step_removing_a_key():
    def drops(params, grads, lr):
        sgd_step(params, grads, lr)
        del params["b2"]
    failure(cu.checks.sgd_step, drops, keys=[hint("ch02.sgd_missing")])


def test_sgd_step_stub():
    def stub(params, grads, lr):
        raise NotImplementedError
    failure(cu.checks.sgd_step, stub, keys=[t("check.stub")])
