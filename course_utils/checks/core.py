"""What every exercise check is built from.

A check runs the student's function on a list of cases with :func:`call`, compares the
result with :func:`assert_close` (or :func:`expect`; :func:`assert_close_or_explain` also names
the typical mistake a wrong answer equals), and ends with :func:`success`. Any
problem becomes :class:`ExerciseFailed` with a one-paragraph message in the course language
that names the case and says what was expected and what came back. Tracebacks from inside
course_utils are cut off (``raise ... from None``) so the student sees only the message.
"""
import contextlib
import numbers

import numpy as np

from ..i18n import register, t

register({
    "check.failed": {"ja": "✗ {name}: ケース「{case}」で不合格です。\n{detail}",
                     "en": "✗ {name}: failed on case \"{case}\".\n{detail}"},
    "check.passed": {"ja": "✓ {name}: 全 {n} ケースに合格しました。",
                     "en": "✓ {name}: all {n} cases passed."},
    "check.stub": {"ja": "まだ実装されていません (NotImplementedError)。# BEGIN SOLUTION の部分を書いてください。",
                   "en": "Not implemented yet (NotImplementedError): write the part marked # BEGIN SOLUTION."},
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
    """Raised by a check when the student's answer is wrong. The message says why."""


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

    def case(self, description: str) -> "Check":
        self.current = description
        self.count += 1
        return self

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is None:
            print(t("check.passed", name=self.name, n=self.count))
            return False
        if isinstance(exc, Failure):
            message = t("check.failed", name=self.name, case=self.current, detail=str(exc))
            raise ExerciseFailed(message) from None
        return False


def require_callable(obj, what: str) -> None:
    if not callable(obj):
        fail(t("check.not_callable", what=what, got=type(obj).__name__))


def call(func, *args, on_error=None, **kwargs):
    """Run the student's ``func``; turn a stub or an exception into a clear failure.

    ``on_error`` is a hint added when the student's code raises (not for a stub).
    """
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        fail(t("check.stub"))
    except Exception as e:  # the student's bug, reported without our traceback
        detail = t("check.raised", etype=type(e).__name__, message=e)
        fail(f"{detail}\n{on_error}" if on_error else detail)


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


def to_numpy(value, kind: str = "array"):
    """Accept a NumPy array, a torch tensor or a number; fail on anything else."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (numbers.Number, np.generic)):
        return np.asarray(value)
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
