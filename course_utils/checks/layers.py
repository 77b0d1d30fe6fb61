"""What the checks of chapters 03–05 share: the student's NumPy layer classes, and a hint with its form.

A layer is an object with ``forward`` / ``backward`` methods that stores its parameter
gradients as attributes (``dW``, ``db``, ``dgamma`` ...); the checks compare those with
central differences, :func:`numerical_gradient`; a failure says which one is wrong (:func:`about`).
:func:`with_form` is a hint whose message has a ``key + "_form"`` companion (the code or the
formula) shown only when the same case fails again; :func:`shape_hint` names a mistake by the
wrong shape it gives.
"""
import contextlib

import numpy as np

from ..i18n import keys, register, t
from .core import Failure, fail, on_repeat


def with_form(key, **values) -> str:
    """The message ``key``, and its form (``key + "_form"``, the code or formula, where there is one)
    only when the same case fails again: a first failure names the mistake without the answer line."""
    form = key + "_form"
    return t(key, **values) + (on_repeat(t(form, **values)) if form in keys() else "")


def shape_hint(got, expected_shape, wrong_shapes) -> str | None:
    """The hint of the first ``(shape, hint)`` of ``wrong_shapes`` whose shape the answer has, None when
    it has none of them or the expected shape: for mistakes known by the shape they give (pass it to
    :func:`.core.compare` as ``unexplained``)."""
    shape = getattr(got, "shape", None)
    if shape is None or tuple(shape) == tuple(expected_shape):
        return None
    for wrong, text in wrong_shapes:
        if tuple(shape) == tuple(wrong):
            return text
    return None


@contextlib.contextmanager
def about(what: str):
    """A failure inside the block names the array it is about: "In dW: <the failure>"."""
    try:
        yield
    except Failure as failure:
        raise Failure(t("layers.about", what=what, detail=str(failure))) from None


def method(obj, name):
    """The bound method ``name`` of the student's object, or a clear failure."""
    found = getattr(obj, name, None)
    if not callable(found):
        fail(t("layers.no_method", cls=type(obj).__name__, method=name))
    return found


def grad_attr(obj, attr):
    """The gradient ``backward`` stored as ``obj.<attr>``, or a clear failure."""
    value = getattr(obj, attr, None)
    if value is None:
        fail(t("layers.no_grad", cls=type(obj).__name__, attr=attr))
    return value


def numerical_gradient(f, x, h=1e-5):
    """Central difference of the scalar function ``f()`` at the array ``x`` (changed and restored in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


register({
    "layers.about": {"ja": "{what} について: {detail}", "en": "In {what}: {detail}"},
    "layers.no_method": {"ja": "{cls} にメソッド {method}() がありません。",
                         "en": "{cls} has no method {method}()."},
    "layers.no_grad": {"ja": "backward(dout) の後に {cls}.{attr} がありません (または None です)。"
                             "backward の中で self.{attr} = ... と勾配を保存しましたか?",
                       "en": "After backward(dout), {cls}.{attr} is missing (or None). "
                             "Did backward store the gradient with self.{attr} = ...?"},
})
