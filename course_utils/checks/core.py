"""What every exercise check is built from.

A check runs the student's function on a list of cases with :func:`call`, compares the
result with :func:`assert_close` (or :func:`expect`; :func:`assert_close_or_explain` also names
the typical mistake a wrong answer equals), and ends with :func:`success`. Any
problem becomes :class:`ExerciseFailed` with a one-paragraph message in the course language
that names the case and says what was expected and what came back. In IPython / Jupyter the
failure shows its message alone (:meth:`ExerciseFailed._render_traceback_`); a real bug inside
course_utils is any other exception and keeps its traceback.

Fair play: :func:`call` runs the student's code under a profiler hook that notices a call into
the course's own checking code (refused: the reference is not the answer) and, for the
exercises whose point is to write an operation by hand, a call to the library operation the
check compares with (named in the success line and in the grade, :data:`LIBRARY_OPS`).
Expected values are computed after the student's call, so an answer that walks the call
stack finds only its inputs. Each finished check leaves a :class:`Outcome` in :data:`OUTCOMES`
(the instructor's grading run reads it from its own private copy of the package).
"""
import contextlib
import numbers
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from ..i18n import register, t

register({
    "check.failed": {"ja": "✗ {name}: ケース「{case}」で不合格です。\n{detail}",
                     "en": "✗ {name}: failed on case \"{case}\".\n{detail}"},
    "check.passed": {"ja": "✓ {name}: 全 {n} ケースに合格しました。",
                     "en": "✓ {name}: all {n} cases passed."},
    "check.stub": {"ja": "まだ実装されていません (NotImplementedError)。演習のセルの「# ここにあなたのコードを書いてください」"
                         "の行と、その下の raise NotImplementedError(...) の行を、あなたのコードで置き換えてください。",
                   "en": "Not implemented yet (NotImplementedError): in the exercise cell, replace the line "
                         "\"# Write your code here\" and the raise NotImplementedError(...) below it with your code."},
    "check.reference": {"ja": "あなたの関数が講座のチェック用のコード ({where}) を呼んでいます。チェックの参照実装は"
                              "答えになりません。自分で実装してください。",
                        "en": "Your function calls the course's own checking code ({where}). The checks' reference "
                              "implementation is not an answer: write the exercise yourself."},
    "check.library": {"ja": "注意: あなたの関数は、比較に使っているライブラリの関数 {ops} を呼んでいます。"
                            "この演習はその計算を自分で書くことです。",
                      "en": "Note: your function calls {ops}, the library operation this check compares with; "
                            "the exercise is to write that computation yourself."},
    "check.raised": {"ja": "あなたの関数が例外 {etype} を出しました: {message}",
                     "en": "Your function raised {etype}: {message}"},
    "check.type": {"ja": "返り値の型が違います。期待: {expected}、実際: {got}",
                   "en": "Wrong return type. Expected {expected}, got {got}."},
    "check.shape": {"ja": "形 (shape) が違います。期待: {expected}、実際: {got}",
                    "en": "Wrong shape. Expected {expected}, got {got}."},
    "check.nan": {"ja": "NaN か無限大が含まれています ({count} 個、最初は位置 {index})。オーバーフローしていませんか?",
                  "en": "The result contains NaN or infinity ({count} values, first at index {index}). Did something overflow?"},
    "check.value": {"ja": "値が違います ({count}/{total} 個が不一致)。位置 {index} で期待 {expected}、実際 {got} (許容誤差 rtol={rtol}, atol={atol})。",
                    "en": "Wrong values ({count}/{total} differ). At index {index} expected {expected}, got {got} (tolerance rtol={rtol}, atol={atol})."},
    "check.scalar": {"ja": "値が違います。期待 {expected}、実際 {got}。",
                     "en": "Wrong value. Expected {expected}, got {got}."},
    "check.dtype": {"ja": "dtype が違います。期待: {expected}、実際: {got}",
                    "en": "Wrong dtype. Expected {expected}, got {got}."},
    "check.inputs_changed": {"ja": "入力の配列を書き換えてしまっています。入力はそのままにしてください。",
                             "en": "Your function modified its input array; leave the inputs unchanged."},
    "check.not_callable": {"ja": "{what} には関数 (またはクラス) を渡してください。渡されたのは {got} です。",
                           "en": "Pass a function (or class) as {what}; got {got}."},
})


class ExerciseFailed(AssertionError):
    """Raised by a check when the student's answer is wrong. The message says why.

    IPython (Jupyter, JupyterLab, nbclient) calls ``_render_traceback_()`` and shows the lines
    it returns instead of a traceback: the student sees the message alone.
    """

    def _render_traceback_(self):
        return str(self).splitlines() or [type(self).__name__]


@dataclass
class Outcome:
    """How one run of a check ended (read by the instructor's grading run)."""
    check: str
    passed: bool
    cases: int
    reason: str = ""
    notes: list = field(default_factory=list)


OUTCOMES: list = []  # every finished check, in order

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
_current: list = []  # the Check blocks now running (innermost last)
_MODES = ("__torch_function__", "__torch_dispatch__")  # a check's torch mode (modules.Recorder) runs inside
# Functions of the checks a student's answer may call. Only for a test of chapter 07 that builds an
# AP answer on the check's own interpolation (tests/test_checks_ch07.py, test_ap_voc_style_matching):
# remove once that test inlines it.
_trusted_code: set = set()  # code objects of the checks that may run inside the student's call


def trusted(func):
    """Mark a function of the checks (a torch function mode, a hook) as allowed to run while
    the student's code runs; returns it unchanged."""
    _trusted_code.add(getattr(func, "__code__", None))
    return func


class Failure(Exception):
    """Why the current case failed; :class:`Check` turns it into ExerciseFailed."""


def fail(detail: str):
    """Stop the current case with a message (inside a :class:`Check` block)."""
    raise Failure(detail)


@contextlib.contextmanager
def hint(detail: str):
    """Add ``detail`` (a targeted hint) to any failure raised inside the block."""
    try:
        yield
    except Failure as failure:
        raise Failure(f"{failure}\n{detail}") from None


def failure_text(block, *args, **kwargs):
    """Run ``block``; the failure message it raises, or None when it passes.

    For checks that try a wrong-but-plausible reading of the answer to choose a hint.
    """
    try:
        block(*args, **kwargs)
    except Failure as failure:
        return str(failure)
    return None


class Check:
    """Context for one exercise check.

    ``with Check("softmax") as c:`` then ``c.case("...")`` before each case; a failure
    inside raises ExerciseFailed naming the check and the case; on success it prints one line.
    """

    def __init__(self, name: str):
        self.name = name
        self.current = "-"
        self.count = 0
        self.library_calls: list = []  # library operations the student's code called (LIBRARY_OPS)

    def case(self, description: str) -> "Check":
        self.current = description
        self.count += 1
        return self

    def notes(self) -> list:
        return [t("check.library", ops=", ".join(self.library_calls))] if self.library_calls else []

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, etype, exc, tb):
        if self in _current:
            _current.remove(self)
        if exc is None:
            print(" ".join([t("check.passed", name=self.name, n=self.count)] + self.notes()))
            OUTCOMES.append(Outcome(self.name, True, self.count, "", self.notes()))
            return False
        if isinstance(exc, Failure):
            message = t("check.failed", name=self.name, case=self.current, detail=str(exc))
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _failed_cases.add((self.name, self.current))
            OUTCOMES.append(Outcome(self.name, False, self.count, f"{self.current}: {first}", self.notes()))
            raise ExerciseFailed(message) from None
        OUTCOMES.append(Outcome(self.name, False, self.count, f"{type(exc).__name__}: {exc}"[:200], self.notes()))
        return False


HIDDEN = 0  # set by the instructor's grading run: the random cases are drawn anew, unseen by the student


def seed(n: int) -> int:
    """The seed of a check's random cases: ``n``, or with :data:`HIDDEN` set a hidden one derived from it."""
    return n if not HIDDEN else (n * 1_000_003 + HIDDEN) % (1 << 32)


_failed_cases: set = set()  # (check, case) pairs that failed before in this session


def again() -> bool:
    """Whether the case now running already failed before in this session (a repeated failure)."""
    check = _current[-1] if _current else None
    return check is not None and (check.name, check.current) in _failed_cases


def on_repeat(text: str) -> str:
    """``text`` (e.g. the formula) on a repeated failure of the same case, else "": the first failure
    names the mistake, only a second one hands over the answer."""
    return text if again() else ""


def require_callable(obj, what: str) -> None:
    if not callable(obj):
        fail(t("check.not_callable", what=what, got=type(obj).__name__))


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
            if self.reference is None and _in_checks(code.co_filename) and not _inside_trusted(frame):
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
    check = _current[-1] if _current else None
    watch = _Watch(_op_keys(check.name) if check else {})
    watched = not (check is not None and check.name in UNWATCHED)
    previous = sys.getprofile()
    if watched:
        sys.setprofile(watch)
    try:
        result = func(*args, **kwargs)
    except NotImplementedError:
        _restore(previous, watched)
        fail(t("check.stub"))
    except Exception as e:  # the student's bug, reported without our traceback
        _restore(previous, watched)
        if watch.reference:
            fail(t("check.reference", where=watch.reference))
        detail = t("check.raised", etype=type(e).__name__, message=e)
        fail(f"{detail}\n{on_error}" if on_error else detail)
    finally:
        _restore(previous, watched)
    if watch.reference:
        fail(t("check.reference", where=watch.reference))
    if check is not None:
        check.library_calls.extend(op for op in watch.seen if op not in check.library_calls)
    return result


def call_unchanged(func, *args, on_error=None, **kwargs):
    """Like :func:`call` but also fails when the function modifies an array argument."""
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in args]
    result = call(func, *args, on_error=on_error, **kwargs)
    for a, c in zip(args, copies):
        if c is not None and not np.array_equal(a, c, equal_nan=True):
            fail(t("check.inputs_changed"))
    return result


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
        if arr.dtype.kind in "OUSVMm":
            fail(t("check.dtype", expected="number", got=type(value).__name__))
        return arr
    fail(t("check.type", expected=kind, got=describe_type(value)))


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x.item()) if isinstance(x, np.generic) else repr(x)


def assert_close(got, expected, rtol: float = 1e-5, atol: float = 1e-8, check_dtype=None) -> np.ndarray:
    """Compare an array-like answer with the expected one: type, shape, NaN, values.

    ``check_dtype`` is "float", "int" or None (any numeric dtype accepted).
    Returns the answer as a NumPy array.
    """
    expected = np.asarray(expected)
    got_arr = to_numpy(got, kind=f"ndarray {expected.shape}" if expected.ndim else "number")
    if got_arr.shape != expected.shape:
        fail(t("check.shape", expected=expected.shape, got=got_arr.shape))
    if not (np.issubdtype(got_arr.dtype, np.number) or got_arr.dtype == bool):
        fail(t("check.dtype", expected="number", got=got_arr.dtype))
    if check_dtype == "float" and not np.issubdtype(got_arr.dtype, np.floating):
        fail(t("check.dtype", expected="float", got=got_arr.dtype))
    if check_dtype == "int" and not np.issubdtype(got_arr.dtype, np.integer):
        fail(t("check.dtype", expected="int", got=got_arr.dtype))
    got_f = got_arr.astype(np.float64)
    bad = ~np.isfinite(got_f) & np.isfinite(expected.astype(np.float64))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(t("check.nan", count=int(bad.sum()), index=index))
    close = np.isclose(got_f, expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        if expected.ndim == 0:
            fail(t("check.scalar", expected=_fmt(expected[()]), got=_fmt(got_arr[()])))
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        fail(t("check.value", count=int((~close).sum()), total=close.size, index=index,
               expected=_fmt(expected[index]), got=_fmt(got_arr[index]), rtol=rtol, atol=atol))
    return got_arr


def _all_finite(value) -> bool:
    """Whether a numeric answer holds no NaN or infinity (True for what is not numeric at all)."""
    try:
        return bool(np.isfinite(np.asarray(to_numpy(value), dtype=np.float64)).all())
    except (Failure, TypeError, ValueError):
        return True


def assert_close_or_explain(got, expected, suspects=(), rtol: float = 1e-5, atol: float = 1e-8,
                            nonfinite: str | None = None, unexplained: str | None = None) -> None:
    """:func:`assert_close`, and when the answer is wrong, name the typical mistake it equals.

    ``suspects``: ``(candidate, hint)`` pairs, the value each typical mistake gives on this case
    (None where it does not apply); a mistake that gives the right value here is skipped. The
    failure gets the hint of the first candidate the answer equals; else ``nonfinite`` when the
    answer holds NaN or infinity (checked first), else ``unexplained``.
    """
    message = failure_text(assert_close, got, expected, rtol=rtol, atol=atol)
    if message is None:
        return
    if nonfinite and not _all_finite(got):
        fail(f"{message}\n{nonfinite}")
    for candidate, text in suspects:
        if candidate is None or failure_text(assert_close, candidate, expected, rtol=rtol, atol=atol) is None:
            continue
        if failure_text(assert_close, got, candidate, rtol=rtol, atol=atol) is None:
            fail(f"{message}\n{text}")
    fail(f"{message}\n{unexplained}" if unexplained else message)


def expect(condition: bool, detail: str) -> None:
    """Fail with ``detail`` unless ``condition`` holds."""
    if not condition:
        fail(detail)


def expect_equal(got, expected) -> None:
    """Exact comparison of scalars or small Python values."""
    if isinstance(got, np.generic):
        got = got.item()
    if got != expected:
        fail(t("check.scalar", expected=_fmt(expected), got=_fmt(got)))


def as_number(value) -> np.ndarray:
    """One number from an answer, as a 0-d array: a Python or NumPy number, a 0-d array or a 0-d
    tensor. A list, a tuple or an array of any other shape fails with ``check.not_number``."""
    if isinstance(value, (list, tuple)):
        fail(t("check.not_number", got=f"{type(value).__name__} {value!r}"[:80]))
    arr = to_numpy(value, kind="number")
    if arr.shape != ():
        fail(t("check.not_number", got=describe_type(arr)))
    return arr


register({
    "check.not_number": {"ja": "返り値は 1 つの数 (float) にしてください。返ってきたのは {got} です。",
                         "en": "Return a single number (a float); got {got}."},
})
