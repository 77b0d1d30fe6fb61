"""The instructor's grading run: a class's notebooks executed with the instructor's course_utils.

``python -m course_utils grade-submissions SUBMISSIONS/ --reference RELEASE/ [--out DIR] [--jobs N]
[--timeout S] [--cell-timeout S] [--memory-gb G]``

``SUBMISSIONS/`` holds one folder per student (anything inside: their exercise repository);
``RELEASE/`` the released notebooks (their metadata records every check cell). For each student
and each released notebook, in a worker process of its own (``--jobs`` at a time, one per core
by default):

1. the submission is copied to a private folder without any ``course_utils`` of its own (nor a
   ``sitecustomize``/``usercustomize``), and a copy of the instructor's package is put first on
   the kernel's ``PYTHONPATH`` (``PYTHONSAFEPATH=1``: the notebook's folder is not on sys.path);
2. the student's notebook runs cell by cell (nbclient, errors allowed, a time limit per cell (the
   first code cell, which imports torch, at least SETUP_TIMEOUT) and per notebook, an
   address-space limit for the kernel); a hang is interrupted, a dead kernel
   ends the notebook, and nothing of it can stop the other workers;
3. each check cell is found by its fingerprint from the release (a deleted or edited check cell
   counts as failed); right after it ran, the grader runs the same check again from a fresh copy
   of the instructor's package loaded under a random private name from a folder made for that
   moment, on the objects the check cell names, outside the notebook's history, with its random
   cases drawn from a hidden seed (``checks.core.HIDDEN``: cases the student's copy never showed,
   for the checks that draw random cases through ``core.seed``). Success is read
   from that private copy's record (``checks.core.OUTCOMES``) and reported on a line tagged with a
   random token made for that check: printed text, a replaced ``cu.checks.X`` or the student's
   copy of course_utils do not count.

The class's results go to ``DIR/grades.csv`` (one row per student × exercise, with the one-line
reason of a failure and the notes, e.g. a library call in a by-hand exercise) and
``DIR/grades.md`` (a student × exercise table). Limits: the student's code runs in the same
process as the private re-check, so a notebook written to attack the grader itself (patching
NumPy or the import system) is not excluded; use a container per worker for that.
"""
import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import notebooks as nbio
from .grade_worker import PACKAGE, _copy_package, _result, find_notebook, match_checks, worker_main  # noqa: F401 (match_checks: part of this API)
from .i18n import register, t

SKIP = ("course_utils", ".git", ".ipynb_checkpoints", "__pycache__", "sitecustomize.py", "usercustomize.py")

register({
    "gs.worker": {"ja": "採点プロセスが異常終了しました ({why})", "en": "the grading process failed ({why})"},
    "gs.no_reference": {"ja": "{path} に配布版のノートブック (metadata.course.checks) がありません。",
                        "en": "No released notebooks (metadata.course.checks) in {path}."},
    "gs.no_students": {"ja": "{path} に学生のフォルダがありません。", "en": "No student folders in {path}."},
    "gs.wrote": {"ja": "書き出し: {csv}, {md} ({n} 人、{seconds:.1f} 秒)",
                 "en": "wrote {csv} and {md} ({n} students, {seconds:.1f} s)"},
    "gs.student": {"ja": "学生", "en": "student"},
    "gs.total": {"ja": "合計", "en": "total"},
})

# The worker imports grade_worker without course_utils/__init__ (no torch, matplotlib, widgets).
BOOT = """import sys, types
root = sys.argv[1] + "/course_utils"
package = types.ModuleType("course_utils")
package.__path__ = [root]
sys.modules["course_utils"] = package
from course_utils.grade_worker import worker_main
sys.exit(worker_main(sys.argv[2]))
"""


class GradeSubmissionsError(ValueError):
    """Input that cannot be graded; the message says why."""


def _copy_submission(src: Path, dst: Path) -> None:
    """The submission without its own course_utils or start-up hooks (the instructor's are used)."""
    shutil.copytree(src, dst, symlinks=True, ignore=lambda _d, names: [n for n in names if n in SKIP])


def reference_notebooks(reference) -> dict:
    """``{relative path: notebook}`` of the released notebooks that record check cells."""
    reference = Path(reference)
    paths = [reference] if reference.is_file() else sorted(reference.rglob("*.ipynb"))
    found = {}
    for path in paths:
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbio.read(path)
        if nb.get("metadata", {}).get("course", {}).get("checks") is not None:
            found[path.name if reference.is_file() else path.relative_to(reference).as_posix()] = nb
    if not found:
        raise GradeSubmissionsError(t("gs.no_reference", path=reference))
    return found


# --------------------------------------------------------------------------------- the class

def _run_task(task: dict, wall: float) -> list:
    """One notebook in a worker process of its own; its results even when it fails or hangs."""
    checks = task["reference"]["metadata"]["course"]["checks"]
    task_file = Path(task["work"]).parent / (Path(task["out"]).stem + ".task.json")
    task_file.write_text(json.dumps(task), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=task["package_parent"], PYTHONSAFEPATH="1")
    proc = subprocess.Popen([sys.executable, "-c", BOOT, task["package_parent"], str(task_file)],
                            cwd=task["work"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=wall)
        why = None if proc.returncode == 0 else (err.decode(errors="replace").strip().splitlines() or ["?"])[-1][:200]
    except subprocess.TimeoutExpired:
        why = t("gs.timeout")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and its kernel
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    out = Path(task["out"])
    if why is None and out.exists():
        return json.loads(out.read_text(encoding="utf-8"))
    return [_result(c["check"], reason=t("gs.worker", why=why or "-")) for c in checks]


def grade_submissions(submissions, reference, out="grades", jobs=None, timeout=600.0, cell_timeout=120.0,
                      check_timeout=120.0, memory_gb=16.0, lang=None) -> list:
    """Grade every student folder of ``submissions`` against the release ``reference``.

    Returns rows ``{"student", "notebook", "check", "passed", "reason", "notes"}`` and writes
    ``out/grades.csv`` and ``out/grades.md``.
    """
    from . import i18n

    start = time.monotonic()
    lang = lang or i18n.language()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    released = reference_notebooks(reference)
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if submissions.is_dir() else []
    if not students:
        raise GradeSubmissionsError(t("gs.no_students", path=submissions))
    jobs = jobs or os.cpu_count() or 1
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="cu-grade-"))
    tasks = []
    try:
        for n, student in enumerate(students):
            for k, (relative, nb) in enumerate(released.items()):
                base = scratch / f"{n}-{k}"
                package_parent = base / "pkg"
                _copy_package(package_parent)
                work = base / "work"
                _copy_submission(student, work)
                found = find_notebook(work, relative)
                tasks.append({"student": student.name, "relative": relative, "reference": nb, "source_package": str(PACKAGE),
                              "notebook": str(found) if found else None, "work": str(work),
                              "package_parent": str(package_parent), "out": str(base / "result.json"),
                              "timeout": timeout, "cell_timeout": cell_timeout, "check_timeout": check_timeout,
                              "memory_gb": memory_gb, "lang": lang})
        n_checks = max(len(nb["metadata"]["course"]["checks"]) for nb in released.values())
        wall = timeout + n_checks * check_timeout + 60
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            outcomes = list(pool.map(lambda task: _run_task(task, wall), tasks))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for task, results in zip(tasks, outcomes):
        for r in results:
            rows.append({"student": task["student"], "notebook": task["relative"], **r})
    write_tables(rows, out)
    print(t("gs.wrote", csv=out / "grades.csv", md=out / "grades.md", n=len(students),
            seconds=time.monotonic() - start))
    return rows


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def write_tables(rows: list, out: Path) -> None:
    """``grades.csv`` (one row per student × exercise) and ``grades.md`` (a student × exercise table)."""
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "check", "passed", "points", "reason", "notes"])
        for r in rows:
            writer.writerow([r["student"], r["notebook"], r["check"], r["passed"], int(r["passed"]),
                             "" if r["passed"] else r["reason"], " ".join(r["notes"])])
    columns = list(dict.fromkeys((r["notebook"], r["check"]) for r in rows))
    students = list(dict.fromkeys(r["student"] for r in rows))
    by = {(r["student"], r["notebook"], r["check"]): r for r in rows}
    lines = ["| " + " | ".join([t("gs.student")] + [f"`{c}`" for _, c in columns] + [t("gs.total")]) + " |",
             "|" + "---|" * (len(columns) + 2)]
    for s in students:
        cells, points = [], 0
        for nb, c in columns:
            r = by.get((s, nb, c))
            if r is None:
                cells.append("")
                continue
            points += r["passed"]
            note = f" ({_cell(' '.join(r['notes']))[:120]})" if r["notes"] else ""
            cells.append(("✅" + note) if r["passed"] else f"❌ {_cell(r['reason'])[:160]}{note}")
        lines.append("| " + " | ".join([_cell(s)] + cells + [f"{points} / {len(columns)}"]) + " |")
    nbio.write_atomically(out / "grades.md", "\n".join(lines) + "\n")


def add_arguments(parser) -> None:
    parser.add_argument("submissions", help="folder with one folder per student")
    parser.add_argument("--reference", required=True, help="folder of the released notebooks")
    parser.add_argument("--out", default="grades", help="where grades.csv and grades.md go")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: one per core)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per notebook")
    parser.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    parser.add_argument("--check-timeout", type=float, default=120.0, help="seconds per private re-check")
    parser.add_argument("--memory-gb", type=float, default=16.0, help="address-space limit per notebook's kernel")


def main_from_args(args, lang) -> int:
    try:
        rows = grade_submissions(args.submissions, args.reference, out=args.out, jobs=args.jobs,
                                 timeout=args.timeout, cell_timeout=args.cell_timeout,
                                 check_timeout=args.check_timeout, memory_gb=args.memory_gb, lang=lang)
    except GradeSubmissionsError as e:
        print(e, file=sys.stderr)
        return 2
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2]))
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade_submissions")
    add_arguments(parser)
    sys.exit(main_from_args(parser.parse_args(), None))
