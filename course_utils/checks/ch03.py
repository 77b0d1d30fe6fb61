"""Chapter 03: backpropagation — the layer classes Affine, ReLU and SoftmaxWithLoss.

``layers(Affine, ReLU, SoftmaxWithLoss)`` builds the student's layers on random shapes and
compares forward values and backward gradients with central-difference numerical gradients
of the reference functions (float64), with torch's cross-entropy, and finally with torch
autograd on a small two-layer network built from the student's classes.
"""
import numpy as np

from ..i18n import register, t
from .core import Check, Failure, assert_close, call, fail, on_repeat, require_callable, seed, to_numpy
from .layers import grad_attr, method, numerical_gradient

__all__ = ["layers"]

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
    "ch03.db_axis": {"ja": "db はバッチ方向 (最初の軸) の和で、形は b と同じ ({M},) です。"
                           "別の軸で和を取っていませんか?",
                     "en": "db is the sum over the batch (the first axis), with b's shape ({M},). "
                           "Did you sum over another axis?"},
    "ch03.db_mean": {"ja": "db が dout の平均になっています。db はバッチ方向の和です "
                           "(平均を取る 1/N は SoftmaxWithLoss の backward ですでに入っています)。",
                     "en": "db is the mean of dout; it should be the sum over the batch "
                           "(the 1/N of the mean is already inside SoftmaxWithLoss.backward)."},
    "ch03.dw_shape": {"ja": "dW は W と同じ形 (D, M) = {shape} になるはずです。",
                      "en": "dW must have W's shape (D, M) = {shape}."},
    "ch03.dx_shape": {"ja": "dx は x と同じ形 (N, D) = {shape} になるはずです。",
                      "en": "dx must have x's shape (N, D) = {shape}."},
    "ch03.form": {"ja": " 式: {form}", "en": " The formula: {form}"},
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
    "ch03.loss_sum": {"ja": "損失がバッチの平均の約 N = {N} 倍です。和ではなく平均 (÷ N) を返してください。",
                      "en": "The loss is about N = {N} times the batch mean: return the mean (÷ N), not the sum."},
    "ch03.loss_scalar": {"ja": "forward(x, t) は損失を 1 つの数 (スカラー) で返します。返り値の形: {shape}",
                         "en": "forward(x, t) returns the loss as one number (a scalar); got shape {shape}."},
    "ch03.grad_not_mean": {"ja": "勾配が正しい値の N = {N} 倍です。損失はバッチの平均なので、backward でも"
                                 "バッチサイズ N で割ってください。",
                           "en": "The gradient is N = {N} times the right one: the loss is a mean over the batch, so "
                                 "backward divides by the batch size N too."},
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

TOL = dict(rtol=1e-5, atol=1e-7)
LOSS_TOL = dict(rtol=1e-4, atol=1e-5)  # room for the common log(y + 1e-7)


def _what(name, form):
    """The name of an array in a failure, and its formula only when the same case fails again."""
    return name + on_repeat(f" = {form}")


def _form(form):
    return on_repeat(t("ch03.form", form=form))


def _close(got, expected, what, tol=TOL):
    """assert_close whose failure message says which array is wrong."""
    try:
        return assert_close(got, expected, **tol)
    except Failure as e:
        fail(t("ch03.what", what=what, detail=str(e)))


def _numeric(value, shape):
    """The answer as a float64 array when it is numeric with the given shape, else None."""
    arr = to_numpy(value, kind=f"ndarray {shape}")
    if arr.shape != shape or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None
    return arr.astype(np.float64)


def _scalar(loss) -> float:
    """The loss as a float; fails unless it is one number."""
    arr = to_numpy(loss, kind="number")
    if arr.size != 1:
        fail(t("ch03.loss_scalar", shape=arr.shape))
    if not np.issubdtype(arr.dtype, np.number):
        fail(t("check.dtype", expected="number", got=arr.dtype))
    return float(arr.reshape(()))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce(x, labels):
    """Mean cross-entropy of logits x (N, C) against class indices, via torch."""
    import torch
    import torch.nn.functional as F

    return float(F.cross_entropy(torch.from_numpy(x), torch.from_numpy(labels)))


# --------------------------------------------------------------------------- Affine

def _check_affine(c, Affine, rng):
    for N, D, M in [(1, 3, 2), (4, 5, 3), (7, 2, 6), (3, 3, 3)]:
        c.case(t("ch03.case.affine", N=N, D=D, M=M))
        W, b = rng.normal(size=(D, M)), rng.normal(size=M)
        x, dout = rng.normal(size=(N, D)), rng.normal(size=(N, M))
        layer = call(Affine, W.copy(), b.copy())
        out = call(method(layer, "forward"), x.copy())
        _close(out, x @ W + b, _what("forward(x)", "x @ W + b"))
        dx = call(method(layer, "backward"), dout.copy())
        dW, db = grad_attr(layer, "dW"), grad_attr(layer, "db")

        # expected gradients: central differences of L = sum(out * dout)
        xs, Ws, bs = x.copy(), W.copy(), b.copy()
        loss = lambda: float(np.sum((xs @ Ws + bs) * dout))
        num_dx, num_dW, num_db = (numerical_gradient(loss, a) for a in (xs, Ws, bs))

        if np.shape(to_numpy(db)) == (N,) and N != M:
            fail(t("ch03.db_axis", M=M) + _form("db = dout.sum(axis=0)"))
        db_arr = _numeric(db, (M,))
        if db_arr is not None and N > 1 and np.allclose(db_arr, dout.mean(axis=0)):
            fail(t("ch03.db_mean") + _form("db = dout.sum(axis=0)"))
        if db_arr is not None and N == M and np.allclose(db_arr, dout.sum(axis=1)) \
                and not np.allclose(db_arr, num_db):
            fail(t("ch03.db_axis", M=M) + _form("db = dout.sum(axis=0)"))
        _close(db, num_db, _what("db", "dout.sum(axis=0)"))
        if to_numpy(dW).shape != (D, M):
            fail(t("ch03.dw_shape", shape=(D, M)) + _form("dW = x.T @ dout") + " "
                 + t("check.shape", expected=(D, M), got=to_numpy(dW).shape))
        _close(dW, num_dW, _what("dW", "x.T @ dout"))
        if to_numpy(dx).shape != (N, D):
            fail(t("ch03.dx_shape", shape=(N, D)) + _form("dx = dout @ W.T") + " "
                 + t("check.shape", expected=(N, D), got=to_numpy(dx).shape))
        _close(dx, num_dx, _what("dx", "dout @ W.T"))

    c.case(t("ch03.case.affine_shared"))  # the chapter's optimiser updates the arrays in place
    W, b, x = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))
    layer = call(Affine, W, b)
    W -= 0.5  # params["W1"] -= lr * grads["W1"], as SGD does
    b += 0.25
    out = call(method(layer, "forward"), x.copy())
    arr = _numeric(out, (4, 2))
    if arr is not None and np.allclose(arr, x @ (W + 0.5) + (b - 0.25)) and not np.allclose(arr, x @ W + b):
        fail(t("ch03.copied"))
    _close(out, x @ W + b, "forward(x)")

    c.case(t("ch03.case.affine_twice"))
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    x1, x2, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer = call(Affine, W.copy(), b.copy())
    call(method(layer, "forward"), x1.copy())
    call(layer.forward, x2.copy())
    call(method(layer, "backward"), dout.copy())
    got = grad_attr(layer, "dW")
    arr = _numeric(got, (4, 3))
    if arr is not None and np.allclose(arr, x1.T @ dout) and not np.allclose(arr, x2.T @ dout):
        fail(t("ch03.stale_x"))
    _close(got, x2.T @ dout, "dW")


# --------------------------------------------------------------------------- ReLU

def _relu_backward_case(c, ReLU, x, dout):
    layer = call(ReLU)
    out = call(method(layer, "forward"), x.copy())
    _close(out, np.maximum(x, 0), "forward(x) = max(0, x)")
    raw = call(method(layer, "backward"), dout.copy())
    got = _numeric(raw, x.shape)
    if got is None:
        _close(raw, dout, "backward(dout)")  # reports the type / shape / dtype
    neg = (x < 0) & ~np.isclose(got, 0)
    if neg.any():
        i = tuple(int(k) for k in np.argwhere(neg)[0])
        fail(t("ch03.relu_leak", index=i, x=x[i], got=got[i]))
    pos = (x > 0) & ~np.isclose(got, dout)
    if pos.any():
        i = tuple(int(k) for k in np.argwhere(pos)[0])
        fail(t("ch03.relu_block", index=i, x=x[i], got=got[i], dout=dout[i]))
    zero = (x == 0) & ~(np.isclose(got, 0) | np.isclose(got, dout))
    if zero.any():
        i = tuple(int(k) for k in np.argwhere(zero)[0])
        fail(t("ch03.relu_zero", index=i, got=got[i], dout=dout[i]))
    return got


def _away_from_zero(rng, shape):
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 0.1, np.sign(x + 1e-12) * 0.1 + x, x)


def _check_relu(c, ReLU, rng):
    c.case(t("ch03.case.relu_fixed"))
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    _relu_backward_case(c, ReLU, x, np.array([[1.0, 2.0, 3.0, 4.0]]))
    for shape in [(3, 5), (2, 3, 4, 4)]:
        c.case(t("ch03.case.relu_random", shape=shape))
        x, dout = _away_from_zero(rng, shape), rng.normal(size=shape)  # dout signs independent of x
        got = _relu_backward_case(c, ReLU, x, dout)
        xs = x.copy()
        num = numerical_gradient(lambda: float(np.sum(np.maximum(xs, 0) * dout)), xs)
        _close(got, num, "backward(dout)")
    c.case(t("ch03.case.relu_zero"))
    x = np.array([[0.0, -1.0, 2.0], [0.0, 3.0, -0.0]])
    _relu_backward_case(c, ReLU, x, np.array([[5.0, 6.0, 7.0], [-8.0, 9.0, 10.0]]))


# --------------------------------------------------------------------------- SoftmaxWithLoss

def _check_softmax_loss(c, SoftmaxWithLoss, rng):
    cases = [(1, 3, 0.0, "index"), (1, 3, 0.0, "onehot"), (5, 4, 0.0, "index"), (5, 4, 0.0, "onehot"),
             (5, 4, 0.0, "onehot_int"), (8, 10, 0.0, "index"), (8, 10, 0.0, "onehot"),
             (6, 3, 1000.0, "index"), (6, 3, 1000.0, "onehot"), (4, 5, "span", "index"), (4, 5, "span", "onehot_int")]
    for N, C, shift, kind in cases:
        large = t("ch03.kind.span") if shift == "span" else t("ch03.kind.large") if shift else ""
        c.case(t("ch03.case.loss", N=N, C=C, kind=t(f"ch03.kind.{kind}"), large=large))
        x = rng.normal(size=(N, C))
        labels = rng.integers(0, C, size=N).astype(np.int64)
        if shift == "span":  # rows spanning thousands: only the row maximum keeps every exp finite
            offsets = np.array([-3000.0, -1500.0, 0.0, 2000.0, 4000.0])
            for i in range(N):  # the label and one rival at the top, the rest thousands below
                order = rng.permutation(C)
                x[i, order] += offsets[:C]
                top, second = order[-1], order[-2]
                x[i, second] = x[i, top] - rng.uniform(0.5, 2.0)
                labels[i] = rng.choice([top, second])
        elif shift:
            x = x + shift
        target = {"index": labels, "onehot": np.eye(C)[labels],
                  "onehot_int": np.eye(C, dtype=int)[labels]}[kind]
        layer = call(SoftmaxWithLoss)
        loss = call(method(layer, "forward"), x.copy(), target.copy())
        value = _scalar(loss)
        expected = _ce(x, labels)
        if shift and not np.isfinite(value):
            fail(t("ch03.large"))
        if N > 1 and np.isclose(value, N * expected, rtol=1e-3):
            fail(t("ch03.loss_sum", N=N))
        _close(value, expected, t("ch03.what_loss"), LOSS_TOL)

        dx = call(method(layer, "backward"))
        expected_dx = (_softmax(x) - np.eye(C)[labels]) / N
        arr = _numeric(dx, (N, C))
        if arr is not None:
            if shift and not np.all(np.isfinite(arr)):
                fail(t("ch03.large"))
            if N > 1 and np.allclose(arr, N * expected_dx, **TOL):
                fail(t("ch03.grad_not_mean", N=N) + _form("dx = (y − t)/N"))
            if np.allclose(arr, -expected_dx, **TOL):
                fail(t("ch03.grad_sign") + _form("dx = (y − t)/N"))
        if not shift:  # numerical gradient of the mean cross-entropy
            xs = x.copy()
            expected_dx = numerical_gradient(lambda: _ce(xs, labels), xs)
        _close(dx, expected_dx, _what("backward()", "(y − t)/N"), LOSS_TOL)
        dx1 = call(layer.backward, 1)
        _close(dx1, expected_dx, "backward(1)", LOSS_TOL)


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
    _close(_scalar(loss), ref.item(), "loss", LOSS_TOL)
    for name, got, tensor in [("dW1", grad_attr(a1, "dW"), tW1), ("db1", grad_attr(a1, "db"), tb1),
                              ("dW2", grad_attr(a2, "dW"), tW2), ("db2", grad_attr(a2, "db"), tb2),
                              ("dx", dx, tx)]:
        try:
            _close(got, tensor.grad.numpy(), name, LOSS_TOL)
        except Failure as e:
            fail(t("ch03.net_grad", name=name) + "\n" + str(e))


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
