"""Chapter 05 layer checks (conv_layer, dropout, batchnorm): correct classes pass; each typical
mistake fails with its hint, in both languages."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import core
from course_utils.i18n import keys, t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


def fails_then_form(run, key, **values):
    """The first failure holds hint ``key`` but not its form (``key + "_form"``, the code or formula);
    the same failure again shows the form too."""
    core._failed_cases.clear()
    first = assert_fails(run, [hint(key, **values)])
    if key + "_form" not in keys():
        return first
    form = t(key + "_form", **values).strip()
    assert form not in first, first
    assert_fails(run, [hint(key, **values), form])
    return first


# --------------------------------------------------------------------------- Conv: correct answers
def im2col(x, kh, kw, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    col = np.zeros((n, c, kh, kw, ho, wo))
    for i in range(kh):
        for j in range(kw):
            col[:, :, i, j] = xp[:, :, i:i + s * ho:s, j:j + s * wo:s]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, -1), ho, wo


def col2im(col, shape, kh, kw, s, p, ho, wo, add=True, crop=True):
    n, c, h, w = shape
    cols = col.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            if add:
                xp[:, :, i:i + s * ho:s, j:j + s * wo:s] += cols[:, :, i, j]
            else:
                xp[:, :, i:i + s * ho:s, j:j + s * wo:s] = cols[:, :, i, j]
    return xp[:, :, p:p + h, p:p + w] if crop else xp


class Conv:
    """im2col / col2im, as the notebook's answer. Subclasses below each make one mistake."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None

    def forward(self, x):
        f, c, kh, kw = self.W.shape
        self.x_shape = x.shape
        self.col, self.ho, self.wo = im2col(x, kh, kw, self.stride, self.pad)
        out = self.col @ self.W.reshape(f, -1).T + self.b
        return self.fold(out, x.shape[0], f)

    def fold(self, out, n, f):
        return out.reshape(n, self.ho, self.wo, f).transpose(0, 3, 1, 2)

    def flat_dout(self, dout, f):
        return dout.transpose(0, 2, 3, 1).reshape(-1, f)

    def backward(self, dout):
        f, c, kh, kw = self.W.shape
        d = self.flat_dout(dout, f)
        self.dW = (d.T @ self.col).reshape(self.W.shape)
        self.db = d.sum(axis=0)
        return self.col2im(d @ self.W.reshape(f, -1), kh, kw)

    def col2im(self, dcol, kh, kw):
        return col2im(dcol, self.x_shape, kh, kw, self.stride, self.pad, self.ho, self.wo)


class ConvLoops:
    """An unusual but correct answer: plain loops over output positions, float32 kept where given."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.s, self.p = W, b, stride, pad

    def forward(self, x):
        self.x = x
        xp = np.pad(x, ((0, 0), (0, 0), (self.p, self.p), (self.p, self.p)))
        f, c, kh, kw = self.W.shape
        ho, wo = (xp.shape[2] - kh) // self.s + 1, (xp.shape[3] - kw) // self.s + 1
        out = np.empty((x.shape[0], f, ho, wo))
        for i in range(ho):
            for j in range(wo):
                win = xp[:, :, i * self.s:i * self.s + kh, j * self.s:j * self.s + kw]
                out[:, :, i, j] = np.tensordot(win, self.W, axes=([1, 2, 3], [1, 2, 3])) + self.b
        return out

    def backward(self, dout):
        s, p = self.s, self.p
        xp = np.pad(self.x, ((0, 0), (0, 0), (p, p), (p, p)))
        dxp = np.zeros_like(xp)
        f, c, kh, kw = self.W.shape
        self.dW, self.db = np.zeros_like(self.W), dout.sum(axis=(0, 2, 3))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
                self.dW += np.tensordot(dout[:, :, i, j], win, axes=([0], [0]))
                dxp[:, :, i * s:i * s + kh, j * s:j * s + kw] += np.tensordot(dout[:, :, i, j], self.W, axes=([1], [0]))
        return dxp[:, :, p:p + self.x.shape[2], p:p + self.x.shape[3]]


def test_conv_correct(capsys):
    checks.conv_layer(Conv)
    assert "conv_layer" in capsys.readouterr().out
    checks.conv_layer(ConvLoops)


# --------------------------------------------------------------------------- Conv: mistakes
class ConvAssigns(Conv):
    def col2im(self, dcol, kh, kw):
        return col2im(dcol, self.x_shape, kh, kw, self.stride, self.pad, self.ho, self.wo, add=False)


class ConvKeepsPadding(Conv):
    def col2im(self, dcol, kh, kw):
        return col2im(dcol, self.x_shape, kh, kw, self.stride, self.pad, self.ho, self.wo, crop=False)


class ConvFlatDout(Conv):
    def flat_dout(self, dout, f):
        return dout.reshape(-1, f)


class ConvDwLayout(Conv):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = (self.col.T @ self.flat_dout(dout, self.W.shape[0])).reshape(self.W.shape)
        return dx


class ConvDbAxis(Conv):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.sum(axis=0)
        return dx


class ConvFold(Conv):
    def fold(self, out, n, f):
        return out.reshape(n, f, self.ho, self.wo)


class ConvCopies(Conv):
    def __init__(self, W, b, stride=1, pad=0):
        super().__init__(W.copy(), b.copy(), stride, pad)


class ConvAccumulates(Conv):
    def backward(self, dout):
        old = self.dW
        dx = super().backward(dout)
        if old is not None:
            self.dW = self.dW + old
        return dx


class ConvStub(Conv):
    def backward(self, dout):
        raise NotImplementedError


@pytest.mark.parametrize("cls, key, values", [
    (ConvAssigns, "ch05l.overlap", {}),
    (ConvKeepsPadding, "ch05l.dx_pad", {}),
    (ConvFlatDout, "ch05l.dout_layout", {}),
    (ConvDwLayout, "ch05l.dw_layout", {}),
    (ConvDbAxis, "ch05l.db_axes", {}),
    (ConvFold, "ch05l.out_layout", {}),
    (ConvCopies, "ch05l.by_reference", {"names": "W, b", "attr": "W"}),
    (ConvAccumulates, "ch05l.accumulate", {"attr": "dW"}),
    (ConvStub, "check.stub", {}),
])
def test_conv_mistakes(cls, key, values):
    fails_then_form(lambda: checks.conv_layer(cls), key, **values)


class ConvStepsInBackward(Conv):
    """backward also takes an SGD step on the caller's W (in place), then dx uses the new W."""

    def backward(self, dout):
        f, c, kh, kw = self.W.shape
        d = self.flat_dout(dout, f)
        self.dW = (d.T @ self.col).reshape(self.W.shape)
        self.db = d.sum(axis=0)
        self.W -= 0.1 * self.dW
        return self.col2im(d @ self.W.reshape(f, -1), kh, kw)


class ConvFlipsCallersW(Conv):
    """A true convolution by flipping the caller's W once, in place, in __init__."""

    def __init__(self, W, b, stride=1, pad=0):
        W[...] = W[:, :, ::-1, ::-1].copy()
        super().__init__(W, b, stride, pad)


class ConvShiftsBiasInForward(Conv):
    def forward(self, x):
        out = super().forward(x)
        self.b += 1e-3  # a "bias step" inside forward
        return out


@pytest.mark.parametrize("cls, where, names", [
    (ConvStepsInBackward, "backward", "W"), (ConvFlipsCallersW, "__init__", "W"), (ConvShiftsBiasInForward, "forward", "b"),
])
def test_conv_that_changes_its_parameters_fails(cls, where, names):
    message = assert_fails(lambda: checks.conv_layer(cls), [hint("ch05l.params_changed", where=where, names=names)])
    assert t("ch05l.case_numeric", x=(1, 1, 4, 4), w=(1, 1, 3, 3), s=1, p=0) in message  # the first case already


def test_conv_assign_fails_on_an_overlapping_case():
    first_overlapping = t("ch05l.case_numeric", x=(1, 1, 4, 4), w=(1, 1, 3, 3), s=1, p=0)  # 3×3 windows, stride 1
    assert_fails(lambda: checks.conv_layer(ConvAssigns), [hint("ch05l.overlap"), first_overlapping])


# --------------------------------------------------------------------------- Dropout
class Dropout:
    def __init__(self, ratio=0.5):
        self.ratio, self.mask = ratio, None

    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = np.random.rand(*x.shape) >= self.ratio
        return x * self.mask / (1 - self.ratio)

    def backward(self, dout):
        return dout * self.mask / (1 - self.ratio)


class DropoutScaleArray:
    """Unusual but correct: its own generator, the mask stored already scaled."""

    def __init__(self, ratio=0.5):
        self.ratio, self.rng = ratio, np.random.default_rng()

    def forward(self, x, train=True):
        if not train:
            return x.copy()
        self.scale = (self.rng.random(x.shape) > self.ratio) / (1.0 - self.ratio)
        return x * self.scale

    def backward(self, dout):
        return dout * self.scale


def test_dropout_correct(capsys):
    checks.dropout(Dropout)
    assert "dropout" in capsys.readouterr().out
    checks.dropout(DropoutScaleArray)


class NotInverted(Dropout):
    def forward(self, x, train=True):
        if not train:
            return x * (1 - self.ratio)
        self.mask = np.random.rand(*x.shape) >= self.ratio
        return x * self.mask


class TimesKeep(Dropout):
    def forward(self, x, train=True):
        return super().forward(x, train) * (1 - self.ratio) ** 2 if train else x


class Reversed(Dropout):
    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = np.random.rand(*x.shape) < self.ratio
        return x * self.mask / (1 - self.ratio)


class EvalDrops(Dropout):
    def forward(self, x, train=True):
        return super().forward(x, True)


class EvalScaled(Dropout):
    def forward(self, x, train=True):
        return super().forward(x, train) if train else x * (1 - self.ratio)


class NewMaskInBackward(Dropout):
    def backward(self, dout):
        return dout * (np.random.rand(*dout.shape) >= self.ratio) / (1 - self.ratio)


class BackwardUnscaled(Dropout):
    def backward(self, dout):
        return dout * self.mask


class PerRow(Dropout):
    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = np.broadcast_to(np.random.rand(x.shape[0], *([1] * (x.ndim - 1))) >= self.ratio, x.shape)
        return x * self.mask / (1 - self.ratio)


class Reseeds(Dropout):
    def forward(self, x, train=True):
        np.random.seed(1)
        return super().forward(x, train)


@pytest.mark.parametrize("cls, key", [
    (NotInverted, "ch05n.not_inverted"), (TimesKeep, "ch05n.times_keep"), (Reversed, "ch05n.drop_reversed"),
    (EvalDrops, "ch05n.eval_drops"), (EvalScaled, "ch05n.eval_scaled"), (NewMaskInBackward, "ch05n.backward_mask"),
    (BackwardUnscaled, "ch05n.backward_scale"), (PerRow, "ch05n.per_unit"), (Reseeds, "ch05n.same_mask"),
])
def test_dropout_mistakes(cls, key):
    fails_then_form(lambda: checks.dropout(cls), key)


class DropsChannelMaps(Dropout):
    """Whole (H, W) maps dropped on x (N, C, H, W), as nn.Dropout2d; unit by unit on x (N, D)."""

    def forward(self, x, train=True):
        if not train or x.ndim != 4:
            return super().forward(x, train)
        self.mask = np.broadcast_to(np.random.rand(*x.shape[:2], 1, 1) >= self.ratio, x.shape)
        return x * self.mask / (1 - self.ratio)


class SharedAlongHeight(Dropout):
    """On x (N, C, H, W) one mask row shared by every H position: each map still mixes."""

    def forward(self, x, train=True):
        if not train or x.ndim != 4:
            return super().forward(x, train)
        n, c, h, w = x.shape
        self.mask = np.broadcast_to(np.random.rand(n, c, 1, w) >= self.ratio, x.shape)
        return x * self.mask / (1 - self.ratio)


class ScaleJustOff(Dropout):
    """Kept units with |x| < 0.6 scaled by c·(1 + 1e-5) + 1.5e-8, c = 1/(1 − ratio): the scale is just
    outside rtol 1e-5 while np.isclose(out, x·c, rtol=1e-5) (atol not divided by |x|) still holds."""

    def forward(self, x, train=True):
        out = super().forward(x, train)
        if not train or self.ratio == 0:
            return out
        c = 1 / (1 - self.ratio)
        return np.where(self.mask & (np.abs(x) < 0.6), x * (c * (1 + 1e-5) + 1.5e-8), out)


def test_dropout_4d_units_are_dropped_independently():
    case_4d = t("ch05n.case_4d")
    assert_fails(lambda: checks.dropout(DropsChannelMaps), [hint("ch05n.per_map"), case_4d])
    assert_fails(lambda: checks.dropout(SharedAlongHeight), [hint("ch05n.per_axis", axis=2, name="H"), case_4d])


def test_dropout_scale_just_outside_the_tolerance_is_named_not_a_crash():
    message = assert_fails(lambda: checks.dropout(ScaleJustOff), [hint("ch05n.kept_value")])
    assert t("ch05n.case_forward_default", ratio=0.5) in message


def test_dropout_restores_numpy_random_state():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    checks.dropout(Dropout)
    assert np.random.rand() == expected


# --------------------------------------------------------------------------- BatchNorm
class BatchNorm:
    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma, self.beta, self.eps = gamma, beta, eps
        self.running_mean = self.running_var = None

    def stats(self, x):
        return x.mean(axis=0), x.var(axis=0)

    def running_update(self, x, mu, var):
        n = len(x)
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        self.running_mean = 0.9 * self.running_mean + 0.1 * mu
        self.running_var = 0.9 * self.running_var + 0.1 * var * n / (n - 1)

    def forward(self, x, train=True):
        if train:
            mu, var = self.stats(x)
            self.running_update(x, mu, var)
        else:
            if self.running_mean is None:
                self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
            mu, var = self.running_mean, self.running_var
        self.std = self.root(var)
        self.xhat = (x - mu) / self.std
        return self.gamma * self.xhat + self.beta

    def root(self, var):
        return np.sqrt(var + self.eps)

    def backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * self.xhat).sum(axis=0)
        return self.dx(dout)

    def dx(self, dout):
        g = dout * self.gamma
        return (g - g.mean(0) - self.xhat * (g * self.xhat).mean(0)) / self.std


class BatchNormGraph:
    """Unusual but correct: the computational graph step by step, biased running variance."""

    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma, self.beta, self.eps = gamma, beta, eps
        self.rm, self.rv = 0.0, 1.0

    def forward(self, x, train=True):
        if not train:
            return self.gamma * (x - self.rm) / np.sqrt(self.rv + self.eps) + self.beta
        self.n = len(x)
        self.xc = x - x.mean(0)
        self.var = (self.xc ** 2).mean(0)
        self.std = np.sqrt(self.var + self.eps)
        self.xn = self.xc / self.std
        self.rm = 0.9 * self.rm + 0.1 * x.mean(0)
        self.rv = 0.9 * self.rv + 0.1 * self.var
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        self.dbeta, self.dgamma = dout.sum(0), (self.xn * dout).sum(0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum(dxn * self.xc / self.std ** 2, axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += 2.0 / self.n * self.xc * dvar
        return dxc - dxc.mean(0)


def test_batchnorm_correct(capsys):
    checks.batchnorm(BatchNorm)
    assert "batchnorm" in capsys.readouterr().out
    checks.batchnorm(BatchNormGraph)


class Axis1(BatchNorm):
    def stats(self, x):
        return x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)


class Unbiased(BatchNorm):
    def stats(self, x):
        return x.mean(axis=0), x.var(axis=0, ddof=1)


class EpsOutside(BatchNorm):
    def root(self, var):
        return np.sqrt(var) + self.eps


class NaiveDx(BatchNorm):
    def dx(self, dout):
        return dout * self.gamma / self.std


class NoVarTerm(BatchNorm):
    def dx(self, dout):
        g = dout * self.gamma
        return (g - g.mean(0)) / self.std


class DgammaNoXhat(BatchNorm):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = dout.sum(axis=0)
        return dx


class DbetaNotSummed(BatchNorm):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dbeta = dout
        return dx


class EvalBatchStats(BatchNorm):
    def forward(self, x, train=True):
        return super().forward(x, True)


class SwappedMomentum(BatchNorm):
    def running_update(self, x, mu, var):
        n = len(x)
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        self.running_mean = 0.1 * self.running_mean + 0.9 * mu
        self.running_var = 0.1 * self.running_var + 0.9 * var * n / (n - 1)


class VarFromZero(BatchNorm):
    def running_update(self, x, mu, var):
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        self.running_mean = 0.9 * self.running_mean + 0.1 * mu
        self.running_var = 0.9 * self.running_var + 0.1 * var


class CopiesGamma(BatchNorm):
    def __init__(self, gamma, beta, eps=1e-5):
        super().__init__(np.array(gamma), np.array(beta), eps)


@pytest.mark.parametrize("cls, key, values", [
    (Axis1, "ch05n.axis", {}), (Unbiased, "ch05n.ddof", {}), (EpsOutside, "ch05n.eps_outside", {}),
    (NaiveDx, "ch05n.dx_naive", {}), (NoVarTerm, "ch05n.dx_var", {}), (DgammaNoXhat, "ch05n.dgamma", {"D": 3}),
    (DbetaNotSummed, "ch05n.dbeta", {"D": 3}), (EvalBatchStats, "ch05n.eval_batch", {}),
    (SwappedMomentum, "ch05n.momentum", {}), (VarFromZero, "ch05n.running_init", {}),
    (CopiesGamma, "ch05l.by_reference", {"names": "gamma, beta", "attr": "gamma"}),
])
def test_batchnorm_mistakes(cls, key, values):
    fails_then_form(lambda: checks.batchnorm(cls), key, **values)


class StepsInBackward(BatchNorm):
    """backward also takes an SGD step on the caller's gamma and beta, in place."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.gamma -= 0.1 * self.dgamma
        self.beta -= 0.1 * self.dbeta
        return dx


class ScalesGammaInInit(BatchNorm):
    def __init__(self, gamma, beta, eps=1e-5):
        gamma *= 1.0 + 1e-3
        super().__init__(gamma, beta, eps)


class ShiftsBetaInEval(BatchNorm):
    """Changes beta only on train=False: the running-statistics cases catch it."""

    def forward(self, x, train=True):
        if not train:
            self.beta += 1e-3
        return super().forward(x, train)


@pytest.mark.parametrize("cls, where, names", [
    (StepsInBackward, "backward", "gamma, beta"), (ScalesGammaInInit, "__init__", "gamma"),
    (ShiftsBetaInEval, "forward", "beta"),
])
def test_batchnorm_that_changes_its_parameters_fails(cls, where, names):
    assert_fails(lambda: checks.batchnorm(cls), [hint("ch05l.params_changed", where=where, names=names)])


def test_batchnorm_without_eps_is_named():
    class NoEps(BatchNorm):
        def root(self, var):
            return np.sqrt(var)

    fails_then_form(lambda: checks.batchnorm(NoEps), "ch05n.no_eps")


def test_checks_are_exported():
    for name in ("conv_layer", "dropout", "batchnorm"):
        assert name in checks.names()
    assert t("ch05n.axis")
