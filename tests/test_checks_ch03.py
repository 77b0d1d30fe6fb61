"""The `layers` check of chapter 03: right answers pass, typical mistakes fail clearly.

Every test runs in both languages and asserts message keys (t(key), check_helpers.hint(key)), not English text.
"""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import core
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


# ---------------------------------------------------------------- a correct answer

class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class ReLU:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0  # in place, as in the well-known textbook version
        return dout


class SoftmaxWithLoss:
    def forward(self, x, t):
        x = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        self.t = t if t.ndim == 1 else t.argmax(axis=1)
        n = len(x)
        return -np.mean(np.log(self.y[np.arange(n), self.t] + 1e-7))

    def backward(self, dout=1):
        n = len(self.y)
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx * dout / n


def run(affine=Affine, relu=ReLU, loss=SoftmaxWithLoss):
    return checks.layers(affine, relu, loss)


def fails(keys, **kwargs):
    return assert_fails(lambda: run(**kwargs), keys)


def about(what) -> str:
    """How a failure names the array it is about ("In db: ...")."""
    return t("ch03.what", what=what, detail="")


def form(what, formula) -> str:
    return t("ch03.form", form=f"{what} = {formula}")


def fails_twice(keys, shown, **kwargs):
    """The first failure holds ``keys`` without ``shown`` (the formula); the same failure again shows it."""
    core._failed_cases.clear()
    first = fails(keys, **kwargs)
    assert shown not in first, first
    again = fails(keys, **kwargs)
    assert shown in again, again
    return first


def test_correct_answer_passes(capsys):
    run()
    assert capsys.readouterr().out.strip() == t("check.passed", name="layers", n=23)


class ReLUGradientAtZero(ReLU):
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x >= 0)  # passes gradient at x == 0: accepted


class OneHotLoss(SoftmaxWithLoss):
    """The textbook variant: one-hot kept as is, log(y + 1e-7), dout ignored."""

    def forward(self, x, t):
        x = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
        self.t = t
        n = len(x)
        if t.size == self.y.size:
            t = t.argmax(axis=1)
        return -np.sum(np.log(self.y[np.arange(n), t] + 1e-7)) / n

    def backward(self, dout=1):
        n = self.t.shape[0]
        if self.t.size == self.y.size:
            return (self.y - self.t) / n
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n


def test_variants_pass():
    run(relu=ReLUGradientAtZero, loss=OneHotLoss)


def test_torch_tensors_accepted_for_gradients():
    import torch

    class TorchAffine(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.dW = torch.from_numpy(self.dW)
            return dx

    run(affine=TorchAffine)


# ---------------------------------------------------------------- stubs and broken classes

def test_stub_is_reported():
    class Stub(Affine):
        def backward(self, dout):
            raise NotImplementedError("write me")

    fails([t("check.stub")], affine=Stub)


def test_not_a_class():
    fails([t("check.not_callable", what="ReLU", got="NoneType")], relu=None)


def test_missing_method():
    class NoBackward:
        def forward(self, x):
            return np.maximum(x, 0)

    fails([t("layers.no_method", cls="NoBackward", method="backward")], relu=NoBackward)


# ---------------------------------------------------------------- ReLU

def test_relu_backward_passing_gradient_where_x_negative():
    class Leaky(ReLU):
        def backward(self, dout):
            return dout  # forgot the mask

    fails([hint("ch03.relu_leak", index=(0, 0), x=-2.0, got=1.0), t("ch03.case.relu_fixed")], relu=Leaky)


def test_relu_backward_masking_by_dout_instead_of_x():
    class MaskByDout(ReLU):
        def backward(self, dout):
            return dout * (dout > 0)

    fails([hint("ch03.relu_leak", index=(0, 0), x=-2.0, got=1.0)], relu=MaskByDout)


def test_relu_backward_blocking_positive():
    class Blocks(ReLU):
        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, dout):
            return np.maximum(dout, 0) * (self.x > 0)

    fails([hint("ch03.relu_block")], relu=Blocks)


def test_relu_backward_returning_forward_output():
    class ReturnsOut(ReLU):
        def forward(self, x):
            self.out = np.maximum(x, 0)
            return self.out

        def backward(self, dout):
            return self.out

    fails([t("ch03.case.relu_fixed"), hint("ch03.relu_block", index=(0, 2), x=0.5, got=0.5, dout=3.0)],
          relu=ReturnsOut)


def test_relu_backward_wrong_shape():
    class Flat(ReLU):
        def backward(self, dout):
            return super().backward(dout).ravel()

    fails([about("backward(dout)"), hint("check.shape")], relu=Flat)


def test_relu_forward_wrong():
    class Abs(ReLU):
        def forward(self, x):
            super().forward(x)
            return np.abs(x)

    fails([about("forward(x) = max(0, x)")], relu=Abs)


# ---------------------------------------------------------------- Affine

def test_affine_forgets_db():
    class NoDb(Affine):
        def backward(self, dout):
            self.dW = self.x.T @ dout
            return dout @ self.W.T

    fails([t("layers.no_grad", cls="NoDb", attr="db")], affine=NoDb)


def test_affine_db_not_updated():
    class ZeroDb(Affine):
        def __init__(self, W, b):
            super().__init__(W, b)
            self.db = np.zeros_like(b)

        def backward(self, dout):
            self.dW = self.x.T @ dout
            return dout @ self.W.T

    fails([about("db"), hint("check.value")], affine=ZeroDb)


def test_affine_db_summed_over_wrong_axis():
    class Axis1(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.sum(axis=1)
            return dx

    fails_twice([about("db"), hint("check.shape"), t("ch03.db_axis")], form("db", "dout.sum(axis=0)"), affine=Axis1)


def test_affine_db_summed_over_everything():
    class SumAll(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.sum()
            return dx

    fails([about("db"), hint("check.shape")], affine=SumAll)


def test_affine_db_mean():
    class Mean(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.mean(axis=0)
            return dx

    fails([about("db"), t("ch03.db_mean")], affine=Mean)


def test_affine_dw_transposed():
    class Transposed(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.dW = dout.T @ self.x
            return dx

    fails_twice([about("dW"), t("ch03.dw_shape", shape=(3, 2))], form("dW", "x.T @ dout"), affine=Transposed)


def test_affine_dx_wrong():
    class NoTranspose(Affine):
        def backward(self, dout):
            super().backward(dout)
            return dout @ self.W.T * 2

    fails([about("dx"), hint("check.value")], affine=NoTranspose)


def test_affine_dx_wrong_shape():
    class DxShape(Affine):
        def backward(self, dout):
            super().backward(dout)
            return self.x.T @ dout

    fails([about("dx"), t("ch03.dx_shape", shape=(1, 3))], affine=DxShape)


def test_affine_forward_without_bias():
    class NoBias(Affine):
        def forward(self, x):
            self.x = x
            return x @ self.W

    fails_twice([about("forward(x)")], form("forward(x)", "x @ W + b"), affine=NoBias)


def test_affine_keeps_first_x():
    class FirstX(Affine):
        def forward(self, x):
            if self.x is None:
                self.x = x
            return x @ self.W + self.b

    fails([t("ch03.case.affine_twice"), t("ch03.stale_x")], affine=FirstX)


# ---------------------------------------------------------------- SoftmaxWithLoss

def test_loss_sum_instead_of_mean():
    class Summed(SoftmaxWithLoss):
        def forward(self, x, t):
            return super().forward(x, t) * len(x)

    fails([about(t("ch03.what_loss")), t("ch03.loss_sum")], loss=Summed)


def test_loss_returns_per_sample_array():
    class PerSample(SoftmaxWithLoss):
        def forward(self, x, t):
            super().forward(x, t)
            return -np.log(self.y[np.arange(len(x)), self.t])

    fails([t("ch03.loss_scalar", shape=(5,))], loss=PerSample)


def test_loss_backward_not_divided_by_n():
    class NotDivided(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout) * len(self.y)

    fails_twice([about("backward()"), t("ch03.grad_not_mean")], form("backward()", "(y − t)/N"), loss=NotDivided)


def test_loss_backward_wrong_sign():
    class Sign(SoftmaxWithLoss):
        def backward(self, dout=1):
            return -super().backward(dout)

    fails_twice([about("backward()"), t("ch03.grad_sign")], form("backward()", "(y − t)/N"), loss=Sign)


def test_loss_one_hot_not_supported():
    class IndicesOnly(SoftmaxWithLoss):
        def forward(self, x, t):
            x = x - x.max(axis=1, keepdims=True)
            self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
            self.t = t
            return -np.mean(np.log(self.y[np.arange(len(x)), t]))

    fails([t("ch03.case.loss", N=1, C=3, kind=t("ch03.kind.onehot"), large="")], loss=IndicesOnly)


def test_loss_unstable_softmax():
    class Naive(SoftmaxWithLoss):
        def forward(self, x, t):
            self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
            self.t = t if t.ndim == 1 else t.argmax(axis=1)
            return -np.mean(np.log(self.y[np.arange(len(x)), self.t]))

    fails([hint("ch03.case.loss", N=6, C=3, kind=t("ch03.kind.index"), large=t("ch03.kind.large")),
           hint("check.nan"), t("ch03.large")], loss=Naive)


def test_loss_backward_wrong_shape():
    class Shape(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout).sum(axis=0)

    fails([about("backward()"), hint("check.shape")], loss=Shape)


def test_loss_backward_nan():
    class NaN(SoftmaxWithLoss):
        def backward(self, dout=1):
            dx = super().backward(dout)
            dx[0, 0] = np.nan
            return dx

    message = fails([about("backward()"), hint("check.nan")], loss=NaN)
    assert t("ch03.large") not in message  # small logits: not an overflow


def test_loss_without_softmax():
    class NoSoftmax(SoftmaxWithLoss):
        def backward(self, dout=1):
            n = len(self.y)
            dx = np.zeros_like(self.y)
            dx[np.arange(n), self.t] -= 1
            return dx / n

    fails_twice([about("backward()")], form("backward()", "(y − t)/N"), loss=NoSoftmax)
