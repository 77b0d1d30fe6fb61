"""Chapter 03: backpropagation — the layer classes Affine, ReLU and SoftmaxWithLoss.

``layers(Affine, ReLU, SoftmaxWithLoss)`` builds the student's layers on the cases below and
compares forward values and backward gradients with central-difference numerical gradients of
the reference functions (float64, :func:`.layers.numerical_gradient`), with torch's cross-entropy,
and finally with torch autograd on a small two-layer network built from the student's classes.

Each case is a :class:`.core.Case` whose ``args`` are its arrays; each array is compared with
:func:`.core.compare` inside :func:`_about`, which names the array in the failure ("In db: ...") and
shows its formula (:data:`FORMS`) only when the same case fails again. The named mistakes are
:class:`.core.Mistake` records on the case's arrays (db summed over the wrong axis or averaged, a
layer that copied W and b, a backward that kept the first x, a summed loss, a gradient N times too
big or of the wrong sign); ReLU's backward is judged position by position (a gradient leaking
through x < 0, one blocked at x > 0; at x == 0 both 0 and dout are accepted).
"""
import contextlib

import numpy as np

from ..i18n import register, t
from .core import Case, Check, Failure, Mistake, as_array, call, compare, expect, fail, on_repeat, require_callable, seed
from .layers import grad_attr, method, numerical_gradient

__all__ = ["layers"]

TOL = {"rtol": 1e-5, "atol": 1e-7}
LOSS_TOL = {"rtol": 1e-4, "atol": 1e-5}  # room for the common log(y + 1e-7)
FORMS = {"forward(x)": "x @ W + b", "db": "dout.sum(axis=0)", "dW": "x.T @ dout", "dx": "dout @ W.T",
         "backward()": "(y − t)/N"}  # each array's formula, shown when the same case fails again


@contextlib.contextmanager
def _about(what: str, lead: str | None = None):
    """Name the array ``what`` in any failure inside the block (after ``lead``, if given), and add its
    formula from :data:`FORMS` when the same case fails again."""
    try:
        yield
    except Failure as failure:
        detail = t("ch03.what", what=what, detail=str(failure))
        form = on_repeat("\n" + t("ch03.form", form=f"{what} = {FORMS[what]}")) if what in FORMS else ""
        raise Failure(f"{lead}\n{detail}{form}" if lead else detail + form) from None


def _loss_value(loss) -> np.ndarray:
    """The loss as one number (a 0-d array); fails unless it is one number."""
    arr = as_array(loss)
    expect(arr.size == 1, t("ch03.loss_scalar", shape=arr.shape))
    return arr.reshape(())


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce(x, labels) -> float:
    """Mean cross-entropy of logits x (N, C) against class indices, via torch."""
    import torch
    import torch.nn.functional as F

    return float(F.cross_entropy(torch.from_numpy(x), torch.from_numpy(labels)))


def _large(x) -> str | None:
    """The hint for NaN / inf on logits around 1000 (or spanning thousands), else None."""
    return t("ch03.large") if np.abs(x).max() > 100 else None


# --------------------------------------------------------------------------- Affine

DB_MISTAKES = [Mistake(lambda x, W, b, dout: dout.sum(axis=1), "ch03.db_axis"),  # on a case's (x, W, b, dout)
               Mistake(lambda x, W, b, dout: dout.mean(axis=0), "ch03.db_mean")]


def _affine_cases(rng) -> list:
    cases = []
    for N, D, M in [(1, 3, 2), (4, 5, 3), (7, 2, 6), (3, 3, 3)]:
        W, b = rng.normal(size=(D, M)), rng.normal(size=M)
        x, dout = rng.normal(size=(N, D)), rng.normal(size=(N, M))
        cases.append(Case("ch03.case.affine", (x, W, b, dout), values={"N": N, "D": D, "M": M}))
    return cases


def _shape_hint(got, shape, key) -> str | None:
    """The hint ``key`` when the answer has another shape than ``shape``."""
    return t(key, shape=shape) if np.shape(as_array(got)) != shape else None


def _check_affine(c, Affine, rng):
    for case in _affine_cases(rng):
        c.case(case.title)
        x, W, b, dout = case.args
        layer = call(Affine, W.copy(), b.copy())
        out = call(method(layer, "forward"), x.copy())
        with _about("forward(x)"):
            compare(out, x @ W + b, **TOL)
        dx = call(method(layer, "backward"), dout.copy())
        dW, db = grad_attr(layer, "dW"), grad_attr(layer, "db")
        # expected gradients: central differences of L = sum(out * dout)
        xs, Ws, bs = x.copy(), W.copy(), b.copy()
        loss = lambda: float(np.sum((xs @ Ws + bs) * dout))
        num_dx, num_dW, num_db = (numerical_gradient(loss, a) for a in (xs, Ws, bs))
        with _about("db"):
            compare(db, num_db, DB_MISTAKES, case.args, **TOL)
        with _about("dW"):
            compare(dW, num_dW, unexplained=_shape_hint(dW, W.shape, "ch03.dw_shape"), **TOL)
        with _about("dx"):
            compare(dx, num_dx, unexplained=_shape_hint(dx, x.shape, "ch03.dx_shape"), **TOL)

    c.case(t("ch03.case.affine_shared"))  # the chapter's optimiser updates the arrays in place
    W, b, x = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))
    layer = call(Affine, W, b)
    W -= 0.5  # params["W1"] -= lr * grads["W1"], as SGD does
    b += 0.25
    out = call(method(layer, "forward"), x.copy())
    with _about("forward(x)"):
        compare(out, x @ W + b, [Mistake(lambda x, W, b: x @ (W + 0.5) + (b - 0.25), "ch03.copied")], (x, W, b), **TOL)

    c.case(t("ch03.case.affine_twice"))
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    x1, x2, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer = call(Affine, W.copy(), b.copy())
    call(method(layer, "forward"), x1.copy())
    call(layer.forward, x2.copy())
    call(method(layer, "backward"), dout.copy())
    with _about("dW"):
        compare(grad_attr(layer, "dW"), x2.T @ dout, [Mistake(lambda x1, dout: x1.T @ dout, "ch03.stale_x")], (x1, dout), **TOL)


# --------------------------------------------------------------------------- ReLU

def _first(mask) -> tuple:
    return tuple(int(k) for k in np.argwhere(mask)[0])


def _relu_case(ReLU, x, dout) -> np.ndarray:
    """Forward and backward of a new ReLU on ``x``; backward judged position by position."""
    layer = call(ReLU)
    out = call(method(layer, "forward"), x.copy())
    with _about("forward(x) = max(0, x)"):
        compare(out, np.maximum(x, 0), **TOL)
    raw = call(method(layer, "backward"), dout.copy())
    with _about("backward(dout)"):
        got = as_array(raw, x.shape).astype(np.float64)
    leak = (x < 0) & ~np.isclose(got, 0)
    if leak.any():
        i = _first(leak)
        fail(t("ch03.relu_leak", index=i, x=x[i], got=got[i]))
    block = (x > 0) & ~np.isclose(got, dout)
    if block.any():
        i = _first(block)
        fail(t("ch03.relu_block", index=i, x=x[i], got=got[i], dout=dout[i]))
    zero = (x == 0) & ~(np.isclose(got, 0) | np.isclose(got, dout))
    if zero.any():
        i = _first(zero)
        fail(t("ch03.relu_zero", index=i, got=got[i], dout=dout[i]))
    return got


def _away_from_zero(rng, shape):
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 0.1, np.sign(x + 1e-12) * 0.1 + x, x)


def _relu_cases(rng) -> list:
    cases = [Case("ch03.case.relu_fixed", (np.array([[-2.0, -0.5, 0.5, 3.0]]), np.array([[1.0, 2.0, 3.0, 4.0]])))]
    for shape in [(3, 5), (2, 3, 4, 4)]:  # dout's signs independent of x
        cases.append(Case("ch03.case.relu_random", (_away_from_zero(rng, shape), rng.normal(size=shape)),
                          values={"shape": shape}))
    cases.append(Case("ch03.case.relu_zero", (np.array([[0.0, -1.0, 2.0], [0.0, 3.0, -0.0]]),
                                              np.array([[5.0, 6.0, 7.0], [-8.0, 9.0, 10.0]]))))
    return cases


def _check_relu(c, ReLU, rng):
    for case in _relu_cases(rng):
        c.case(case.title)
        got = _relu_case(ReLU, *case.args)
        if case.name == "ch03.case.relu_random":  # and against the numerical gradient
            x, dout = (a.copy() for a in case.args)
            with _about("backward(dout)"):
                compare(got, numerical_gradient(lambda: float(np.sum(np.maximum(x, 0) * dout)), x), **TOL)


# --------------------------------------------------------------------------- SoftmaxWithLoss

def _analytic_dx(x, labels):
    return (_softmax(x) - np.eye(x.shape[1])[labels]) / len(x)


LOSS_MISTAKES = [Mistake(lambda x, labels: len(x) * _ce(x, labels), "ch03.loss_sum")]
DX_MISTAKES = [Mistake(lambda x, labels: len(x) * _analytic_dx(x, labels), "ch03.grad_not_mean"),
               Mistake(lambda x, labels: -_analytic_dx(x, labels), "ch03.grad_sign")]


def _spanning_thousands(rng, x, labels):
    """Rows whose logits span thousands: the label and one rival at the top, the rest thousands below
    (only the row maximum keeps every exp finite)."""
    offsets = np.array([-3000.0, -1500.0, 0.0, 2000.0, 4000.0])
    for i in range(len(x)):
        order = rng.permutation(x.shape[1])
        x[i, order] += offsets[:x.shape[1]]
        top, second = order[-1], order[-2]
        x[i, second] = x[i, top] - rng.uniform(0.5, 2.0)
        labels[i] = rng.choice([top, second])
    return x, labels


def _loss_cases(rng) -> list:
    cases = []
    for N, C, logits, kind in [(1, 3, "", "index"), (1, 3, "", "onehot"), (5, 4, "", "index"), (5, 4, "", "onehot"),
                               (5, 4, "", "onehot_int"), (8, 10, "", "index"), (8, 10, "", "onehot"),
                               (6, 3, "large", "index"), (6, 3, "large", "onehot"), (4, 5, "span", "index"),
                               (4, 5, "span", "onehot_int")]:
        x = rng.normal(size=(N, C))
        labels = rng.integers(0, C, size=N).astype(np.int64)
        if logits == "span":
            x, labels = _spanning_thousands(rng, x, labels)
        elif logits == "large":
            x = x + 1000.0
        target = {"index": labels, "onehot": np.eye(C)[labels], "onehot_int": np.eye(C, dtype=int)[labels]}[kind]
        cases.append(Case("ch03.case.loss", (x, target, labels), values={
            "N": N, "C": C, "kind": t(f"ch03.kind.{kind}"), "large": t(f"ch03.kind.{logits}") if logits else ""}))
    return cases


def _check_softmax_loss(c, SoftmaxWithLoss, rng):
    for case in _loss_cases(rng):
        c.case(case.title)
        x, target, labels = case.args
        layer = call(SoftmaxWithLoss)
        loss = _loss_value(call(method(layer, "forward"), x.copy(), target.copy()))
        with _about(t("ch03.what_loss")):
            compare(loss, _ce(x, labels), LOSS_MISTAKES, (x, labels), nonfinite=_large(x), **LOSS_TOL)
        dx = call(method(layer, "backward"))
        if _large(x):  # the analytic gradient: central differences lose every digit at 1000
            expected = _analytic_dx(x, labels)
        else:  # numerical gradient of the mean cross-entropy
            xs = x.copy()
            expected = numerical_gradient(lambda: _ce(xs, labels), xs)
        with _about("backward()"):
            compare(dx, expected, DX_MISTAKES, (x, labels), nonfinite=_large(x), **LOSS_TOL)
        with _about("backward(1)"):
            compare(call(layer.backward, 1), expected, **LOSS_TOL)


# --------------------------------------------------------------------------- all together

def _check_network(c, Affine, ReLU, SoftmaxWithLoss, rng):
    import torch
    import torch.nn.functional as F

    c.case(t("ch03.case.net"))
    N, D, H, C = 6, 5, 7, 4
    x = rng.normal(size=(N, D))
    labels = rng.integers(0, C, size=N).astype(np.int64)
    W1, b1 = rng.normal(size=(D, H)) * 0.5, rng.normal(size=H) * 0.5
    W2, b2 = rng.normal(size=(H, C)) * 0.5, rng.normal(size=C) * 0.5
    a1, r, a2, sl = call(Affine, W1.copy(), b1.copy()), call(ReLU), call(Affine, W2.copy(), b2.copy()), \
        call(SoftmaxWithLoss)
    loss = call(sl.forward, call(a2.forward, call(r.forward, call(a1.forward, x.copy()))), labels.copy())
    dx = call(a1.backward, call(r.backward, call(a2.backward, call(sl.backward))))

    tensors = [torch.tensor(a, requires_grad=True) for a in (x, W1, b1, W2, b2)]
    tx, tW1, tb1, tW2, tb2 = tensors
    ref = F.cross_entropy(torch.relu(tx @ tW1 + tb1) @ tW2 + tb2, torch.from_numpy(labels))
    ref.backward()
    with _about("loss"):
        compare(_loss_value(loss), ref.item(), **LOSS_TOL)
    for name, got, tensor in [("dW1", grad_attr(a1, "dW"), tW1), ("db1", grad_attr(a1, "db"), tb1),
                              ("dW2", grad_attr(a2, "dW"), tW2), ("db2", grad_attr(a2, "db"), tb2),
                              ("dx", dx, tx)]:
        with _about(name, lead=t("ch03.net_grad", name=name)):
            compare(got, tensor.grad.numpy(), **LOSS_TOL)


def layers(Affine, ReLU, SoftmaxWithLoss):
    """Check the classes ``Affine(W, b)``, ``ReLU()`` and ``SoftmaxWithLoss()``.

    Affine: ``forward(x)`` = x @ W + b for x (N, D); ``backward(dout)`` stores ``dW``, ``db``
    and returns dx. ReLU: ``forward(x)``, ``backward(dout)``. SoftmaxWithLoss: ``forward(x, t)``
    returns the mean cross-entropy (t class indices or one-hot), ``backward(dout=1)`` returns
    (y − t)/N.
    """
    rng = np.random.default_rng(seed(3))
    with Check("layers") as c, np.errstate(all="ignore"):  # overflow shows up as a failed case instead
        c.case(t("ch03.case.classes"))
        require_callable(Affine, "Affine")
        require_callable(ReLU, "ReLU")
        require_callable(SoftmaxWithLoss, "SoftmaxWithLoss")
        _check_affine(c, Affine, rng)
        _check_relu(c, ReLU, rng)
        _check_softmax_loss(c, SoftmaxWithLoss, rng)
        _check_network(c, Affine, ReLU, SoftmaxWithLoss, rng)


register({
    "ch03.case.classes": {"ja": "クラスを渡す", "en": "classes"},
    "ch03.case.affine": {"ja": "Affine N={N}, D={D}, M={M}", "en": "Affine N={N}, D={D}, M={M}"},
    "ch03.case.affine_shared": {"ja": "Affine: W, b をその場で (in-place) 更新したあとの forward",
                                "en": "Affine: forward after W and b were updated in place"},
    "ch03.copied": {"ja": "W と b をその場で更新しても forward の結果が変わりません。__init__ で W.copy() などの"
                          "コピーを保存していませんか? この章の最適化手法は params の配列をその場で更新するので、"
                          "層は渡された配列そのものを持っている必要があります (コピーした層は学習しません)。",
                    "en": "Updating W and b in place does not change forward's result: does __init__ store a copy "
                          "(W.copy(), ...)? The chapter's optimiser updates the params arrays in place, so the "
                          "layer must keep the arrays it was given (a layer with copies never learns)."},
    "ch03.case.affine_twice": {"ja": "Affine: forward を 2 回呼び、backward は最後の x を使う",
                               "en": "Affine: forward twice, backward uses the latest x"},
    "ch03.case.relu_fixed": {"ja": "ReLU x = [[-2, -0.5, 0.5, 3]]", "en": "ReLU x = [[-2, -0.5, 0.5, 3]]"},
    "ch03.case.relu_random": {"ja": "ReLU 乱数 {shape}", "en": "ReLU random {shape}"},
    "ch03.case.relu_zero": {"ja": "ReLU で x == 0 (0 でも dout でも可)", "en": "ReLU with x == 0 (0 or dout accepted)"},
    "ch03.case.loss": {"ja": "SoftmaxWithLoss N={N}, C={C}, t は{kind}{large}",
                       "en": "SoftmaxWithLoss N={N}, C={C}, t as {kind}{large}"},
    "ch03.kind.index": {"ja": "クラス番号", "en": "class indices"},
    "ch03.kind.onehot": {"ja": " one-hot (float)", "en": "one-hot (float)"},
    "ch03.kind.onehot_int": {"ja": " one-hot (整数の配列 np.eye(C, dtype=int))", "en": "one-hot integers (np.eye(C, dtype=int))"},
    "ch03.kind.large": {"ja": "、ロジット ≈ 1000", "en": ", logits ≈ 1000"},
    "ch03.kind.span": {"ja": "、1 行のロジットの幅が数千", "en": ", logits spanning thousands in a row"},
    "ch03.case.net": {"ja": "2 層ネット Affine → ReLU → Affine → SoftmaxWithLoss を torch の自動微分と比較",
                      "en": "two-layer net Affine → ReLU → Affine → SoftmaxWithLoss vs torch autograd"},
    "ch03.what_loss": {"ja": "forward(x, t) の損失", "en": "the loss of forward(x, t)"},
    "ch03.what": {"ja": "{what} について: {detail}", "en": "In {what}: {detail}"},
    "ch03.db_axis": {"ja": "db はバッチ方向 (最初の軸) の和で、形は b と同じ (M,) です。別の軸で和を取っていませんか?",
                     "en": "db is the sum over the batch (the first axis), with b's shape (M,). Did you sum over another axis?"},
    "ch03.db_mean": {"ja": "db が dout の平均になっています。db はバッチ方向の和です "
                           "(平均を取る 1/N は SoftmaxWithLoss の backward ですでに入っています)。",
                     "en": "db is the mean of dout; it should be the sum over the batch "
                           "(the 1/N of the mean is already inside SoftmaxWithLoss.backward)."},
    "ch03.dw_shape": {"ja": "dW は W と同じ形 (D, M) = {shape} になるはずです。",
                      "en": "dW must have W's shape (D, M) = {shape}."},
    "ch03.dx_shape": {"ja": "dx は x と同じ形 (N, D) = {shape} になるはずです。",
                      "en": "dx must have x's shape (N, D) = {shape}."},
    "ch03.form": {"ja": "式: {form}", "en": "The formula: {form}"},
    "ch03.stale_x": {"ja": "backward が最後の forward の x を使っていません。"
                           "forward のたびに self.x を更新してください。",
                     "en": "backward does not use the x of the latest forward call; store self.x on every forward."},
    "ch03.relu_leak": {"ja": "ReLU の backward が x < 0 の位置 {index} (x = {x:.3g}) に勾配 {got:.3g} を通しています。"
                             "x ≤ 0 では出力が一定なので、勾配は 0 です (dout に mask をかける)。",
                       "en": "ReLU backward passes gradient {got:.3g} at {index} where x = {x:.3g} < 0. "
                             "The output is constant for x ≤ 0, so the gradient there is 0 (mask dout)."},
    "ch03.relu_block": {"ja": "ReLU の backward が x > 0 の位置 {index} (x = {x:.3g}) で dout = {dout:.3g} をそのまま"
                              "通さず {got:.3g} を返しています。x > 0 では ReLU は恒等関数なので勾配は dout です。",
                        "en": "ReLU backward returns {got:.3g} at {index} where x = {x:.3g} > 0; there ReLU is the "
                              "identity, so the gradient is dout = {dout:.3g} unchanged."},
    "ch03.relu_zero": {"ja": "x == 0 の位置 {index} では 0 か dout ({dout:.3g}) のどちらかを返してください "
                             "(実際: {got:.3g})。",
                       "en": "At {index}, where x == 0, return either 0 or dout ({dout:.3g}); got {got:.3g}."},
    "ch03.loss_sum": {"ja": "損失がバッチの平均の N 倍 (N はバッチサイズ) です。和ではなく平均 (÷ N) を返してください。",
                      "en": "The loss is N times the batch mean (N the batch size): return the mean (÷ N), not the sum."},
    "ch03.loss_scalar": {"ja": "forward(x, t) は損失を 1 つの数 (スカラー) で返します。返り値の形: {shape}",
                         "en": "forward(x, t) returns the loss as one number (a scalar); got shape {shape}."},
    "ch03.grad_not_mean": {"ja": "勾配が正しい値の N 倍 (N はバッチサイズ) です。損失はバッチの平均なので、backward でも"
                                 "バッチサイズ N で割ってください。",
                           "en": "The gradient is N times the right one (N the batch size): the loss is a mean over the batch, "
                                 "so backward divides by the batch size N too."},
    "ch03.grad_sign": {"ja": "勾配の符号が逆です (y は softmax の出力、t は正解)。",
                       "en": "The gradient has the wrong sign (y is the softmax output, t the target)."},
    "ch03.large": {"ja": "ロジットが 1000 前後だと NaN / inf になっています。"
                         "softmax の前に各行の最大値を引いてください。",
                   "en": "Logits around 1000 give NaN / inf: subtract each row's maximum before the softmax."},
    "ch03.net_grad": {"ja": "あなたの 3 つのクラスで組んだ 2 層ネット (Affine → ReLU → Affine → SoftmaxWithLoss) の"
                            "勾配 {name} が torch の自動微分 (autograd) と一致しません。",
                      "en": "In the two-layer net built from your classes (Affine → ReLU → Affine → "
                            "SoftmaxWithLoss) the gradient {name} differs from torch autograd."},
})
