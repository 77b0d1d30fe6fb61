"""One student's notebook graded in a worker process of its own (see :mod:`course_utils.grade_submissions`).

:func:`worker_main` reads the task, limits the process's memory and calls :func:`grade_one`: the
notebook runs cell by cell with nbclient, each check cell is found by its fingerprint from the
release (:func:`match_checks`), and right after it ran the check runs again from a fresh private
copy of the instructor's package (:data:`GRADER`, :func:`_private_check`). The worker imports this
module without ``course_utils/__init__`` (no torch, matplotlib or widgets in the grading process).
"""
import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from . import notebooks as nbio
from .i18n import register, t

PACKAGE = Path(__file__).resolve().parent  # the instructor's course_utils
SETUP_TIMEOUT = 180  # seconds at least for the first code cell (importing torch is slow on a loaded machine)

# Runs in the student's kernel right after a check cell: a fresh private copy of the package,
# the check called on the objects the check cell names, the result on a line tagged with TOKEN.
GRADER = r'''
def _cu_private_check(token, package, lang, name, source):
    import ast, contextlib, importlib.util, io, json, sys
    key = "_cu_grader_" + token
    result = {"passed": False, "reason": "", "notes": []}
    try:
        spec = importlib.util.spec_from_file_location(key, package + "/__init__.py",
                                                      submodule_search_locations=[package])
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
        module.i18n.set_language(lang)
        core = module.checks.core
        core.HIDDEN = int(token[:8], 16) | 1  # random cases drawn anew: hidden from the student's copy
        namespace = dict(get_ipython().user_ns)
        namespace["cu"] = module
        call = next(node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                    and ast.unparse(node.func).replace(" ", "") == "cu.checks." + name)
        ev = lambda node: eval(compile(ast.Expression(node), "<check>", "eval"), namespace)
        args = []
        for node in call.args:
            args.extend(ev(node.value)) if isinstance(node, ast.Starred) else args.append(ev(node))
        kwargs = {k.arg: ev(k.value) for k in call.keywords if k.arg}
        start = len(core.OUTCOMES)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                getattr(module.checks, name)(*args, **kwargs)
            except core.ExerciseFailed:
                pass
        outcomes = [o for o in core.OUTCOMES[start:] if o.check == name]
        if outcomes:
            result = {"passed": bool(outcomes[-1].passed), "reason": outcomes[-1].reason, "notes": outcomes[-1].notes}
        else:
            result["reason"] = "no outcome"
    except BaseException as e:
        result["reason"] = (type(e).__name__ + ": " + str(e))[:300]
    finally:
        for k in [k for k in sys.modules if k == key or k.startswith(key + ".")]:
            del sys.modules[k]
    sys.stdout.write("\n" + token + json.dumps(result) + "\n")
    sys.stdout.flush()
'''


def _copy_package(dst: Path, src: Path = PACKAGE) -> Path:
    """A copy of the instructor's course_utils (``src``) in ``dst/course_utils``."""
    shutil.copytree(src, dst / "course_utils", ignore=shutil.ignore_patterns("__pycache__", "templates"))
    return dst / "course_utils"


def find_notebook(folder: Path, relative: str):
    """The student's copy of a released notebook: the same relative path's tail, else the same name."""
    parts = Path(relative).parts
    candidates = [p for p in sorted(folder.rglob(parts[-1])) if ".ipynb_checkpoints" not in p.parts]
    for p in candidates:
        if p.parts[-len(parts):] == parts:
            return p
    for p in candidates:
        if p.parts[-2:] == parts[-2:]:
            return p
    return candidates[0] if candidates else None


def match_checks(nb: dict, checks: list) -> dict:
    """``{cell index: check record}`` for every check cell present and unchanged (by fingerprint)."""
    cells = list(enumerate(nb["cells"]))
    matched, used = {}, set()
    for check in checks:
        hit = next((i for i, c in cells if c["cell_type"] == "code" and c.get("id") == check["cell_id"]
                    and nbio.fingerprint(c) == check["sha256"] and i not in used), None)
        if hit is None:
            hit = next((i for i, c in cells if c["cell_type"] == "code" and nbio.fingerprint(c) == check["sha256"]
                        and i not in used), None)
        if hit is not None:
            matched[hit] = check
            used.add(hit)
    return matched


def _result(check, passed=False, reason="", notes=()):
    return {"check": check, "passed": bool(passed), "reason": reason, "notes": list(notes)}


def _private_check(client, cell_index, token_dir: Path, lang: str, check: dict, source: str, timeout: float):
    """Run the check again from a fresh private copy of the package; its tagged result."""
    import nbformat

    token = secrets.token_hex(16)
    try:
        package = _copy_package(token_dir / token, token_dir / "pristine" / "course_utils")
    except OSError as e:
        return _result(check["check"], reason=t("gs.no_result", why=f"{type(e).__name__}: {e}"[:160])), None
    code = GRADER + f"\n_cu_private_check({token!r}, {str(package)!r}, {lang!r}, {check['check']!r}, {source!r})\n" \
        "del _cu_private_check\n"
    cell = nbformat.v4.new_code_cell(code)
    client.timeout = max(1, int(timeout))
    try:
        client.execute_cell(cell, cell_index, store_history=False)
    except Exception as e:
        return _result(check["check"], reason=t("gs.no_result", why=type(e).__name__)), e
    finally:
        shutil.rmtree(token_dir / token, ignore_errors=True)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(token):
            data = json.loads(line[len(token):])
            return _result(check["check"], data.get("passed"), data.get("reason", ""), data.get("notes", ())), None
    return _result(check["check"], reason=t("gs.no_result", why="-")), None


def grade_one(task: dict) -> list:
    """Execute one student's notebook and grade every check of its release (in this process)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    reference = task["reference"]
    checks = reference["metadata"]["course"]["checks"]
    lang = nbio.language(reference)
    notebook = Path(task["notebook"]) if task.get("notebook") else None
    if notebook is None:
        return [_result(c["check"], reason=t("gs.missing_notebook", name=task["relative"])) for c in checks]
    student = nbio.read(notebook)
    matched = match_checks(student, checks)
    results = {c["check"]: _result(c["check"], reason=t("gs.altered")) for c in checks}  # unless matched
    pending = dict(matched)
    nb = nbformat.from_dict(student)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    env = dict(os.environ, PYTHONPATH=task["package_parent"], PYTHONSAFEPATH="1", MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONSTARTUP", None)
    client = NotebookClient(nb, timeout=task["cell_timeout"], kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(notebook.parent)}})
    deadline = time.monotonic() + task["timeout"]
    why, first = None, True
    # the private copies come from a pristine copy made before the notebook runs, in a folder the
    # kernel is never told about (a notebook may delete the package it imported)
    token_dir = Path(tempfile.mkdtemp(prefix="cu-"))
    _copy_package(token_dir / "pristine", Path(task["source_package"]))
    try:
        with client.setup_kernel(env=env, cwd=str(notebook.parent)):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    why = t("gs.timeout")
                    break
                limit = max(task["cell_timeout"], SETUP_TIMEOUT) if first else task["cell_timeout"]
                first = False
                client.timeout = max(1, int(min(limit, remaining)))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    pass  # interrupted; the notebook carries on while time remains
                except DeadKernelError:
                    why = t("gs.dead")
                    break
                if index in pending:
                    check = pending.pop(index)
                    result, error = _private_check(client, index, token_dir, lang, check, nbio.source(cell),
                                                   task["check_timeout"])
                    results[check["check"]] = result
                    if isinstance(error, DeadKernelError):
                        why = t("gs.dead")
                        break
    except DeadKernelError:
        why = t("gs.dead")
    except Exception as e:  # a kernel that will not start, ...
        why = f"{type(e).__name__}: {e}"[:200]
    finally:
        shutil.rmtree(token_dir, ignore_errors=True)
    for check in pending.values():
        results[check["check"]] = _result(check["check"], reason=t("gs.not_reached", why=why or "-"))
    return [results[c["check"]] for c in checks]


def _limit_memory(gigabytes: float) -> None:
    import resource

    limit = int(gigabytes * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_main(task_file: str) -> int:
    """``python -m course_utils.grade_submissions --worker TASK.json``: grade one notebook."""
    from . import i18n

    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    i18n.set_language(task["lang"])
    if task.get("memory_gb"):
        _limit_memory(task["memory_gb"])
    os.chdir(task["work"])
    results = grade_one(task)
    nbio.write_atomically(task["out"], json.dumps(results))
    return 0


register({
    "gs.altered": {"ja": "チェックのセルが削除または変更されています", "en": "the check cell was deleted or changed"},
    "gs.missing_notebook": {"ja": "ノートブック {name} が提出にありません", "en": "notebook {name} is not in the submission"},
    "gs.not_reached": {"ja": "チェックのセルまで実行されませんでした ({why})", "en": "the check cell was not reached ({why})"},
    "gs.timeout": {"ja": "時間切れ", "en": "time limit"},
    "gs.dead": {"ja": "カーネルが停止しました", "en": "the kernel died"},
    "gs.no_result": {"ja": "チェックの結果が返りませんでした ({why})", "en": "the check returned no result ({why})"},
})
