"""Chapter 05 (second part): the convolution layer ``Conv`` with its backward pass by im2col / col2im.

``conv_layer(Conv)`` builds the student's class ``Conv(W, b, stride=1, pad=0)`` and compares
``forward(x)`` with ``torch.nn.functional.conv2d`` and ``backward(dout)`` (dx returned, ``dW``,
``db`` kept) first with central-difference numerical gradients on small cases, then with torch
autograd on random ones (stride 2, padding 1, rectangular kernels). The layer must keep W and b
themselves (the optimiser of chapter 03 updates them in place) and never change them: a layer that
writes into W or b in ``__init__``, ``forward`` or ``backward`` fails (:func:`call_keeping`), and the
expected values come from copies taken before the layer saw them. The typical mistakes are named:
a col2im that assigns overlapping windows instead of adding them, the padding left on dx, dout
flattened without moving the channel axis last, dW not transposed back, db summed over one axis.
"""
import contextlib

import numpy as np

from ..i18n import register, t
from .core import (Case, Check, as_array, assert_close_or_explain, call, call_unchanged, fail, failure_text,
                   hint, require_callable, seed)
from .layers import about, grad_attr, method, numerical_gradient, shape_hint, with_form

__all__ = ["conv_layer"]

TOL = dict(rtol=1e-6, atol=1e-8)
NUMERICAL_TOL = dict(rtol=1e-5, atol=1e-7)  # central differences are exact to about 1e-7


# --------------------------------------------------------------------------- references (float64)
def _torch_conv(x, W, b, stride, pad, dout=None):
    """Output of F.conv2d and, given dout, the gradients (dx, dW, db) by autograd."""
    import torch
    import torch.nn.functional as F

    tx, tW, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=dout is not None) for a in (x, W, b))
    out = F.conv2d(tx, tW, tb, stride=stride, padding=pad)
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.from_numpy(np.asarray(dout, dtype=np.float64)))
    return out.detach().numpy(), tx.grad.numpy(), tW.grad.numpy(), tb.grad.numpy()


def _im2col(x, kh, kw, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw), ho, wo


def _col2im(col, shape, kh, kw, s, p, ho, wo):
    n, c, h, w = shape
    cols = col.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + s * ho:s, j:j + s * wo:s] += cols[:, :, i, j]
    return xp[:, :, p:p + h, p:p + w]


def _np_conv(x, W, b, s, p):
    """The forward pass in NumPy (fast on tiny arrays: the numerical gradients call it often)."""
    f = W.shape[0]
    col, ho, wo = _im2col(x, W.shape[2], W.shape[3], s, p)
    return (col @ W.reshape(f, -1).T + b).reshape(x.shape[0], ho, wo, f).transpose(0, 3, 1, 2)


def _mistakes(x, W, b, s, p, dout):
    """What the typical mistakes give on this case: {name: value}."""
    f, c, kh, kw = W.shape
    col, ho, wo = _im2col(x, kh, kw, s, p)
    flat = col @ W.reshape(f, -1).T + b
    wrong_d = dout.reshape(-1, f)
    right_d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    return {
        "out_layout": flat.reshape(x.shape[0], f, ho, wo),
        "flipped": _np_conv(x, W[:, :, ::-1, ::-1], b, s, p),
        "no_bias": _np_conv(x, W, np.zeros_like(b), s, p),
        "dx_wrong_d": _col2im(wrong_d @ W.reshape(f, -1), x.shape, kh, kw, s, p, ho, wo),
        "dW_wrong_d": (wrong_d.T @ col).reshape(W.shape),
        "dW_layout": (col.T @ right_d).reshape(W.shape),
        "db_mean": dout.mean(axis=(0, 2, 3)),
        "db_wrong_d": wrong_d.sum(axis=0),
        "padded": (x.shape[0], c, x.shape[2] + 2 * p, x.shape[3] + 2 * p),
        "coverage": _col2im(np.ones_like(col), x.shape, kh, kw, s, p, ho, wo),
    }


# --------------------------------------------------------------------------- the check
def call_keeping(params, where, func, *args, **kwargs):
    """Call the student's ``func`` (the class for ``where == "__init__"``, else a method, whose array
    arguments must stay unchanged: :func:`.core.call_unchanged`) and fail when the call changed one of
    ``params`` ({name: the caller's array}): a layer reads its parameters, only the optimiser updates them."""
    copies = {name: np.array(a, copy=True) for name, a in params.items()}
    result = call(func, *args, **kwargs) if where == "__init__" else call_unchanged(func, *args, **kwargs)
    changed = [name for name, a in params.items()
               if np.shape(a) != copies[name].shape or not np.array_equal(a, copies[name], equal_nan=True)]
    if changed:
        fail(t("ch05l.params_changed", where=where, names=", ".join(changed)))
    return result


def _out_shape(x, W, s, p):
    return (x.shape[0], W.shape[0], (x.shape[2] + 2 * p - W.shape[2]) // s + 1, (x.shape[3] + 2 * p - W.shape[3]) // s + 1)


def _dx_suspects(got, expected, wrong, tol):
    """``(value, hint)``: dx right where a pixel lies in one window only and wrong where windows
    overlap (they were overwritten: the answer itself is the suspect), dout flattened in its own order."""
    cover = wrong["coverage"]
    overwritten = None
    if (cover > 1).any() and failure_text(as_array, got, expected.shape) is None:
        bad = ~np.isclose(as_array(got).astype(np.float64), expected, **tol)
        overwritten = got if bad.any() and not bad[cover <= 1].any() else None
    return [(overwritten, with_form("ch05l.overlap", n=int((cover > 1).sum()))),
            (wrong["dx_wrong_d"], with_form("ch05l.dout_layout"))]


def _conv_cases(rng):
    """Numerical gradients on the small cases, torch autograd on the larger ones; the arguments
    are (x, W, b, stride, pad, dout)."""
    small = [((1, 1, 4, 4), (1, 3, 3), 1, 0), ((2, 2, 5, 5), (2, 3, 3), 2, 1), ((1, 2, 3, 4), (3, 2, 2), 1, 1)]
    large = [((2, 3, 7, 7), (4, 3, 3), 1, 1), ((3, 2, 8, 9), (5, 3, 3), 2, 1), ((2, 4, 9, 8), (3, 3, 2), 2, 0),
             ((1, 3, 10, 10), (2, 5, 5), 1, 2), ((4, 2, 6, 6), (6, 1, 1), 1, 0), ((2, 3, 11, 9), (4, 4, 4), 3, 1)]
    cases = []
    for key, shapes in (("ch05l.case_numeric", small), ("ch05l.case_autograd", large)):
        for xs, (f, kh, kw), s, p in shapes:
            x = rng.normal(size=xs)
            W, b = rng.normal(size=(f, xs[1], kh, kw)), rng.normal(size=f)
            cases.append(Case(key, (x, W, b, s, p, rng.normal(size=_out_shape(x, W, s, p))),
                              values=dict(x=xs, w=W.shape, s=s, p=p)))
    return cases


def _expected_gradients(x, W, b, s, p, dout, numeric):
    """(dx, dW, db) by torch autograd, or by central differences of L = Σ conv(x, W, b) · dout."""
    if not numeric:
        return _torch_conv(x, W, b, s, p, dout)[1:]
    xs, Ws, bs = x.copy(), W.copy(), b.copy()
    loss = lambda: float(np.sum(_np_conv(xs, Ws, bs, s, p) * dout))
    return tuple(numerical_gradient(loss, a, h=1e-6) for a in (xs, Ws, bs))


def _run_case(Conv, case):
    x, W, b, s, p, dout = case.args
    W0, b0 = W.copy(), b.copy()  # the references use these: the student's layer gets W and b themselves
    params = {"W": W, "b": b}
    args = (x, W0, b0, s, p, dout)
    numeric = case.name == "ch05l.case_numeric"
    layer = call_keeping(params, "__init__", Conv, W, b, stride=s, pad=p)
    out = call_keeping(params, "forward", method(layer, "forward"), x)
    wrong = _mistakes(*args)
    expected = _torch_conv(x, W0, b0, s, p)
    with about("forward(x)"):
        assert_close_or_explain(out, expected, [(wrong["out_layout"], with_form("ch05l.out_layout")),
                                                (wrong["flipped"], t("ch05l.flipped")), (wrong["no_bias"], t("ch05l.no_bias"))],
                                unexplained=with_form("ch05l.out_size") if np.shape(out) != expected.shape else None, **TOL)
    dx = call_keeping(params, "backward", method(layer, "backward"), dout)
    tdx, tdW, tdb = _expected_gradients(*args, numeric)
    note, tol = (t("ch05l.numerical"), NUMERICAL_TOL) if numeric else (None, TOL)
    n, f, ho, wo = dout.shape
    db, db_axes = grad_attr(layer, "db"), with_form("ch05l.db_axes", F=f)
    with about("db"):
        assert_close_or_explain(db, tdb, [(wrong["db_mean"], with_form("ch05l.db_mean")),
                                          (wrong["db_wrong_d"], with_form("ch05l.dout_layout"))],
                                unexplained=shape_hint(db, tdb.shape, [((f, ho, wo), db_axes), ((n, f), db_axes)]) or note, **tol)
    dW, dw_shape = grad_attr(layer, "dW"), t("ch05l.dw_shape", shape=W0.shape)
    with about("dW"):
        assert_close_or_explain(dW, tdW, [(wrong["dW_wrong_d"], with_form("ch05l.dout_layout")),
                                          (wrong["dW_layout"], with_form("ch05l.dw_layout"))],
                                unexplained=shape_hint(dW, tdW.shape, [((f, W0[0].size), dw_shape), ((W0[0].size, f), dw_shape)])
                                or note, **tol)
    with hint(note) if note else contextlib.nullcontext(), about("dx = backward(dout)"):
        assert_close_or_explain(dx, tdx, _dx_suspects(dx, tdx, wrong, tol),
                                unexplained=shape_hint(dx, tdx.shape, [(wrong["padded"], with_form("ch05l.dx_pad", padded=wrong["padded"]))]),
                                **tol)


def _check_reference_and_state(c, Conv, rng):
    c.case(t("ch05l.case_reference", names="W, b"))
    x = rng.normal(size=(2, 2, 5, 5))
    W, b = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    params = {"W": W, "b": b}
    layer = call_keeping(params, "__init__", Conv, W, b, stride=1, pad=1)
    call_keeping(params, "forward", method(layer, "forward"), x)
    W -= 0.5 * rng.normal(size=W.shape)  # what SGD.update does to params["W1"]
    b += 1.0
    with about("forward(x)"):
        assert_close_or_explain(call_keeping(params, "forward", layer.forward, x), _torch_conv(x, W, b, 1, 1),
                                unexplained=with_form("ch05l.by_reference", names="W, b", attr="W"), **TOL)

    c.case(t("ch05l.case_twice"))
    x1, x2 = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(2, 2, 5, 5))
    dout = rng.normal(size=(2, 3, 3, 3))
    layer = call_keeping(params, "__init__", Conv, W, b, stride=2, pad=1)
    call_keeping(params, "forward", method(layer, "forward"), x1)
    call_keeping(params, "forward", layer.forward, x2)
    call_keeping(params, "backward", method(layer, "backward"), dout)
    _, _, dW1, _ = _torch_conv(x1, W, b, 2, 1, dout)
    _, _, dW2, db2 = _torch_conv(x2, W, b, 2, 1, dout)
    with about("dW"):
        assert_close_or_explain(grad_attr(layer, "dW"), dW2, [(dW1, t("ch05l.stale"))], **TOL)
    call_keeping(params, "backward", layer.backward, dout)
    for attr, expected in (("dW", dW2), ("db", db2)):
        with about(attr):
            assert_close_or_explain(grad_attr(layer, attr), expected,
                                    [(2 * expected, with_form("ch05l.accumulate", attr=attr))], **TOL)


def conv_layer(Conv):
    """Check the class ``Conv(W, b, stride=1, pad=0)``: W (F, C, kh, kw), b (F,).

    ``forward(x)``: x (N, C, H, W) → (N, F, Ho, Wo), Ho = (H + 2·pad − kh) // stride + 1, as
    torch's conv2d (cross-correlation). ``backward(dout)`` returns dx (x's shape) and stores
    ``dW`` (W's shape) and ``db`` ((F,)). W and b are kept by reference and never changed by the layer.
    """
    rng = np.random.default_rng(seed(7))
    with Check("conv_layer") as c, np.errstate(all="ignore"):
        c.case(t("ch05l.case_class"))
        require_callable(Conv, "Conv")
        for case in _conv_cases(rng):
            c.case(case.title)
            _run_case(Conv, case)
        _check_reference_and_state(c, Conv, rng)


register({
    "ch05l.by_reference": {"ja": "最適化手法は {names} をその場で (in place) 更新します。"
                                 "更新の後の forward が古い値を使っています。__init__ では渡された配列そのものを"
                                 "持ち、コピー (W.copy(), np.array(W), astype) を作らないでください。",
                           "en": "The optimiser updates {names} in place, but forward after such an update still "
                                 "used the old values. In __init__ keep the arrays you were given: no copy "
                                 "(W.copy(), np.array(W), astype)."},
    "ch05l.by_reference_form": {"ja": " 書き方: self.{attr} = {attr}", "en": " The form: self.{attr} = {attr}"},
    "ch05l.params_changed": {"ja": "{where} が渡された配列 {names} を書き換えました。層は __init__・forward・"
                                   "backward のどこでも自分のパラメータを変えてはいけません。パラメータを更新するのは"
                                   "最適化手法の仕事です (forward は出力を、backward は勾配を計算するだけです)。",
                             "en": "{where} changed {names}, the array(s) the layer was given. A layer must not change "
                                   "its parameters in __init__, forward or backward: updating them is the "
                                   "optimiser's job (forward computes the output, backward the gradients, nothing more)."},
    "ch05l.stale": {"ja": "backward が最後の forward の入力を使っていません。forward のたびに保存し直してください。",
                    "en": "backward does not use the input of the latest forward call: store it on every forward."},
    "ch05l.accumulate": {"ja": "backward を 2 回呼ぶと {attr} が 2 倍になりました。前の勾配に足さず、"
                               "毎回新しい勾配を保存してください。",
                         "en": "Calling backward twice doubled {attr}: store each new gradient instead of adding it "
                               "to the old one."},
    "ch05l.accumulate_form": {"ja": " (self.{attr} += ではなく self.{attr} = ...)",
                              "en": " (self.{attr} = ..., not +=)"},
    "ch05l.out_size": {"ja": "出力の形は (N, F, Ho, Wo) で、Ho と Wo は stride と pad で決まります。"
                             "stride と pad を使っていますか?",
                       "en": "The output is (N, F, Ho, Wo), where Ho and Wo depend on stride and pad. "
                             "Did you use stride and pad?"},
    "ch05l.out_size_form": {"ja": " 式: Ho = (H + 2·pad − kh) // stride + 1 (Wo も同様)",
                            "en": " The formula: Ho = (H + 2·pad − kh) // stride + 1 (Wo alike)"},
    "ch05l.out_layout": {"ja": "行列積の結果 (N·Ho·Wo, F) をそのまま (N, F, Ho, Wo) に reshape しています。"
                               "行は位置 (n, i, j) の順に並んでいるので、チャネルを最後の軸にした形に戻してから、"
                               "チャネルを 2 番目の軸に移してください。",
                         "en": "You reshaped the product (N·Ho·Wo, F) straight into (N, F, Ho, Wo). Its rows are the "
                               "positions (n, i, j): bring back the shape with the channels last, then move the "
                               "channels to axis 1."},
    "ch05l.out_layout_form": {"ja": " 書き方: reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)",
                              "en": " The form: reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)"},
    "ch05l.flipped": {"ja": "カーネルを上下左右に反転しています。torch の conv2d (とこのコースの畳み込み) は"
                            "反転しない相互相関 (cross-correlation) です。",
                      "en": "You flipped the kernel. torch's conv2d (and this course's convolution) is a "
                            "cross-correlation: no flip."},
    "ch05l.no_bias": {"ja": "バイアス b が足されていません (フィルタ f の出力すべてに b[f] を足します)。",
                      "en": "The bias is missing: add b[f] to every output of filter f."},
    "ch05l.dout_layout": {"ja": "backward で dout を dout.reshape(-1, F) としていませんか? forward の行の並び "
                                "(n, i, j) に合わせ、チャネルの軸を最後に移してから平坦化してください。",
                          "en": "Did backward flatten dout with dout.reshape(-1, F)? Match the rows (n, i, j) of the "
                                "forward pass: move the channel axis last before flattening."},
    "ch05l.dout_layout_form": {"ja": " 書き方: dout.transpose(0, 2, 3, 1).reshape(-1, F)",
                               "en": " The form: dout.transpose(0, 2, 3, 1).reshape(-1, F)"},
    "ch05l.dw_layout": {"ja": "dW の値の並びが違います。行列積の結果はフィルタの軸が最後 (C·kh·kw, F) なので、"
                              "フィルタの軸を先頭にしてから W の形 (F, C, kh, kw) に reshape してください。",
                        "en": "dW holds the right numbers in the wrong places. The product has the filters last, "
                              "(C·kh·kw, F): bring them first before reshaping to W's shape (F, C, kh, kw)."},
    "ch05l.dw_layout_form": {"ja": " 書き方: (col.T @ dout).T.reshape(F, C, kh, kw)",
                             "en": " The form: (col.T @ dout).T.reshape(F, C, kh, kw)"},
    "ch05l.dw_shape": {"ja": "dW は W と同じ形 (F, C, kh, kw) = {shape} にしてください。",
                       "en": "dW must have W's shape (F, C, kh, kw) = {shape}."},
    "ch05l.db_axes": {"ja": "db はフィルタごとの dout の和 (バッチと縦横の位置について) で、形は ({F},) です。",
                      "en": "db is dout summed per filter (over the batch and every position), shape ({F},)."},
    "ch05l.db_axes_form": {"ja": " 書き方: dout.sum(axis=(0, 2, 3))", "en": " The form: dout.sum(axis=(0, 2, 3))"},
    "ch05l.db_mean": {"ja": "db が dout の平均になっています。平均ではなく和です。",
                      "en": "db is a mean of dout; it is a sum."},
    "ch05l.db_mean_form": {"ja": " 書き方: dout.sum(axis=(0, 2, 3))", "en": " The form: dout.sum(axis=(0, 2, 3))"},
    "ch05l.dx_pad": {"ja": "dx の形が x ではなくパディング後の {padded} です。col2im の最後でパディングを"
                           "切り落としてください。",
                     "en": "dx has the padded shape {padded} instead of x's: cut the padding off at the end "
                           "of col2im."},
    "ch05l.dx_pad_form": {"ja": " 書き方: dx[:, :, pad:pad + H, pad:pad + W]", "en": " The form: dx[:, :, pad:pad + H, pad:pad + W]"},
    "ch05l.overlap": {"ja": "1 つの窓にしか入らない画素では dx が正しく、複数の窓が重なる画素 (ここでは {n} 個) で違います。"
                            "col2im では重なる窓の勾配を上書きせず、足し合わせます "
                            "(ひとつの画素は入っている窓の数だけ出力に効いています)。",
                      "en": "dx is right at pixels that lie in one window only and wrong where windows overlap "
                            "({n} pixels here). col2im must add the gradients of overlapping windows instead of "
                            "overwriting them (a pixel feeds every output whose window holds it)."},
    "ch05l.overlap_form": {"ja": " (dx[...] = ではなく dx[...] +=)", "en": " (dx[...] += instead of dx[...] =)"},
    "ch05l.case_class": {"ja": "クラス", "en": "class"},
    "ch05l.case_numeric": {"ja": "x {x}, W {w}, stride={s}, pad={p} (数値微分)",
                           "en": "x {x}, W {w}, stride={s}, pad={p} (numerical gradients)"},
    "ch05l.case_autograd": {"ja": "x {x}, W {w}, stride={s}, pad={p} (torch の自動微分)",
                            "en": "x {x}, W {w}, stride={s}, pad={p} (torch autograd)"},
    "ch05l.case_reference": {"ja": "{names} をコピーせずに持つ (最適化手法がその場で更新する)",
                             "en": "{names} kept by reference (an optimiser updates them in place)"},
    "ch05l.case_twice": {"ja": "forward を 2 回 → backward は最後の入力で、backward を 2 回 → 同じ勾配",
                         "en": "forward twice, then backward: the latest input counts; backward twice: same gradients"},
    "ch05l.numerical": {"ja": "(期待値は損失 L = Σ out·dout の中心差分による数値微分です。)",
                        "en": "(The expected values are central-difference numerical gradients of L = Σ out·dout.)"},
})
