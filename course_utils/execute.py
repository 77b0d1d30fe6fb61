"""Running a course notebook and reading what it printed: the executor of ``make course``.

:func:`run_notebook` executes one notebook with nbclient in FAST mode (``COURSE_FAST=1`` in the
kernel's environment) or full mode (``COURSE_FAST=0``), each cell with errors allowed (recorded,
execution carries on), a cell running past its timeout interrupted, the kernel's working
directory the notebook's folder (as in JupyterLab and nbval). It returns the executed notebook
and a :class:`Result`: run time, the key figures the notebook printed, pass/fail of each exercise
check cell, the errors, the slowest cells, and the device / torch version it ran with.

- Key figures are the lines a notebook prints starting with "📊"; a notebook that prints none is
  represented by its lines that mention accuracy, mAP, mIoU, 精度 or 正解率 instead.
- A check cell is a code cell calling ``cu.checks.NAME(`` (:func:`course_utils.notebooks.check_name`);
  it passed when it ran and produced no error (:func:`check_outcome`).

Used by ``tools/build_course.py`` (``make course``), ``bench/notebooks.py`` (``make bench``) and the
tests; :func:`notebook_client_class` is the nbclient client they all run notebooks with.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty

import nbformat

from . import notebooks as nbio

ROOT = Path(__file__).resolve().parents[1]  # the repository (course_utils is installed editable)
LANGS = ("ja", "en")
CELL_TIMEOUT = {"fast": 300, "full": 900}

FIGURE_MARK = "📊"
FIGURE_WORDS = re.compile(r"accuracy|\bacc\b|\bmAP\b|\bmIoU\b|精度|正解率", re.IGNORECASE)
MAX_FALLBACK_FIGURES = 8
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Run after the notebook's own cells (and removed from the saved copy): what the kernel ran on.
PROBE_CODE = """\
import json as _j, platform as _p, sys as _s
_env = {"python": _p.python_version()}
try:
    import torch as _t
    _env["torch"] = _t.__version__
    _env["cuda"] = _t.version.cuda
    _env["device"] = ("cuda (" + _t.cuda.get_device_name(0) + ")") if _t.cuda.is_available() else "cpu"
except Exception as _e:
    _env["torch"] = "unavailable (" + type(_e).__name__ + ")"
try:
    import numpy as _n
    _env["numpy"] = _n.__version__
except Exception:
    pass
_cu = _s.modules.get("course_utils")
if _cu is not None and getattr(_cu.runtime, "_device", None) is not None:
    _env["device"] = _cu.runtime.device_name(_cu.runtime._device)
print("__COURSE_PROBE__" + _j.dumps(_env))
"""
PROBE_MARK = "__COURSE_PROBE__"


@dataclass
class CheckResult:
    """One exercise check cell of an executed notebook (``cell``: its index in the notebook)."""
    name: str
    cell: int
    passed: bool
    message: str = ""


@dataclass
class Result:
    """What one run of a notebook gave; ``html`` and ``notebook`` are filled in by whoever saves them."""
    lang: str
    name: str
    path: str
    mode: str
    ok: bool = True
    seconds: float = 0.0
    figures: list = field(default_factory=list)
    checks: list = field(default_factory=list)     # CheckResult as dicts
    errors: list = field(default_factory=list)     # "cell N: Ename: message"
    env: dict = field(default_factory=dict)        # device, torch, numpy, python
    slowest: list = field(default_factory=list)    # [(cell index, seconds)], the three slowest
    html: str = ""
    notebook: str = ""


# --------------------------------------------------------------------------- reading outputs

def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def stdout_lines(cell):
    """The non-blank lines a code cell printed to stdout, ANSI colours removed, ``\\r`` as a line break."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in ANSI.sub("", _text(output)).replace("\r", "\n").splitlines():
                if line.strip():
                    yield line.rstrip()


def _error_of(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def _one_line(output) -> str:
    value = ANSI.sub("", str(output.get("evalue", ""))).strip().splitlines()
    first = value[0] if value else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{output.get('ename', 'Error')}: {first}".rstrip(": ")


def extract_figures(nb) -> list[str]:
    """The key figures a notebook printed: its "📊" lines, else its accuracy/mAP/mIoU lines."""
    marked, worded = [], []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for line in stdout_lines(cell):
            stripped = line.strip()
            if stripped.startswith(PROBE_MARK):
                continue
            if stripped.startswith(FIGURE_MARK):
                marked.append(stripped)
            elif FIGURE_WORDS.search(stripped) and stripped not in worded:
                worded.append(stripped)
    if marked:
        return marked
    return worded[-MAX_FALLBACK_FIGURES:]


def check_outcome(cell) -> tuple[bool, str]:
    """Whether an exercise check cell passed, and why not: ``(False, "Ename: first line")`` when it
    raised, ``(False, "not executed")`` when it never ran, else ``(True, "")``."""
    error = _error_of(cell)
    if error is not None:
        return False, _one_line(error)
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return False, "not executed"
    return True, ""


def extract_checks(nb) -> list[CheckResult]:
    """Pass/fail of every exercise check cell (a code cell calling ``cu.checks.NAME(``)."""
    results = []
    for index, cell in enumerate(nb.get("cells", [])):
        name = nbio.check_name(cell)
        if name is not None:
            results.append(CheckResult(name, index, *check_outcome(cell)))
    return results


def extract_errors(nb) -> list[str]:
    errors = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code":
            error = _error_of(cell)
            if error is not None:
                errors.append(f"cell {index}: {_one_line(error)}")
    return errors


def _parse_time(value):
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def slowest_cells(nb, n: int = 3):
    """[(cell index, seconds)] of the slowest cells, from nbclient's timing metadata."""
    times = []
    for index, cell in enumerate(nb.get("cells", [])):
        timing = cell.get("metadata", {}).get("execution", {})
        start = _parse_time(timing.get("iopub.execute_input"))
        end = _parse_time(timing.get("shell.execute_reply"))
        if start and end:
            times.append((index, round((end - start).total_seconds(), 1)))
    return sorted(times, key=lambda item: -item[1])[:n]


def _probe_env(cell) -> dict:
    for line in stdout_lines(cell):
        if line.startswith(PROBE_MARK):
            try:
                return json.loads(line[len(PROBE_MARK):])
            except json.JSONDecodeError:
                return {}
    return {}


# --------------------------------------------------------------------------- executing

def kernel_env(mode: str, threads: int | None = None) -> dict:
    """The kernel's environment: COURSE_FAST=1 in fast mode, COURSE_FAST=0 in full mode (unset,
    course_utils would choose FAST on a machine without CUDA)."""
    env = dict(os.environ)
    env["COURSE_FAST"] = "1" if mode == "fast" else "0"
    if threads and "COURSE_THREADS" not in env:
        env["COURSE_THREADS"] = str(threads)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


POLL_SLICE = 0.5  # seconds


def _sliced_get_msg(get_msg):
    """``get_msg`` that waits in short polls instead of one long one.

    With ipywidgets in a cell, one long ``shell_channel.get_msg(timeout)`` of the asyncio client
    sometimes misses an ``execute_reply`` that has arrived and waits out the whole cell timeout
    (jupyter/nbclient#312; seen here: 300 s after chapter 04's kernel editor). A fresh poll sees
    the waiting message, so polling in slices bounds that delay to a fraction of a second.
    """
    async def get(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=POLL_SLICE if left is None else min(POLL_SLICE, left))
            except Empty:
                if left is not None and left <= POLL_SLICE:
                    raise

    return get


def notebook_client_class():
    """nbclient's ``NotebookClient`` with the shell channel polled in slices (see :func:`_sliced_get_msg`)."""
    from nbclient import NotebookClient

    class Client(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            kc.shell_channel.get_msg = _sliced_get_msg(kc.shell_channel.get_msg)
            return kc

    return Client


def run_notebook(path, mode: str = "fast", timeout: int | None = None, threads: int | None = None):
    """Execute one notebook; returns ``(executed notebook, Result)``. Never raises for a notebook error.

    Cells run with errors allowed (each recorded, execution continues); a cell running past
    ``timeout`` seconds is interrupted and recorded as an error. The kernel's working directory
    is the notebook's folder (as in JupyterLab and nbval).
    """
    path = Path(path).resolve()
    lang = path.parent.name
    result = Result(lang=lang, name=path.stem, path=str(path), mode=mode)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE_CODE))
    client = notebook_client_class()(
        nb,
        timeout=timeout or CELL_TIMEOUT[mode],
        startup_timeout=180,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env(mode, threads))
    except Exception as exc:  # dead kernel, kernel start failure, ...
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        result.errors.append(f"notebook: {type(exc).__name__}: {first}")
    result.seconds = round(time.perf_counter() - start, 1)
    probe = nb.cells.pop()
    result.env = _probe_env(probe)
    result.figures = extract_figures(nb)
    result.checks = [asdict(c) for c in extract_checks(nb)]
    result.errors = extract_errors(nb) + result.errors
    result.slowest = slowest_cells(nb)
    result.ok = not result.errors
    return nb, result


def find_notebooks(langs, root: Path = ROOT / "notebooks") -> list[Path]:
    """The chapter notebooks ``<root>/<lang>/NN_*.ipynb`` of each language, in order."""
    paths = []
    for lang in langs:
        paths += sorted((Path(root) / lang).glob("[0-9]*.ipynb"))
    return paths
