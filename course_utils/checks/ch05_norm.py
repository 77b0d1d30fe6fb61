"""Chapter 05 (third part): the layer ``BatchNorm``.

``batchnorm(BatchNorm)``: ``BatchNorm(gamma, beta, eps=1e-5)`` on x (N, D), against torch's
``F.batch_norm`` and autograd. Running statistics follow PyTorch's convention (``nn.BatchNorm1d``
with its default momentum 0.1): they start at mean 0 and variance 1, and every training forward
does running = 0.9·running + 0.1·(batch statistic); the running variance may use the batch's
unbiased variance (as PyTorch) or its biased one (x.var(axis=0)): both are accepted. The layer
must not change gamma and beta (only the optimiser does): the references use copies of them.
"""
import numpy as np

from ..i18n import register, t
from .ch05_layers import TOL, call_keeping
from .core import (Case, Check, as_array, assert_close, assert_close_or_explain, failure_text, require_callable, seed)
from .layers import about, grad_attr, method, shape_hint, with_form

__all__ = ["batchnorm"]

EPS = 1e-5


# --------------------------------------------------------------------------- batch norm
def _bn_reference(x, gamma, beta, eps=EPS, dout=None):
    import torch
    import torch.nn.functional as F

    grad = dout is not None
    tx, tg, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in (x, gamma, beta))
    out = F.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    if not grad:
        return out.detach().numpy()
    out.backward(torch.from_numpy(dout))
    return out.detach().numpy(), tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()


def _forward_suspects(x, gamma, beta, eps=EPS):
    n = len(x)
    mu, var = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(var + eps)
    axis1 = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + eps) * gamma + beta \
        if x.shape[1] > 1 else None
    return [(axis1, t("ch05n.axis")),
            ((x - mu) / np.sqrt(var * n / (n - 1) + eps) * gamma + beta, with_form("ch05n.ddof")),
            ((x - mu) / (np.sqrt(var) + eps) * gamma + beta, with_form("ch05n.eps_outside")),
            ((x - mu) / np.sqrt(var) * gamma + beta if (var > 0).all() else None, with_form("ch05n.no_eps")),
            (xhat, with_form("ch05n.no_affine"))]


def _backward_suspects(x, gamma, dout, eps=EPS):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    k = gamma / np.sqrt(x.var(0) + eps)
    return [(dout * k, with_form("ch05n.dx_naive")),
            (k * (dout - dout.mean(0)), with_form("ch05n.dx_var")),
            (k * (dout - xhat * (dout * xhat).mean(0)), with_form("ch05n.dx_mean"))]


def _bn_case(BatchNorm, x, gamma, beta, dout):
    params, g0, b0 = {"gamma": gamma, "beta": beta}, gamma.copy(), beta.copy()  # the references use the copies
    layer = call_keeping(params, "__init__", BatchNorm, gamma, beta)
    out = call_keeping(params, "forward", method(layer, "forward"), x)
    ref, dx_ref, dg_ref, db_ref = _bn_reference(x, g0, b0, dout=dout)
    with about("forward(x)"):
        assert_close_or_explain(out, ref, _forward_suspects(x, g0, b0), nonfinite=with_form("ch05n.nonfinite"),
                                rtol=1e-6, atol=1e-7)
    dx = call_keeping(params, "backward", method(layer, "backward"), dout)
    for attr, expected, wrong in (("dbeta", db_ref, dout.mean(0)), ("dgamma", dg_ref, dout.sum(0))):
        text = with_form(f"ch05n.{attr}", D=x.shape[1])
        with about(attr):
            assert_close_or_explain(grad_attr(layer, attr), expected, [(wrong, text)],
                                    unexplained=shape_hint(grad_attr(layer, attr), expected.shape, [(x.shape, text)]))
    with about("dx = backward(dout)"):
        assert_close_or_explain(dx, dx_ref, _backward_suspects(x, g0, dout), rtol=1e-5, atol=1e-7)


def _running(batches, unbiased, momentum=0.1, var0=1.0):
    """The running (mean, var) after the training batches, PyTorch's rule by default."""
    mean, var = np.zeros(batches[0].shape[1]), np.full(batches[0].shape[1], var0)
    for b in batches:
        v = b.var(0, ddof=1 if unbiased else 0)
        mean, var = (1 - momentum) * mean + momentum * b.mean(0), (1 - momentum) * var + momentum * v
    return mean, var


def _check_running(c, BatchNorm, rng):
    D = 5
    gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
    batches = [rng.normal(loc=3.0, scale=2.0, size=(16, D)) for _ in range(4)]
    x_eval = rng.normal(loc=3.0, scale=2.0, size=(6, D))
    params = {"gamma": gamma, "beta": beta}
    layer = call_keeping(params, "__init__", BatchNorm, gamma, beta)

    def evaluated(mean, var):
        return gamma * (x_eval - mean) / np.sqrt(var + EPS) + beta

    for k, batch in enumerate(batches, start=1):
        c.case(t("ch05n.case_running", k=k))
        call_keeping(params, "forward", method(layer, "forward"), batch)
        got = call_keeping(params, "forward", layer.forward, x_eval, train=False)
        if failure_text(assert_close, got, evaluated(*_running(batches[:k], False)), rtol=1e-6, atol=1e-8) is None:
            continue  # the biased running variance, accepted
        suspects = [(_bn_reference(x_eval, gamma, beta), t("ch05n.eval_batch")),
                    (evaluated(np.zeros(D), np.ones(D)), with_form("ch05n.running_never"))]
        for unbiased in (True, False):
            suspects += [(evaluated(*_running(batches[:k], unbiased, momentum=0.9)), t("ch05n.momentum")),
                         (evaluated(*_running(batches[:k], unbiased, momentum=1.0)), with_form("ch05n.running_last")),
                         (evaluated(*_running(batches[:k], unbiased, var0=0.0)), t("ch05n.running_init"))]
        with about("forward(x, train=False)"):
            assert_close_or_explain(got, evaluated(*_running(batches[:k], True)), suspects, rtol=1e-6, atol=1e-8)
    c.case(t("ch05n.case_eval_frozen"))
    with about("forward(x, train=False)"):
        before = as_array(call_keeping(params, "forward", layer.forward, x_eval, train=False), x_eval.shape)
        call_keeping(params, "forward", layer.forward, rng.normal(loc=-5.0, size=(8, D)), train=False)
        assert_close_or_explain(call_keeping(params, "forward", layer.forward, x_eval, train=False), before,
                                unexplained=t("ch05n.eval_updates"),
                                rtol=1e-6, atol=1e-8)


def _bn_cases(rng):
    """The training cases: the arguments are (x, gamma, beta, dout)."""
    constant = rng.normal(size=(6, 3))
    constant[:, 1] = 2.5            # variance 0: only eps keeps it finite
    tiny = rng.normal(size=(8, 4)) * [1.0, 1e-3, 10.0, 1.0]   # variance 1e-6 < eps
    inputs = [("ch05n.case_shape", rng.normal(size=(4, 3))),
              ("ch05n.case_scales", rng.normal(loc=3.0, size=(32, 5)) * [0.1, 1, 10, 100, 1]),
              ("ch05n.case_constant", constant), ("ch05n.case_tiny", tiny),
              ("ch05n.case_shape", rng.normal(size=(2, 7))), ("ch05n.case_shape", rng.normal(size=(64, 1)))]
    cases = []
    for key, x in inputs:  # gamma, beta and dout drawn case by case, after every x
        D = x.shape[1]
        cases.append(Case(key, (x, rng.uniform(0.5, 2.0, D), rng.normal(size=D), rng.normal(size=x.shape)),
                          values={"shape": x.shape}))
    return cases


def batchnorm(BatchNorm):
    """Check the class ``BatchNorm(gamma, beta, eps=1e-5)``; see the module docstring."""
    rng = np.random.default_rng(seed(17))
    with Check("batchnorm") as c, np.errstate(all="ignore"):
        c.case(t("ch05l.case_class"))
        require_callable(BatchNorm, "BatchNorm")
        for case in _bn_cases(rng):
            c.case(t("ch05n.case_train", name=case.title))
            _bn_case(BatchNorm, *case.args)
        c.case(t("ch05l.case_reference", names="gamma, beta"))
        x = rng.normal(size=(10, 4))
        gamma, beta = rng.uniform(0.5, 2.0, 4), rng.normal(size=4)
        params = {"gamma": gamma, "beta": beta}
        layer = call_keeping(params, "__init__", BatchNorm, gamma, beta)
        call_keeping(params, "forward", method(layer, "forward"), x)
        gamma *= 3.0  # what the optimiser does, in place
        beta -= 1.0
        with about("forward(x)"):
            assert_close_or_explain(call_keeping(params, "forward", layer.forward, x), _bn_reference(x, gamma, beta),
                                    unexplained=with_form("ch05l.by_reference", names="gamma, beta", attr="gamma"), **TOL)
        c.case(t("ch05n.case_latest"))
        x2, dout = rng.normal(loc=1.0, size=(10, 4)), rng.normal(size=(10, 4))
        call_keeping(params, "forward", layer.forward, x2)
        dx = call_keeping(params, "backward", method(layer, "backward"), dout)
        _, dx_ref, dg_ref, _ = _bn_reference(x2, gamma, beta, dout=dout)
        _, _, dg_old, _ = _bn_reference(x, gamma, beta, dout=dout)
        with about("dgamma"):
            assert_close_or_explain(grad_attr(layer, "dgamma"), dg_ref, [(dg_old, t("ch05l.stale"))], **TOL)
        with about("dx = backward(dout)"):
            assert_close_or_explain(dx, dx_ref, rtol=1e-5, atol=1e-7)
        _check_running(c, BatchNorm, rng)


register({
    "ch05n.case_running": {"ja": "学習の forward {k} 回の後の train=False: 移動平均 (momentum 0.1、初期値 0 と 1)",
                           "en": "train=False after {k} training forward(s): running mean / var (momentum 0.1, from 0 and 1)"},
    "ch05n.case_eval_frozen": {"ja": "train=False では移動平均を変えない", "en": "train=False does not change the running statistics"},
    "ch05n.case_train": {"ja": "学習時の forward / backward, {name}", "en": "forward / backward (train), {name}"},
    "ch05n.case_latest": {"ja": "forward を 2 回 → backward は最後の入力で", "en": "forward twice, then backward: the latest input counts"},
    "ch05n.case_shape": {"ja": "x {shape}", "en": "x {shape}"},
    "ch05n.case_scales": {"ja": "x (32, 5)、列ごとに大きさが違う", "en": "x (32, 5), different scales"},
    "ch05n.case_constant": {"ja": "x (6, 3)、値が一定の列を含む", "en": "x (6, 3) with a constant column"},
    "ch05n.case_tiny": {"ja": "x (8, 4)、分散 1e-6 (eps より小さい) の列を含む", "en": "x (8, 4), one column of variance 1e-6 (below eps)"},
    "ch05n.axis": {"ja": "正規化の軸が違います。x (N, D) のバッチ方向 axis=0 で平均と分散を取ります。",
                   "en": "Wrong axis: take the mean and variance over the batch, axis=0 of x (N, D)."},
    "ch05n.ddof": {"ja": "分散を不偏分散 (ddof=1) で計算しています。正規化には標本分散 (ddof=0) を使います "
                         "(torch も同じです)。",
                   "en": "You normalised with the unbiased variance (ddof=1); use the plain variance (ddof=0), as "
                         "torch does."},
    "ch05n.ddof_form": {"ja": " 書き方: x.var(axis=0)", "en": " The form: x.var(axis=0)"},
    "ch05n.eps_outside": {"ja": "eps を平方根の外で足しています。torch は平方根の中で分散に足します。",
                          "en": "eps is added outside the square root; torch adds it to the variance, inside."},
    "ch05n.eps_outside_form": {"ja": " 式: sqrt(var + eps)", "en": " The formula: sqrt(var + eps)"},
    "ch05n.no_eps": {"ja": "eps を足していません (torch は分散に eps を足してから平方根を取ります)。",
                     "en": "eps is missing (torch adds eps to the variance before the square root)."},
    "ch05n.no_eps_form": {"ja": " 式: x̂ = (x − μ) / sqrt(var + eps)", "en": " The formula: x̂ = (x − μ) / sqrt(var + eps)"},
    "ch05n.no_affine": {"ja": "x̂ を返しています。最後に gamma で拡大し beta でずらす処理が残っています。",
                        "en": "You returned x̂; the scale by gamma and the shift by beta are still missing."},
    "ch05n.no_affine_form": {"ja": " 式: y = gamma * x̂ + beta", "en": " The formula: y = gamma * x̂ + beta"},
    "ch05n.nonfinite": {"ja": "値が一定の列 (分散 0) で NaN / inf になりました。eps を忘れていませんか?",
                        "en": "A constant column (variance 0) gave NaN / inf: did you forget eps?"},
    "ch05n.nonfinite_form": {"ja": " 式: sqrt(var + eps)", "en": " The formula: sqrt(var + eps)"},
    "ch05n.dbeta": {"ja": "dbeta は dout のバッチ方向の和で、形は ({D},) です。",
                    "en": "dbeta is dout summed over the batch, shape ({D},)."},
    "ch05n.dbeta_form": {"ja": " 書き方: dout.sum(axis=0)", "en": " The form: dout.sum(axis=0)"},
    "ch05n.dgamma": {"ja": "dgamma は dout と正規化後の値 x̂ の積をバッチ方向に足したもので、形は ({D},) です。",
                     "en": "dgamma sums dout times the normalised input x̂ over the batch, shape ({D},)."},
    "ch05n.dgamma_form": {"ja": " 書き方: (dout * x̂).sum(axis=0)", "en": " The form: (dout * x̂).sum(axis=0)"},
    "ch05n.dx_naive": {"ja": "dx = dout·γ/σ としていませんか? 平均 μ と分散 σ² も x から計算されるので、その経路の"
                             "勾配も入ります。",
                       "en": "Did you use dx = dout·γ/σ? The mean μ and variance σ² are computed from x too, and their "
                             "paths add to the gradient."},
    "ch05n.dx_naive_form": {"ja": " 式: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂)) (mean は axis=0)",
                            "en": " The formula: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂)) (means over axis 0)"},
    "ch05n.dx_var": {"ja": "dx に分散 σ² を通る項がありません。", "en": "dx lacks the term through the variance σ²."},
    "ch05n.dx_var_form": {"ja": " 式: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂))",
                          "en": " The formula: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂))"},
    "ch05n.dx_mean": {"ja": "dx に平均 μ を通る項 (− mean(dout)) がありません。",
                      "en": "dx lacks the term through the mean μ (− mean(dout))."},
    "ch05n.dx_mean_form": {"ja": " 式: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂))",
                           "en": " The formula: dx = (γ/σ)·(dout − mean(dout) − x̂·mean(dout·x̂))"},
    "ch05n.eval_batch": {"ja": "train=False でもそのバッチの平均・分散で正規化しています。推論時は学習中に集めた移動平均 "
                               "(running mean / var) を使います。",
                         "en": "With train=False you normalised with the batch's own statistics; inference uses the "
                               "running mean / var collected during training."},
    "ch05n.running_init": {"ja": "移動平均の初期値は PyTorch と同じく平均 0、分散 1 です (分散を 0 から始めていませんか?)。",
                           "en": "The running statistics start, as in PyTorch, at mean 0 and variance 1 (did the variance "
                                 "start at 0?)."},
    "ch05n.running_never": {"ja": "移動平均が更新されていません。学習時の forward のたびに (momentum 0.1 で) "
                                  "更新してください。",
                            "en": "The running statistics were never updated: update them on every training forward "
                                  "(momentum 0.1)."},
    "ch05n.running_never_form": {"ja": " 式: running = 0.9·running + 0.1·(バッチの値)",
                                 "en": " The rule: running = 0.9·running + 0.1·(batch statistic)"},
    "ch05n.momentum": {"ja": "移動平均の重みが逆です。PyTorch (momentum=0.1) と同じく、古い値に 0.9、"
                             "新しいバッチに 0.1 をかけます。",
                       "en": "The weights of the moving average are swapped: as PyTorch (momentum=0.1), 0.9 on the old "
                             "value and 0.1 on the new batch."},
    "ch05n.running_last": {"ja": "移動平均ではなく最後のバッチの統計量を使っています。",
                           "en": "You kept the last batch's statistics instead of a moving average."},
    "ch05n.running_last_form": {"ja": " 式: running = 0.9·running + 0.1·(バッチの値)",
                                "en": " The rule: running = 0.9·running + 0.1·(batch statistic)"},
    "ch05n.eval_updates": {"ja": "train=False の forward が移動平均を書き換えています。推論時は統計量を更新しません。",
                           "en": "A train=False forward changed the running statistics; inference must not update them."},
})
