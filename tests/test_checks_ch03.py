"""The `layers` check of chapter 03: right answers pass, typical mistakes fail clearly."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import ExerciseFailed, core
from course_utils.i18n import set_language


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("ja")


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


def fails(match, **kwargs):
    with pytest.raises(ExerciseFailed, match=match) as info:
        run(**kwargs)
    text = str(info.value)
    assert "Traceback" not in text
    return text


def fails_twice(match, form, **kwargs):
    """The first failure names the mistake without ``form``; the same failure again shows it."""
    core._failed_cases.clear()
    first = fails(match, **kwargs)
    assert form not in first, first
    again = fails(match, **kwargs)
    assert form in again, again
    return first


def test_correct_answer_passes(capsys):
    run()
    assert "layers: all" in capsys.readouterr().out


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

    fails("Not implemented yet", affine=Stub)


def test_not_a_class():
    fails("Pass a function", relu=None)


def test_missing_method():
    class NoBackward:
        def forward(self, x):
            return np.maximum(x, 0)

    fails("has no method backward", relu=NoBackward)


# ---------------------------------------------------------------- ReLU

def test_relu_backward_passing_gradient_where_x_negative():
    class Leaky(ReLU):
        def backward(self, dout):
            return dout  # forgot the mask

    text = fails("ReLU backward passes gradient", relu=Leaky)
    assert "< 0" in text and "ReLU x = [[-2, -0.5, 0.5, 3]]" in text


def test_relu_backward_masking_by_dout_instead_of_x():
    class MaskByDout(ReLU):
        def backward(self, dout):
            return dout * (dout > 0)

    fails("ReLU backward", relu=MaskByDout)


def test_relu_backward_blocking_positive():
    class Blocks(ReLU):
        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, dout):
            return np.maximum(dout, 0) * (self.x > 0)

    fails("the identity", relu=Blocks)


def test_relu_backward_returning_forward_output():
    class ReturnsOut(ReLU):
        def forward(self, x):
            self.out = np.maximum(x, 0)
            return self.out

        def backward(self, dout):
            return self.out

    fails("ReLU", relu=ReturnsOut)


def test_relu_backward_wrong_shape():
    class Flat(ReLU):
        def backward(self, dout):
            return super().backward(dout).ravel()

    fails("Wrong shape", relu=Flat)


def test_relu_forward_wrong():
    class Abs(ReLU):
        def forward(self, x):
            super().forward(x)
            return np.abs(x)

    fails(r"max\(0, x\)", relu=Abs)


# ---------------------------------------------------------------- Affine

def test_affine_forgets_db():
    class NoDb(Affine):
        def backward(self, dout):
            self.dW = self.x.T @ dout
            return dout @ self.W.T

    text = fails(r"\.db is missing", affine=NoDb)
    assert "self.db" in text


def test_affine_db_not_updated():
    class ZeroDb(Affine):
        def __init__(self, W, b):
            super().__init__(W, b)
            self.db = np.zeros_like(b)

        def backward(self, dout):
            self.dW = self.x.T @ dout
            return dout @ self.W.T

    fails("In db", affine=ZeroDb)


def test_affine_db_summed_over_wrong_axis():
    class Axis1(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.sum(axis=1)
            return dx

    fails_twice("sum over the batch", "dout.sum(axis=0)", affine=Axis1)


def test_affine_db_summed_over_everything():
    class SumAll(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.sum()
            return dx

    fails("In db", affine=SumAll)


def test_affine_db_mean():
    class Mean(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.mean(axis=0)
            return dx

    fails("db is the mean of dout", affine=Mean)


def test_affine_dw_transposed():
    class Transposed(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.dW = dout.T @ self.x
            return dx

    fails_twice(r"dW must have W's shape", "x.T @ dout", affine=Transposed)


def test_affine_dx_wrong():
    class NoTranspose(Affine):
        def backward(self, dout):
            super().backward(dout)
            return dout @ self.W.T * 2

    fails("In dx", affine=NoTranspose)


def test_affine_dx_wrong_shape():
    class DxShape(Affine):
        def backward(self, dout):
            super().backward(dout)
            return self.x.T @ dout

    fails(r"dx must have x's shape", affine=DxShape)


def test_affine_forward_without_bias():
    class NoBias(Affine):
        def forward(self, x):
            self.x = x
            return x @ self.W

    fails_twice(r"In forward\(x\)", "x @ W + b", affine=NoBias)


def test_affine_keeps_first_x():
    class FirstX(Affine):
        def forward(self, x):
            if self.x is None:
                self.x = x
            return x @ self.W + self.b

    fails("latest forward", affine=FirstX)


# ---------------------------------------------------------------- SoftmaxWithLoss

def test_loss_sum_instead_of_mean():
    class Summed(SoftmaxWithLoss):
        def forward(self, x, t):
            return super().forward(x, t) * len(x)

    fails("return the mean", loss=Summed)


def test_loss_returns_per_sample_array():
    class PerSample(SoftmaxWithLoss):
        def forward(self, x, t):
            super().forward(x, t)
            return -np.log(self.y[np.arange(len(x)), self.t])

    fails("one number", loss=PerSample)


def test_loss_backward_not_divided_by_n():
    class NotDivided(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout) * len(self.y)

    fails_twice("divides by the batch size N", "(y − t)/N", loss=NotDivided)


def test_loss_backward_wrong_sign():
    class Sign(SoftmaxWithLoss):
        def backward(self, dout=1):
            return -super().backward(dout)

    fails_twice("wrong sign", "dx = (y − t)/N", loss=Sign)


def test_loss_one_hot_not_supported():
    class IndicesOnly(SoftmaxWithLoss):
        def forward(self, x, t):
            x = x - x.max(axis=1, keepdims=True)
            self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
            self.t = t
            return -np.mean(np.log(self.y[np.arange(len(x)), t]))

    text = fails("one-hot", loss=IndicesOnly)
    assert "t as one-hot" in text


def test_loss_unstable_softmax():
    class Naive(SoftmaxWithLoss):
        def forward(self, x, t):
            self.y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
            self.t = t if t.ndim == 1 else t.argmax(axis=1)
            return -np.mean(np.log(self.y[np.arange(len(x)), self.t]))

    fails("subtract each row's maximum", loss=Naive)


def test_loss_backward_wrong_shape():
    class Shape(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout).sum(axis=0)

    fails("Wrong shape", loss=Shape)


def test_loss_backward_nan():
    class NaN(SoftmaxWithLoss):
        def backward(self, dout=1):
            dx = super().backward(dout)
            dx[0, 0] = np.nan
            return dx

    fails("NaN", loss=NaN)


def test_loss_without_softmax():
    class NoSoftmax(SoftmaxWithLoss):
        def backward(self, dout=1):
            n = len(self.y)
            dx = np.zeros_like(self.y)
            dx[np.arange(n), self.t] -= 1
            return dx / n

    fails_twice(r"In backward\(\)", "backward() = (y − t)/N", loss=NoSoftmax)


def test_japanese_messages():
    set_language("ja")

    class Leaky(ReLU):
        def backward(self, dout):
            return dout

    with pytest.raises(ExerciseFailed, match="勾配"):
        run(relu=Leaky)
