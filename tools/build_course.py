#!/usr/bin/env python
"""Execute the course notebooks and build HTML plus a report (``make course``).

    python tools/build_course.py --lang ja|en|all --mode fast|full [--jobs N] [--out build]

For every notebook of the chosen language(s) (``notebooks/<lang>/*.ipynb``) it runs all cells
with nbclient in the chosen mode (FAST: ``COURSE_FAST=1`` in the kernel's environment; full:
``COURSE_FAST=0``), recording errors cell by cell and carrying on, then writes

- ``<out>/notebooks/<lang>/<name>.ipynb``  the executed notebook,
- ``<out>/html/<lang>/<name>.html``        its HTML (nbconvert), plus ``<out>/html/index.html``,
- ``<out>/report.md`` and ``<out>/report.json``: per notebook its run time, the key figures it
  prints, pass/fail of each exercise check cell, and the device / torch version it ran with.

Key figures are the lines a notebook prints starting with "📊"; a notebook that prints none
is represented by its lines that mention accuracy, mAP, mIoU, 精度 or 正解率 instead. A check
cell is a code cell calling ``cu.checks.NAME(``; it passed when it produced no error.

A failing notebook does not stop the others; the exit status is 1 if any notebook failed.
Every file is written atomically (temporary file + rename). :func:`run_notebook` is the
executor, reused by ``bench/notebooks.py``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import platform
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("ja", "en")
CELL_TIMEOUT = {"fast": 300, "full": 900}

FIGURE_MARK = "📊"
FIGURE_WORDS = re.compile(r"accuracy|\bacc\b|\bmAP\b|\bmIoU\b|精度|正解率", re.IGNORECASE)
MAX_FALLBACK_FIGURES = 8
CHECK_CALL = re.compile(r"\bcu\.checks\.(\w+)\(")
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
    name: str
    cell: int
    passed: bool
    message: str = ""


@dataclass
class Result:
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

def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def _stdout_lines(cell):
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
        for line in _stdout_lines(cell):
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


def extract_checks(nb) -> list[CheckResult]:
    """Pass/fail of every exercise check cell (a code cell calling ``cu.checks.NAME(``)."""
    results = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        match = CHECK_CALL.search(_source(cell))
        if not match:
            continue
        error = _error_of(cell)
        if error is not None:
            results.append(CheckResult(match.group(1), index, False, _one_line(error)))
        elif cell.get("execution_count") is None and not cell.get("outputs"):
            results.append(CheckResult(match.group(1), index, False, "not executed"))
        else:
            results.append(CheckResult(match.group(1), index, True))
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
    for line in _stdout_lines(cell):
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


def _write(path, text: str) -> None:
    """Write through a temporary file in the same folder and a rename: never half a file.

    (Like course_utils.notebooks.write_atomically, but the result gets the usual umask
    permissions rather than mkstemp's 0600, so the HTML can be served.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_html(nb) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def build_one(path, mode: str, out, timeout: int | None = None, threads: int | None = None) -> dict:
    """Execute ``path`` and write its executed notebook and HTML under ``out``; returns the Result as a dict."""
    out = Path(out)
    nb, result = run_notebook(path, mode=mode, timeout=timeout, threads=threads)
    nb_path = out / "notebooks" / result.lang / f"{result.name}.ipynb"
    html_path = out / "html" / result.lang / f"{result.name}.html"
    _write(nb_path, nbformat.writes(nb) + "\n")
    result.notebook = str(nb_path.relative_to(out))
    try:
        _write(html_path, to_html(nb))
        result.html = str(html_path.relative_to(out))
    except Exception as exc:
        result.errors.append(f"html: {type(exc).__name__}: {exc}")
        result.ok = False
    return asdict(result)


def find_notebooks(langs, root: Path = ROOT / "notebooks") -> list[Path]:
    paths = []
    for lang in langs:
        paths += sorted((Path(root) / lang).glob("[0-9]*.ipynb"))
    return paths


# --------------------------------------------------------------------------- report

def machine() -> dict:
    info = {"host": platform.node(), "os": f"{platform.system()} {platform.release()}",
            "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _checks_summary(checks) -> str:
    if not checks:
        return "–"
    passed = sum(c["passed"] for c in checks)
    return f"{passed}/{len(checks)}"


def report_markdown(results, mode: str, langs, started: str, seconds: float, jobs: int = 1) -> str:
    """``build/report.md``: a summary table, then per notebook its figures, checks and errors."""
    results = sorted(results, key=lambda r: (LANGS.index(r["lang"]) if r["lang"] in LANGS else 9, r["name"]))
    failed = [r for r in results if not r["ok"]]
    envs = {(r["env"].get("device", "?"), r["env"].get("torch", "?")) for r in results if r["env"]}
    host = machine()
    lines = [
        "# Course build report",
        "",
        f"- mode: **{mode}** (`COURSE_FAST={'1' if mode == 'fast' else '0'}`), languages: {', '.join(langs)}, "
        f"jobs: {jobs}",
        f"- started: {started}, wall time: {seconds:.0f} s",
        f"- machine: {host['cpu']}, {host['cpus']} CPUs, {host['os']}, Python {platform.python_version()}",
    ]
    for device, torch in sorted(envs):
        lines.append(f"- device: {device}, torch {torch}")
    lines += [
        f"- result: **{len(results) - len(failed)}/{len(results)} notebooks passed**",
        f"- reproduce: `make course LANG={'all' if len(langs) > 1 else langs[0]} MODE={mode}`",
        "",
        "| notebook | status | time (s) | checks | key figures |",
        "|---|---|---:|---:|---|",
    ]
    for r in results:
        status = "✅ pass" if r["ok"] else "❌ FAIL"
        figures = "<br>".join(_cell(f) for f in r["figures"]) or "–"
        link = f"[{r['lang']}/{r['name']}]({r['html']})" if r["html"] else f"{r['lang']}/{r['name']}"
        lines.append(f"| {link} | {status} | {r['seconds']:.1f} | {_checks_summary(r['checks'])} | {figures} |")
    for r in results:
        lines += ["", f"## {r['lang']}/{r['name']} — {'pass' if r['ok'] else 'FAIL'}, {r['seconds']:.1f} s", ""]
        env = r["env"]
        if env:
            lines.append(f"- device: {env.get('device', '?')}, torch {env.get('torch', '?')}, "
                         f"numpy {env.get('numpy', '?')}, Python {env.get('python', '?')}")
        if r["slowest"]:
            lines.append("- slowest cells: " + ", ".join(f"#{i} {s:.1f} s" for i, s in r["slowest"]))
        if r["figures"]:
            lines.append("- key figures:")
            lines += [f"  - {f}" for f in r["figures"]]
        if r["checks"]:
            lines.append("- checks:")
            for c in r["checks"]:
                mark = "✓" if c["passed"] else "✗"
                detail = f" — {c['message']}" if c["message"] else ""
                lines.append(f"  - {mark} `{c['name']}` (cell {c['cell']}){detail}")
        if r["errors"]:
            lines.append("- errors:")
            lines += [f"  - {e}" for e in r["errors"]]
    return "\n".join(lines) + "\n"


def index_html(results) -> str:
    rows = []
    for r in sorted(results, key=lambda r: (r["lang"], r["name"])):
        if r["html"]:
            href = html.escape(str(Path(r["html"]).relative_to("html")))
            status = "pass" if r["ok"] else "FAIL"
            rows.append(f"<li><a href=\"{href}\">{html.escape(r['lang'] + '/' + r['name'])}</a> ({status})</li>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>深層学習による画像認識 / "
            "Deep Learning for Image Recognition</title></head><body><h1>深層学習による画像認識 / "
            "Deep Learning for Image Recognition</h1><ul>" + "".join(rows) + "</ul></body></html>\n")


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=["ja", "en", "all"], default="all")
    parser.add_argument("--mode", choices=["fast", "full"], default="fast")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed at once (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder (default build/)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="per-cell timeout in seconds (default 300 fast / 900 full)")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="folder holding ja/ and en/ (default notebooks/)")
    parser.add_argument("only", nargs="*", help="only notebooks whose name contains one of these (e.g. 01 03_backprop)")
    args = parser.parse_args(argv)

    langs = list(LANGS) if args.lang == "all" else [args.lang]
    paths = find_notebooks(langs, args.notebooks)
    if args.only:
        paths = [p for p in paths if any(o in p.stem for o in args.only)]
    if not paths:
        print(f"no notebooks found in {args.notebooks} for {langs} {args.only or ''}", file=sys.stderr)
        return 2
    jobs = max(1, min(args.jobs, len(paths)))
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"executing {len(paths)} notebooks ({args.mode} mode, {jobs} at a time) into {args.out}", flush=True)
    t0 = time.perf_counter()
    results = []

    def done(r):
        results.append(r)
        mark = "✓" if r["ok"] else "✗"
        checks = f", checks {_checks_summary(r['checks'])}" if r["checks"] else ""
        print(f"{mark} {r['lang']}/{r['name']}: {r['seconds']:.1f} s{checks}", flush=True)
        for error in r["errors"]:
            print(f"    {error}", flush=True)

    if jobs == 1:
        for path in paths:
            done(build_one(path, args.mode, args.out, args.timeout, threads))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(build_one, p, args.mode, args.out, args.timeout, threads): p for p in paths}
            for future in as_completed(futures):
                try:
                    done(future.result())
                except Exception as exc:  # the worker itself died
                    p = futures[future]
                    done(asdict(Result(p.parent.name, p.stem, str(p), args.mode, ok=False,
                                       errors=[f"worker: {type(exc).__name__}: {exc}"])))
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    _write(out / "report.md", report_markdown(results, args.mode, langs, started, seconds, jobs))
    _write(out / "report.json", json.dumps({"mode": args.mode, "langs": langs, "started": started,
                                            "seconds": round(seconds, 1), "machine": machine(),
                                            "results": results}, ensure_ascii=False, indent=1) + "\n")
    _write(out / "html" / "index.html", index_html(results))
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} notebooks passed in {seconds:.0f} s; "
          f"report: {out / 'report.md'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
