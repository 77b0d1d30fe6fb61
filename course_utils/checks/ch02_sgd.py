"""Chapter 02: the SGD update (``sgd_step``).

``sgd_step(params, grads, lr)`` updates the arrays of ``params`` in place — the same objects, since
the model and the optimiser share them — matching ``grads`` by name, and leaves ``grads`` alone.
The reference is ``torch.optim.SGD``. Before the values are compared, the check names a changed set
of keys, changed gradients, an array replaced by a new one and arrays left as they were (new ones
returned); then the named mistakes of the values: a step along the gradient, a step without ``lr``.
"""
import numpy as np

from ..i18n import register, t
from .ch02 import text
from .core import Case, Check, assert_close_or_explain, call_unchanged, expect, require_callable, seed

__all__ = ["sgd_step"]

SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}


def _params(rng, dtype=np.float64):
    """Parameters and gradients of a small two-layer net; the gradients' dict in another order."""
    params = {k: rng.normal(0, 1, size=s).astype(dtype) for k, s in SHAPES.items()}
    grads = {k: rng.normal(0, 1, size=s).astype(dtype) for k, s in reversed(SHAPES.items())}
    return params, grads


def _reference(old, grads, lr) -> dict:
    """One step of torch.optim.SGD from the parameters ``old``."""
    import torch

    tensors = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in old.items()}
    for k, p in tensors.items():
        p.grad = torch.tensor(grads[k])
    torch.optim.SGD(list(tensors.values()), lr=lr).step()
    return {k: p.detach().numpy().copy() for k, p in tensors.items()}


def _cases() -> list:
    rng = np.random.default_rng(seed(5))
    basic, other, single = _params(rng), _params(rng), _params(rng, np.float32)
    return [Case("ch02.case.sgd_basic", (*basic, 0.1), values={"lr": 0.1}),
            Case("ch02.case.sgd_torch", (*other, 0.5), values={"lr": 0.5}),
            # the same float32 arrays twice: the second step starts where the first one left them
            Case("ch02.case.sgd_float32", (*single, 0.01), values={"lr": 0.01, "step": 1}),
            Case("ch02.case.sgd_float32", (*single, 0.01), values={"lr": 0.01, "step": 2})]


def _step(func, params, grads, lr) -> None:
    """One call: the same dict and arrays, unchanged gradients, then the values of every array."""
    before = dict(params)  # the array objects themselves
    old = {k: v.copy() for k, v in params.items()}
    grads_copy = {k: v.copy() for k, v in grads.items()}
    direction = text("ch02.sgd_direction", "ch02.sgd_direction_form")
    call_unchanged(func, params, grads, lr, on_error=direction)
    expected = _reference(old, grads_copy, lr)  # only after the student's call
    expect(isinstance(params, dict) and sorted(params) == sorted(before),
           t("ch02.sgd_missing", expected=sorted(before), got=sorted(params) if isinstance(params, dict) else params))
    expect(isinstance(grads, dict) and sorted(grads) == sorted(grads_copy)
           and all(isinstance(grads[k], np.ndarray) and np.array_equal(grads[k], grads_copy[k]) for k in grads),
           t("ch02.sgd_grads_changed"))
    untouched = all(np.array_equal(before[k], old[k]) for k in before)
    for k in before:
        expect(params[k] is before[k], text("ch02.sgd_replaced", "ch02.sgd_code", name=k))
    expect(not untouched, text("ch02.sgd_untouched", "ch02.sgd_code"))
    for k in before:
        suspects = [(old[k] + lr * grads_copy[k], text("ch02.sgd_sign", "ch02.sgd_direction_form")),
                    (old[k] - grads_copy[k], text("ch02.sgd_no_lr", "ch02.sgd_direction_form"))]
        assert_close_or_explain(params[k], expected[k], suspects, rtol=1e-5, atol=1e-6, unexplained=direction)


def sgd_step(func):
    """``sgd_step(params, grads, lr)``: params[k] -= lr * grads[k] for every name, in place."""
    with Check("sgd_step") as c:
        require_callable(func, "sgd_step")
        for case in _cases():
            c.case(case.title)
            _step(func, *case.args)


register({
    "ch02.case.sgd_basic": {"ja": "1 ステップ (lr = {lr}、params = W1, b1, W2, b2)",
                            "en": "one step (lr = {lr}, params = W1, b1, W2, b2)"},
    "ch02.case.sgd_torch": {"ja": "torch.optim.SGD と比較 (lr = {lr})", "en": "compared with torch.optim.SGD (lr = {lr})"},
    "ch02.case.sgd_float32": {"ja": "float32 の配列、2 ステップ続けるうちの {step} ステップ目 (lr = {lr})",
                              "en": "float32 arrays, step {step} of two in a row (lr = {lr})"},
    "ch02.sgd_missing": {"ja": "params のキーが変わっています。期待: {expected}、実際: {got}",
                         "en": "The keys of params changed. Expected {expected}, got {got}."},
    "ch02.sgd_replaced": {
        "ja": "params[{name!r}] が新しい配列に置き換わっています (params[k] = params[k] - ... の形)。元の配列そのものを "
              "その場で (in-place) 更新してください。モデルや最適化手法は同じ配列を共有しているので、"
              "置き換えると更新が伝わりません。",
        "en": "params[{name!r}] was replaced by a new array (params[k] = params[k] - ... ). Update the existing array "
              "in place: the model and the optimiser share these arrays, so a new array never reaches them."},
    "ch02.sgd_code": {"ja": "書き方: params[k] -= lr * grads[k]", "en": "The form: params[k] -= lr * grads[k]"},
    "ch02.sgd_untouched": {
        "ja": "params の配列が変わっていません。新しい配列を返すのではなく、params の配列をその場で (in-place) "
              "更新してください。",
        "en": "The arrays in params did not change. Do not return new arrays: update the arrays of params in place."},
    "ch02.sgd_direction": {
        "ja": "勾配と逆向きに動かします。符号、学習率の掛け忘れ、grads を名前 (キー) で対応させているか"
              " (zip(params.values(), grads.values()) は順番が違うと壊れます) を確かめてください。",
        "en": "Move against the gradient. Check the sign, that lr is used, and that grads are "
              "matched by name (zip(params.values(), grads.values()) breaks when the orders differ)."},
    "ch02.sgd_direction_form": {"ja": "式: W ← W − η ∂L/∂W", "en": "The rule: W ← W − η ∂L/∂W"},
    "ch02.sgd_sign": {"ja": "勾配の向きに動かしています (+)。損失を減らすには、勾配と逆向きに動かします。",
                      "en": "You moved along the gradient (+); to lower the loss, move against it."},
    "ch02.sgd_no_lr": {"ja": "勾配をそのまま引いています。1 ステップの大きさは学習率 lr で決まります。",
                       "en": "You subtracted the whole gradient; the learning rate lr sets the size of a step."},
    "ch02.sgd_grads_changed": {"ja": "grads を書き換えてしまっています。grads はそのままにしてください。",
                               "en": "Your function modified grads; leave the gradients unchanged."},
})
