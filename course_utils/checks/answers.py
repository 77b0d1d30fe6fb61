"""Turning an answer into NumPy: whatever a student returns (a number, an array, a tensor of any
dtype and device) becomes an array or a clear failure. :mod:`.core` re-exports these; comparing is
core's job (:func:`.core.compare`).
"""
import numbers

import numpy as np

from ..i18n import t
from .core import Failure, fail


def describe_type(value) -> str:
    """A value's type for a message: arrays and tensors with their dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray {value.dtype} {value.shape}"
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return f"torch.Tensor {value.dtype} {tuple(value.shape)}"
    except ImportError:  # pragma: no cover
        pass
    return type(value).__name__


def tensor_to_numpy(value):
    """A torch tensor as a NumPy array, whatever its device and dtype (bf16, float8, complex32,
    quantized, sparse, a meta tensor): float64 where NumPy lacks the dtype; fails clearly."""
    import torch

    tensor = value.detach()
    try:
        if tensor.is_quantized:
            tensor = tensor.dequantize()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        if tensor.device.type == "meta":
            fail(t("check.type", expected="tensor with values", got=describe_type(value) + " (meta)"))
        tensor = tensor.cpu()
        try:
            return tensor.numpy()
        except (TypeError, RuntimeError):  # a dtype NumPy lacks (bfloat16, float8, ...)
            if tensor.is_complex():
                return tensor.to(torch.complex128).numpy()
            if tensor.dtype == torch.bool:
                return tensor.to(torch.uint8).numpy().astype(bool)
            return tensor.to(torch.float64).numpy()
    except Failure:
        raise
    except Exception as e:
        fail(t("check.type", expected="tensor", got=f"{describe_type(value)} ({type(e).__name__}: {e})"[:200]))


def to_numpy(value, kind: str = "array"):
    """Accept a NumPy array, a torch tensor or a number; fail on anything else."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return tensor_to_numpy(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUSVMm":
            fail(t("check.dtype", expected="number", got=value.dtype))
        return value
    if isinstance(value, bool | np.bool_):
        return np.asarray(value)
    if isinstance(value, (numbers.Number, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind == "O":  # a number NumPy has no dtype for (fractions.Fraction, decimal.Decimal)
            arr = _as_float(value)
        if arr is None or arr.dtype.kind in "OUSVMm":
            fail(t("check.dtype", expected="number", got=type(value).__name__))
        return arr
    fail(t("check.type", expected=kind, got=describe_type(value)))


def _as_float(value):
    """A Python number NumPy stores as an object, as a float64 (or complex128) 0-d array; None if it is neither."""
    for kind in (float, complex):
        try:
            return np.asarray(kind(value))
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def as_number(value) -> np.ndarray:
    """One number from an answer, as a 0-d array: a Python or NumPy number, a 0-d array or a 0-d
    tensor. A list, a tuple or an array of any other shape fails with ``check.not_number``."""
    if isinstance(value, (list, tuple)):
        fail(t("check.not_number", got=f"{type(value).__name__} {value!r}"[:80]))
    arr = to_numpy(value, kind="number")
    if arr.shape != ():
        fail(t("check.not_number", got=describe_type(arr)))
    return arr


def as_array(value, shape=None) -> np.ndarray:
    """An answer as a NumPy array (:func:`to_numpy`), of ``shape`` when one is given; else ``check.shape``."""
    arr = to_numpy(value, kind=f"ndarray {tuple(shape)}" if shape is not None else "array")
    if shape is not None and arr.shape != tuple(shape):
        fail(t("check.shape", expected=tuple(shape), got=arr.shape))
    return arr
