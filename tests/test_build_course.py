"""``make course``: the executor (course_utils/execute.py: figures, checks, environment), the report
(course_utils/report.py), atomic writes, and one tiny real run of tools/build_course.py."""
import json
import os
import stat
from dataclasses import asdict
from pathlib import Path

import nbformat

from course_utils import execute, report
from course_utils.notebooks import write_atomically
from tools import build_course

ROOT = Path(__file__).resolve().parents[1]


def code(source, *outputs, count=1):
    cell = nbformat.v4.new_code_cell(source)
    cell.execution_count = count
    cell.outputs = list(outputs)
    return cell


def stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def error(ename="ValueError", evalue="bad"):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_marked_figures_win_over_keyword_lines():
    nb = notebook(
        code("fit()", stdout("epoch 1 acc 0.5\nepoch 2 acc 0.7\n")),
        code("report()", stdout("📊 テスト精度 (test accuracy): 0.93\n  📊 mAP@0.5 = 0.41\n")),
        code("x", nbformat.v4.new_output("stream", name="stderr", text="📊 not stdout\n")),
    )
    assert execute.extract_figures(nb) == ["📊 テスト精度 (test accuracy): 0.93", "📊 mAP@0.5 = 0.41"]


def test_keyword_lines_are_the_fallback_deduplicated_and_capped():
    lines = "".join(f"epoch {i}: train acc {i / 20:.2f}\n" for i in range(20))
    nb = notebook(
        code("a", stdout("\x1b[32mtest accuracy: 0.88\x1b[0m\nloss 0.1\n")),
        code("b", stdout("mIoU = 0.61\r\n検証の正解率 0.9\n精度: 0.95\nmIoU = 0.61\n")),
        code("c", stdout(lines)),
        code("d", stdout("accuracy of nothing\n")),
        nbformat.v4.new_markdown_cell("accuracy in markdown is ignored"),
    )
    figures = execute.extract_figures(nb)
    assert len(figures) == execute.MAX_FALLBACK_FIGURES
    assert figures[-1] == "accuracy of nothing"
    assert "loss 0.1" not in figures
    small = notebook(code("b", stdout("\x1b[1mmIoU = 0.61\x1b[0m\n検証の正解率 0.9\nmAP 0.3\nmIoU = 0.61\n")))
    assert execute.extract_figures(small) == ["mIoU = 0.61", "検証の正解率 0.9", "mAP 0.3"]


def test_check_cells_pass_fail_and_not_executed():
    nb = notebook(
        code("def f(x):\n    return x", count=1),
        code("cu.checks.softmax(f)", stdout("✓ softmax: all 3 cases passed.\n"), count=2),
        code("cu.checks.conv2d(f)  # second", error("ExerciseFailed", "✗ conv2d: failed on case \"shape\".\nmore"),
             count=3),
        code("cu.checks.nms(f)", count=None),
        code("print(1)", error("NameError", "name 'x' is not defined"), count=5),
    )
    checks = execute.extract_checks(nb)
    assert [(c.name, c.cell, c.passed) for c in checks] == [("softmax", 1, True), ("conv2d", 2, False),
                                                           ("nms", 3, False)]
    assert checks[1].message == 'ExerciseFailed: ✗ conv2d: failed on case "shape".'
    assert checks[2].message == "not executed"
    assert execute.extract_errors(nb) == ['cell 2: ExerciseFailed: ✗ conv2d: failed on case "shape".',
                                     "cell 4: NameError: name 'x' is not defined"]


def test_report_lists_every_notebook_with_status_figures_and_checks():
    good = execute.Result("ja", "01_perceptron", "x", "fast", ok=True, seconds=12.34, figures=["📊 acc | 1.0"],
                     checks=[{"name": "perceptron", "cell": 5, "passed": True, "message": ""}],
                     env={"device": "cuda (NVIDIA H100)", "torch": "2.11.0", "numpy": "2.4", "python": "3.11"},
                     slowest=[(7, 3.5)], html="html/ja/01_perceptron.html")
    bad = execute.Result("en", "00_introduction", "y", "fast", ok=False, seconds=3.0,
                    checks=[{"name": "warm_up", "cell": 3, "passed": False, "message": "ExerciseFailed: nope"}],
                    errors=["cell 3: ExerciseFailed: nope"])
    text = report.report_markdown([asdict(bad), asdict(good)], "full", ["ja", "en"], "2026-01-01T00:00", 15.0)
    assert "mode: **full**" in text and "1/2 notebooks passed" in text
    assert "device: cuda (NVIDIA H100), torch 2.11.0" in text
    rows = [line for line in text.splitlines() if line.startswith("| [") or line.startswith("| en/")]
    assert rows[0].startswith("| [ja/01_perceptron](html/ja/01_perceptron.html) | ✅ pass | 12.3 | 1/1 |")
    assert "📊 acc \\| 1.0" in rows[0]  # a | inside a figure does not break the table
    assert rows[1].startswith("| en/00_introduction | ❌ FAIL | 3.0 | 0/1 |")
    assert "  - ✗ `warm_up` (cell 3) — ExerciseFailed: nope" in text
    assert "slowest cells: #7 3.5 s" in text
    assert "make course COURSE_LANG=all MODE=full" in text


def test_kernel_environment_follows_the_mode(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    assert execute.kernel_env("full")["COURSE_FAST"] == "0"  # unset, course_utils would choose FAST on a CPU
    assert execute.kernel_env("fast")["COURSE_FAST"] == "1"
    assert execute.kernel_env("fast", threads=4)["COURSE_THREADS"] == "4"
    monkeypatch.delenv("COURSE_FAST")
    assert execute.kernel_env("fast")["COURSE_FAST"] == "1"


def test_atomic_write_leaves_a_readable_file_and_no_temporary(tmp_path):
    target = tmp_path / "deep" / "report.md"
    write_atomically(target, "一\n")
    write_atomically(target, "二\n")
    assert target.read_text(encoding="utf-8") == "二\n"
    assert os.listdir(target.parent) == ["report.md"]
    assert target.stat().st_mode & stat.S_IRGRP  # not mkstemp's 0600: the HTML can be served


def _tiny_notebook(path: Path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 小さなノートブック"),
        nbformat.v4.new_code_cell("import os, types\nprint('COURSE_FAST =', os.environ.get('COURSE_FAST'))\n"
                                  "print('📊 accuracy: 0.91')"),
        nbformat.v4.new_code_cell("cu = types.SimpleNamespace(checks=types.SimpleNamespace(\n"
                                  "    good=lambda f: print('ok'), bad=lambda f: 1 / 0))"),
        nbformat.v4.new_code_cell("cu.checks.good(print)"),
        nbformat.v4.new_code_cell("cu.checks.bad(print)"),
        nbformat.v4.new_code_cell("print('still running after the error')"),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path.read_bytes()


def test_a_tiny_course_builds_in_full_mode_and_fails_on_its_bad_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")  # full mode must set it to 0 in the kernel's environment
    original = _tiny_notebook(tmp_path / "notebooks" / "ja" / "01_tiny.ipynb")
    out = tmp_path / "build"
    code_ = build_course.main(["--notebooks", str(tmp_path / "notebooks"), "--lang", "ja", "--mode", "full",
                     "--out", str(out), "--timeout", "120"])
    assert code_ == 1  # a failing check cell fails the notebook
    assert (tmp_path / "notebooks" / "ja" / "01_tiny.ipynb").read_bytes() == original  # source untouched

    executed = nbformat.read(out / "notebooks" / "ja" / "01_tiny.ipynb", as_version=4)
    assert len(executed.cells) == 6  # the environment probe is not saved
    assert executed.cells[1].outputs[0].text.startswith("COURSE_FAST = 0")
    assert executed.cells[5].outputs[0].text == "still running after the error\n"
    html = (out / "html" / "ja" / "01_tiny.html").read_text(encoding="utf-8")
    assert "小さなノートブック" in html and "still running after the error" in html
    assert "ja/01_tiny.html" in (out / "html" / "index.html").read_text(encoding="utf-8")

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "❌ FAIL" in report and "📊 accuracy: 0.91" in report
    assert "  - ✓ `good` (cell 3)" in report
    assert "  - ✗ `bad` (cell 4) — ZeroDivisionError: division by zero" in report
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (result,) = data["results"]
    assert result["env"]["torch"] and result["env"]["device"]
    assert result["seconds"] > 0
    assert "✗ ja/01_tiny" in capsys.readouterr().out

    assert build_course.main(["--notebooks", str(tmp_path / "notebooks"), "--lang", "en", "--out", str(out)]) == 2
