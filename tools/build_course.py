#!/usr/bin/env python
"""Execute the course notebooks and build HTML plus a report (``make course``).

    python tools/build_course.py --lang ja|en|all --mode fast|full [--jobs N] [--out build]

For every notebook of the chosen language(s) (``notebooks/<lang>/*.ipynb``) it runs all cells
with the executor :func:`course_utils.execute.run_notebook` in the chosen mode (FAST:
``COURSE_FAST=1`` in the kernel's environment; full: ``COURSE_FAST=0``), recording errors cell by
cell and carrying on, then writes

- ``<out>/notebooks/<lang>/<name>.ipynb``  the executed notebook,
- ``<out>/html/<lang>/<name>.html``        its HTML (nbconvert), plus ``<out>/html/index.html``,
- ``<out>/report.md`` and ``<out>/report.json`` (:mod:`course_utils.report`): per notebook its run
  time, the key figures it prints, pass/fail of each exercise check cell, and the device / torch
  version it ran with.

A failing notebook does not stop the others; the exit status is 1 if any notebook failed.
Every file is written atomically (:func:`course_utils.notebooks.write_atomically`).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat

from course_utils.execute import LANGS, Result, find_notebooks, run_notebook
from course_utils.notebooks import write_atomically
from course_utils.report import checks_summary, write_report

ROOT = Path(__file__).resolve().parents[1]


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
    write_atomically(nb_path, nbformat.writes(nb) + "\n")
    result.notebook = str(nb_path.relative_to(out))
    try:
        write_atomically(html_path, to_html(nb))
        result.html = str(html_path.relative_to(out))
    except Exception as exc:
        result.errors.append(f"html: {type(exc).__name__}: {exc}")
        result.ok = False
    return asdict(result)


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
        checks = f", checks {checks_summary(r['checks'])}" if r["checks"] else ""
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
    report = write_report(args.out, results, args.mode, langs, started, seconds, jobs)
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} notebooks passed in {seconds:.0f} s; "
          f"report: {report}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
