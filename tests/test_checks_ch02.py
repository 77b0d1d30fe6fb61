"""Chapter 02 checks: right answers pass, typical wrong answers fail with a useful message."""
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


def twice(check, *funcs):
    """The message of a first failure and of the same failure repeated (which may show the form)."""
    core._failed_cases.clear()
    return failure(check, *funcs), failure(check, *funcs)


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
    assert "activations" in out.out
    assert "Warning" not in out.err  # overflow warnings of the student's sigmoid are kept quiet


def test_step_at_zero_convention(language):
    msg = failure(cu.checks.activations, lambda x: np.where(x >= 0, 1, 0), sigmoid, relu)
    assert "step(0)" in msg and "x > 0" in msg


def test_step_not_vectorised():
    def scalar_step(x):
        if x > 0:
            return 1
        return 0
    first, again = twice(cu.checks.activations, scalar_step, sigmoid, relu)
    assert "ValueError" in first and "np.where" not in first
    assert "np.where" in again


def test_step_non_binary():
    msg = failure(cu.checks.activations, lambda x: np.where(x > 0, x, 0), sigmoid, relu)
    assert "step" in msg and "0" in msg and "1" in msg


def test_sigmoid_overflow_nan(language):
    first, again = twice(cu.checks.activations, step, lambda x: np.exp(x) / (1 + np.exp(x)), relu)
    assert "1000" in first and "NaN" in first and "np.exp(-x)" not in first
    assert "1 / (1 + np.exp(-x))" in again


def test_sigmoid_wrong_sign():
    msg = failure(cu.checks.activations, step, lambda x: 1 / (1 + np.exp(x)), relu)
    assert "sigmoid" in msg


def test_relu_negative_values(language):
    msg, again = twice(cu.checks.activations, step, sigmoid, lambda x: np.abs(x))
    assert "relu" in msg and "max(0, x)" in msg and "np.maximum" not in msg
    assert "np.maximum(0, x)" in again
    msg = failure(cu.checks.activations, step, sigmoid, lambda x: x)
    assert "-2" in msg


def test_relu_modifies_input():
    def inplace(x):
        x[x < 0] = 0
        return x
    msg = failure(cu.checks.activations, step, sigmoid, inplace)
    assert "relu" in msg and ("modified" in msg or "書き換え" in msg)


def test_relu_np_max():
    first, again = twice(cu.checks.activations, step, sigmoid, lambda x: np.max(x, 0))
    assert "np.max(x, 0)" in first and "np.maximum" not in first
    assert "np.maximum" in again


def test_activation_stubs_and_non_callables():
    def stub(x):
        raise NotImplementedError("write it")
    msg = failure(cu.checks.activations, stub, sigmoid, relu)
    assert "NotImplementedError" in msg
    msg = failure(cu.checks.activations, step, None, relu)
    assert "sigmoid" in msg


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
    assert "softmax" in capsys.readouterr().out


def test_softmax_without_max_subtraction_overflows(language):
    msg = failure(cu.checks.softmax, lambda x: np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True))
    assert "1000" in msg and "NaN" in msg and "inf" in msg
    assert "max" in msg


def test_softmax_wrong_axis(language):
    def axis0(x):
        e = np.exp(x - x.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    msg = failure(cu.checks.softmax, axis0)
    assert "axis=0" in msg and "axis=-1" in msg


def test_softmax_whole_array_sum():
    def total(x):
        e = np.exp(x - x.max())
        return e / e.sum()
    msg = failure(cu.checks.softmax, total)
    assert "axis=-1" in msg


def test_softmax_without_keepdims():
    def no_keepdims(x):
        e = np.exp(x - np.max(x, axis=-1))
        return e / np.sum(e, axis=-1)
    first, again = twice(cu.checks.softmax, no_keepdims)
    assert "axis=-1" in first and "keepdims=True" not in first
    assert "keepdims=True" in again


def test_softmax_global_max(language):
    def global_max(x):
        e = np.exp(x - np.max(x))
        return e / np.sum(e, axis=-1, keepdims=True)
    msg, again = twice(cu.checks.softmax, global_max)
    assert "[1000, 1001, 1002]" in msg and "keepdims=True" not in msg
    assert "x.max(axis=-1, keepdims=True)" in again


def test_softmax_axis1_fails_on_3d():
    def axis1(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    msg = failure(cu.checks.softmax, axis1)
    assert "axis=-1" in msg


def test_softmax_in_place_subtraction():
    def inplace(x):
        x -= x.max(axis=-1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)
    msg = failure(cu.checks.softmax, inplace)
    assert "modified" in msg or "書き換え" in msg


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
])
def test_cross_entropy_correct_answers_pass(answer, capsys):
    cu.checks.cross_entropy(answer)
    assert "cross_entropy" in capsys.readouterr().out


def test_cross_entropy_source_example_values():
    p = np.array([[0.00, 0.97, 0.02, 0.01]])
    assert cross_entropy(p, np.array([1])) == pytest.approx(-np.log(0.97), rel=1e-5)
    assert cross_entropy(p, np.array([3])) == pytest.approx(-np.log(0.01), rel=1e-4)


def test_cross_entropy_summed_instead_of_mean(language):
    def summed(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.sum(np.log(p[np.arange(len(p)), y] + 1e-7))
    msg = failure(cu.checks.cross_entropy, summed)
    assert "polyps" in msg and "colitis" in msg      # names the batch case
    assert "N (= 2)" in msg


def test_cross_entropy_indices_only(language):
    def indices_only(p, y):
        return -np.mean(np.log(p[np.arange(len(p)), y] + 1e-7))
    msg = failure(cu.checks.cross_entropy, indices_only)
    assert "one-hot" in msg and "y.ndim" in msg


def test_cross_entropy_onehot_only(language):
    def onehot_only(p, y):
        return -np.sum(y * np.log(p + 1e-7)) / len(p)
    msg = failure(cu.checks.cross_entropy, onehot_only)
    assert "y.ndim" in msg
    assert "polyps" in msg  # fails on the first case (class index 1)


def test_cross_entropy_log_zero(language):
    def no_eps(p, y):
        if y.ndim == 1:
            y = np.eye(p.shape[1])[y]
        return -np.sum(y * np.log(p)) / len(p)
    msg, again = twice(cu.checks.cross_entropy, no_eps)
    assert "log(0)" in msg and "1e-7" not in msg and "polyps" in msg
    assert "np.log(p + 1e-7)" in again


def test_cross_entropy_zero_probability_without_eps():
    def no_eps_index(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.mean(np.log(p[np.arange(len(p)), y]))
    msg = failure(cu.checks.cross_entropy, no_eps_index)
    assert "normal" in msg and "log(0)" in msg


def test_cross_entropy_big_epsilon():
    def big_eps(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.mean(np.log(p[np.arange(len(p)), y] + 0.01))
    msg = failure(cu.checks.cross_entropy, big_eps)
    assert "polyps" in msg or "normal" in msg


def test_cross_entropy_mean_over_all_entries():
    def all_mean(p, y):
        if y.ndim == 1:
            y = np.eye(p.shape[1])[y]
        return -np.mean(y * np.log(p + 1e-7))
    msg = failure(cu.checks.cross_entropy, all_mean)
    assert "N×C" in msg


def test_cross_entropy_missing_minus(language):
    msg = failure(cu.checks.cross_entropy, lambda p, y: -cross_entropy(p, y))
    assert "minus" in msg or "マイナス" in msg


def test_cross_entropy_per_sample_vector():
    def per_sample(p, y):
        if y.ndim == p.ndim:
            y = y.argmax(axis=-1)
        return -np.log(p[np.arange(len(p)), y] + 1e-7)
    msg = failure(cu.checks.cross_entropy, per_sample)
    assert "(2,)" in msg or "mean" in msg or "平均" in msg


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
    assert "sgd_step" in capsys.readouterr().out


def test_sgd_step_returning_new_arrays(language):
    def new_dict(params, grads, lr):
        return {k: params[k] - lr * grads[k] for k in params}
    msg = failure(cu.checks.sgd_step, new_dict)
    assert "in-place" in msg or "in place" in msg


def test_sgd_step_replacing_arrays(language):
    def replace(params, grads, lr):
        for k in params:
            params[k] = params[k] - lr * grads[k]
    msg = failure(cu.checks.sgd_step, replace)
    assert "W1" in msg and "-=" in msg


def test_sgd_step_wrong_sign(language):
    def ascent(params, grads, lr):
        for k in params:
            params[k] += lr * grads[k]
    msg = failure(cu.checks.sgd_step, ascent)
    assert "W ← W − η" in msg


def test_sgd_step_zip_order():
    def zipped(params, grads, lr):
        for p, g in zip(params.values(), grads.values()):
            p -= lr * g
    msg = failure(cu.checks.sgd_step, zipped)
    assert "zip" in msg


def test_sgd_step_forgets_lr():
    def no_lr(params, grads, lr):
        for k in params:
            params[k] -= grads[k]
    msg = failure(cu.checks.sgd_step, no_lr)
    assert "lr" in msg


def test_sgd_step_modifies_grads():
    def touches_grads(params, grads, lr):
        for k in params:
            grads[k] *= lr
            params[k] -= grads[k]
    msg = failure(cu.checks.sgd_step, touches_grads)
    assert "grads" in msg


def test_sgd_step_stub():
    def stub(params, grads, lr):
        raise NotImplementedError
    msg = failure(cu.checks.sgd_step, stub)
    assert "NotImplementedError" in msg
