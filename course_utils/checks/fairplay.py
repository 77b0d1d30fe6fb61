"""Fair play: the student's code runs under a watch (:func:`call`).

The profiler hook notices a call into the course's own checking code (refused: the reference is not
the answer) and, for the exercises whose point is to write an operation by hand, a call to the library
operation the check compares with (named in the success line and in the grade, :data:`LIBRARY_OPS`).
:mod:`.core` re-exports :func:`call`, :func:`call_unchanged` and :func:`trusted`; a check imports them from there.
"""
import inspect
import os
import sys

import numpy as np

from ..i18n import t
from . import core as _core

# Checks whose exercise is to write an operation by hand: the library functions they compare
# with ("module:function" or a builtin's name), named when the student's code calls them.
LIBRARY_OPS = {
    "conv2d_single": ("torch.nn.functional.conv2d", "torch.conv2d", "scipy.signal.correlate2d", "cv2.filter2D"),
    "conv2d": ("torch.nn.functional.conv2d", "torch.conv2d", "scipy.signal.correlate2d", "cv2.filter2D"),
    "max_pool2d": ("torch.nn.functional.max_pool2d", "torch.max_pool2d"),
    "avg_pool2d": ("torch.nn.functional.avg_pool2d", "torch.avg_pool2d"),
    "max_pool2d_backward": ("torch.nn.functional.max_pool2d", "torch.max_pool2d"),
    "nms": ("torchvision.ops.nms", "torchvision.ops.batched_nms"),
    "box_iou": ("torchvision.ops.box_iou",),
    "iou": ("torchvision.ops.box_iou",),
    "softmax": ("torch.softmax", "torch.nn.functional.softmax", "scipy.special.softmax"),
}
# Checks of nn.Module classes: no reference to copy, and long forward passes that a profiler hook
# would slow down several times over; their student code runs unwatched.
UNWATCHED = {"lenet", "unet"}
_CHECKS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_CHECKS_PART = os.sep + os.path.join("course_utils", "checks") + os.sep  # any copy (the grader loads its own)
_MODES = ("__torch_function__", "__torch_dispatch__")  # a check's torch mode (modules.Recorder) runs inside
# Functions of the checks that may run inside the student's call: the checks' own hooks and losses
# (modules.py runs a loss on the student's output inside call(), so that a wrong device fails clearly)
_trusted_code: set = set()  # code objects of the checks that may run inside the student's call
# A generator of the checks resumed inside the student's call is one the garbage collector is closing (the
# checks' generators are context managers and expressions; none hands out a reference value): not a call
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def trusted(func):
    """Mark a function of the checks (a torch function mode, a hook) as allowed to run while
    the student's code runs; returns it unchanged."""
    _trusted_code.add(getattr(func, "__code__", None))
    return func



def _op_keys(check_name):
    """``{(top-level package, function name): name shown}`` for the library operations of a check."""
    keys = {}
    for name in LIBRARY_OPS.get(check_name, ()):
        parts = name.split(".")
        keys.setdefault((parts[0], parts[-1]), name)
        if parts[-1].startswith(("max_pool", "avg_pool")):
            keys.setdefault((parts[0], "_" + parts[-1]), name)
    return keys


def _in_checks(filename: str) -> bool:
    return filename.startswith(_CHECKS_DIR) or _CHECKS_PART in filename


def _inside_trusted(frame) -> bool:
    """Whether a frame of the checks runs for a check's own torch mode or trusted hook."""
    while frame is not None:
        code = frame.f_code
        if _in_checks(code.co_filename) and (code.co_name in _MODES or code in _trusted_code):
            return True
        frame = frame.f_back
    return False


class _Watch:
    """A profiler hook while the student's code runs: calls into the checks, library operations."""

    def __init__(self, ops):
        self.reference = None
        self.ops = ops
        self.seen: list = []

    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if (self.reference is None and _in_checks(code.co_filename) and not code.co_flags & _GENERATOR_FLAGS
                    and not _inside_trusted(frame)):
                module = os.path.splitext(os.path.basename(code.co_filename))[0]
                self.reference = f"course_utils.checks.{module}.{code.co_name}"
            if self.ops:
                self._saw(str(frame.f_globals.get("__name__", "")), code.co_name)
        elif event == "c_call" and self.ops:
            self._saw(str(getattr(arg, "__module__", None) or ""), str(getattr(arg, "__name__", "")))

    def _saw(self, module, name):
        shown = self.ops.get((module.split(".")[0], name))
        if shown and shown not in self.seen:
            self.seen.append(shown)


def _restore(previous, watched) -> None:
    """Put back the profiler that ran before :func:`call` (a function, or cProfile's object)."""
    if not watched:
        return
    if previous is None or callable(previous):
        sys.setprofile(previous)
    elif hasattr(previous, "enable"):
        sys.setprofile(None)
        previous.enable()
    else:  # pragma: no cover
        sys.setprofile(None)


_trusted_code.add(_restore.__code__)  # runs while the hook is still set


def call(func, *args, on_error=None, **kwargs):
    """Run the student's ``func``; turn a stub or an exception into a clear failure.

    ``on_error`` is a hint added when the student's code raises (not for a stub). A call into
    the course's checking code fails; a call to the check's library operation is noted.
    """
    check = _core.current()
    watch = _Watch(_op_keys(check.name) if check else {})
    watched = not (check is not None and check.name in UNWATCHED)
    previous = sys.getprofile()
    if watched:
        sys.setprofile(watch)
    try:
        result = func(*args, **kwargs)
    except NotImplementedError:
        _restore(previous, watched)
        _core.fail(t("check.stub"))
    except Exception as e:  # the student's bug, reported without our traceback
        _restore(previous, watched)
        if watch.reference:
            _core.fail(t("check.reference", where=watch.reference))
        detail = t("check.raised", etype=type(e).__name__, message=e)
        _core.fail(f"{detail}\n{on_error}" if on_error else detail)
    finally:
        _restore(previous, watched)
    if watch.reference:
        _core.fail(t("check.reference", where=watch.reference))
    if check is not None:
        check.library_calls.extend(op for op in watch.seen if op not in check.library_calls)
    return result


def call_unchanged(func, *args, on_error=None, **kwargs):
    """Like :func:`call` but also fails when the function modifies an array argument."""
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
    result = call(func, *args, on_error=on_error, **kwargs)
    for a, c in zip(args, copies):
        if c is not None and not np.array_equal(a, c, equal_nan=True):
            _core.fail(t("check.inputs_changed"))
    return result
