import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import i18n
from course_utils import notebooks as nbio
from course_utils.grade import GradeError, grade
from course_utils.release import release_notebook
from tests.nbfactory import notebook


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("ja")


def released(tmp_path, name="01_demo.ipynb"):
    student = release_notebook(json.loads(json.dumps(notebook())))
    path = tmp_path / "en" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbio.dumps(student))
    return path, student


def junit(tmp_path, notebook_path, cells):
    """A junit report as nbval + our plugin write it: cells = [(cell_id, check or None, passed)]."""
    cases = []
    for i, (cell_id, check, ok) in enumerate(cells):
        props = f'<property name="notebook" value="{notebook_path}"/><property name="cell_id" value="{cell_id}"/>'
        if check:
            props += f'<property name="check" value="{check}"/>'
        body = "" if ok else '<failure message="ExerciseFailed">boom</failure>'
        cases.append(f'<testcase classname="x" name="Cell {i}"><properties>{props}</properties>{body}</testcase>')
    path = tmp_path / "report.xml"
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite>{"".join(cases)}</testsuite></testsuites>')
    return path


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_passed_and_failed_exercises(tmp_path):
    path, nb = released(tmp_path)
    ids = [c["id"] for c in code_cells(nb)]
    report = junit(tmp_path, path, [(ids[0], None, True), (ids[1], None, True), (ids[2], "normalize_image", True)])
    text, ok = grade(report, [path])
    assert ok and "| 01_demo.ipynb | `normalize_image` | ✅ passed | 1 / 1 |" in text and "Total: 1 / 1" in text
    report = junit(tmp_path, path, [(ids[2], "normalize_image", False)])
    text, ok = grade(report, [path])
    assert not ok and "❌ failed" in text and "Total: 0 / 1" in text


@pytest.mark.parametrize("cheat", ["delete", "pass", "edit"])
def test_deleted_or_altered_check_cell_fails(tmp_path, cheat):
    path, nb = released(tmp_path)
    check_cell = code_cells(nb)[2]
    if cheat == "delete":
        nb["cells"].remove(check_cell)
    elif cheat == "pass":
        check_cell["source"] = "pass"
    else:
        check_cell["source"] = check_cell["source"].replace("assert double(2) == 4", "")
    path.write_text(nbio.dumps(nb))
    # nbval --nbval-lax would report every remaining cell as passed
    report = junit(tmp_path, path, [(c["id"], nbio.check_name(c), True) for c in code_cells(nb)])
    text, ok = grade(report, [path])
    assert not ok and "deleted or changed" in text


def test_metadata_stripped_needs_reference(tmp_path):
    path, nb = released(tmp_path)
    reference = tmp_path / "reference" / path.name
    reference.parent.mkdir()
    reference.write_text(nbio.dumps(nb))
    ids = [c["id"] for c in code_cells(nb)]
    code_cells(nb)[2]["source"] = "pass"
    nb["metadata"].pop("course")
    path.write_text(nbio.dumps(nb))
    report = junit(tmp_path, path, [(i, None, True) for i in ids])
    with pytest.raises(GradeError, match="reference"):
        grade(report, [path])
    text, ok = grade(report, [path], reference=reference.parent)
    assert not ok and "deleted or changed" in text


def test_moved_cell_found_by_fingerprint_and_unrun_check_fails(tmp_path):
    path, nb = released(tmp_path)
    cell = code_cells(nb)[2]
    cell["id"] = "new-id"  # e.g. cut and pasted in JupyterLab
    path.write_text(nbio.dumps(nb))
    text, ok = grade(junit(tmp_path, path, [("new-id", "normalize_image", True)]), [path])
    assert ok
    text, ok = grade(junit(tmp_path, path, [("other", None, True)]), [path])
    assert not ok and "did not run" in text


def test_bad_inputs_are_clear(tmp_path):
    path, _ = released(tmp_path)
    with pytest.raises(GradeError, match="not found"):
        grade(tmp_path / "missing.xml", [path])
    bad = tmp_path / "bad.xml"
    bad.write_text("<not xml")
    with pytest.raises(GradeError, match="junit"):
        grade(bad, [path])
    run = subprocess.run([sys.executable, "-m", "course_utils", "grade", str(bad), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr


@pytest.mark.notebooks
def test_end_to_end_nbval_then_grade(tmp_path):
    """Release → nbval with our plugin writes junit → grade: the stub fails, the answer passes."""
    path, nb = released(tmp_path)
    answered = json.loads(json.dumps(nb))
    answered["cells"][2]["source"] = "def double(x):\n    return 2 * x\n"
    solved = tmp_path / "solved" / "en" / "02_demo.ipynb"
    solved.parent.mkdir(parents=True)
    answered["cells"][3]["source"] = nb["cells"][3]["source"]
    solved.write_text(nbio.dumps(answered))
    report = tmp_path / "junit.xml"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "course_utils.pytest_plugin",
                          "--nbval-lax", "--nbval-current-env", f"--junitxml={report}", "--rootdir", str(tmp_path),
                          str(path), str(solved)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-2000:]  # the stubbed notebook fails
    out = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "grade", str(report), str(path), str(solved),
                          "--markdown", str(tmp_path / "grade.md")], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert any("01_demo.ipynb" in line and "❌" in line for line in lines)
    assert any("02_demo.ipynb" in line and "✅" in line for line in lines)
    assert "Total: 1 / 2" in Path(tmp_path / "grade.md").read_text()


def test_failed_exercise_gives_the_checks_one_line_reason(tmp_path):
    path, nb = released(tmp_path)
    ids = [c["id"] for c in code_cells(nb)]
    report = junit(tmp_path, path, [(ids[2], "normalize_image", False)])
    text = report.read_text().replace(
        "boom", "ExerciseFailed: ✗ normalize_image: failed on case \"all black\".\nWrong values | (2/9 differ).")
    report.write_text(text)
    table, ok = grade(report, [path])
    assert not ok
    assert '❌ failed: ✗ normalize_image: failed on case "all black". Wrong values \\| (2/9 differ).' in table
