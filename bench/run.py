#!/usr/bin/env python
"""``make bench``: every benchmark of bench/ in one run, into bench/results.md.

    python bench/run.py [--quick] [--only conv,pooling,nms,notebooks] [--out bench/results.md]

Sections: convolution (``conv.py``), max pooling (``pooling.py``), NMS (``nms.py``) and the
FAST-mode run time of every notebook (``notebooks.py``); each module has
``run(quick: bool = False) -> str`` returning a Markdown section. A missing module becomes a
note; a section that fails (e.g. two implementations disagree) is reported in the file and
makes the exit status 1. The file starts with the machine: CPU, cores, memory, GPU, versions.
"""
import argparse
import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from course_utils.notebooks import write_atomically

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # the sections are bench/<name>.py

SECTIONS = ("conv", "pooling", "nms", "notebooks")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_markdown() -> str:
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = _memory_gib()
    rows = [
        ("date", dt.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("commit", _git_commit()),
        ("CPU", _cpu_model()),
        ("logical cores", f"{os.cpu_count()} ({usable} usable by this process)"),
        ("memory", f"{memory:.1f} GiB" if memory else "?"),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", platform.python_version()),
        ("torch", f"{torch.__version__} ({torch.get_num_threads()} CPU threads)"),
        ("torchvision", _version("torchvision")),
        ("numpy", _version("numpy")),
        ("OpenCV", _version("cv2")),
        ("COURSE_FAST", os.environ.get("COURSE_FAST", "unset")),
    ]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            rows.append((f"GPU {i}", f"{p.name}, {p.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"))
    else:
        rows.append(("GPU", "none (CUDA not available)"))
    return "\n".join(["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]) + "\n"


def run_section(name: str, quick: bool):
    """(markdown, ok, seconds) for one benchmark module; never raises."""
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return f"## {name}\n\n_Not run: bench/{name}.py is not in this checkout._\n", True, 0.0
        raise
    try:
        text = module.run(quick=quick)
        return text.rstrip() + "\n", True, time.perf_counter() - t0
    except Exception as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        print(traceback.format_exc(), file=sys.stderr)
        return (f"## {name}\n\n**FAILED**: `{detail}`\n", False, time.perf_counter() - t0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes / fewer repeats (a smoke run)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=BENCH / "results.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")

    parts = ["# Benchmarks", "",
             "Written by `make bench` (`COURSE_FAST=1 python bench/run.py"
             + (" --quick" if args.quick else "") + "`). Ratios compare implementations measured in the same run "
             "on the same machine; absolute times depend on the machine and its load.", "",
             "## Machine", "", machine_markdown()]
    ok_all, timings = True, []
    for name in names:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        text, ok, seconds = run_section(name, args.quick)
        ok_all &= ok
        timings.append(f"{name} {seconds:.1f} s")
        parts.append(text)
        print(f"bench: {name} {'done' if ok else 'FAILED'} in {seconds:.1f} s", file=sys.stderr, flush=True)
    parts.append(f"_Benchmark wall time: {', '.join(timings)}._\n")
    write_atomically(args.out, "\n".join(parts))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
