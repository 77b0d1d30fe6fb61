"""The instructor's grading run end to end: tiny generated submissions, each graded to its true score.

Honest, unfinished and wrong answers, and the cheats and accidents of issue 12: a replaced
``cu.checks.X``, a printed fake grade line, the student's own ``course_utils``, an edited check
cell, a hang, a crashed kernel, a notebook that deletes files.
"""
import csv
import json
import time

import nbformat
import pytest

from course_utils import i18n
from course_utils import notebooks as nbio
from course_utils.grade_submissions import grade_submissions, match_checks, write_tables
from course_utils.release import release_notebook

PERCEPTRON = '''import numpy as np


def perceptron(x, w, th):
    # BEGIN SOLUTION
    return int(np.dot(x, w) >= th)
    # END SOLUTION
'''
NORMALIZE = '''def normalize_image(img):
    # BEGIN SOLUTION
    return img / 255.0
    # END SOLUTION
'''
CHECK_P = "cu.checks.perceptron(perceptron)"
CHECK_N = "cu.checks.normalize_image(normalize_image)"


def instructor():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('import course_utils as cu\ndevice = cu.setup(lang="en")'),
                nbformat.v4.new_code_cell(PERCEPTRON), nbformat.v4.new_code_cell(CHECK_P),
                nbformat.v4.new_code_cell(NORMALIZE), nbformat.v4.new_code_cell(CHECK_N),
                nbformat.v4.new_code_cell("print('after')")]
    return json.loads(json.dumps(nb))


def released():
    return release_notebook(instructor())


def solved(student, index, source):
    """The released notebook with cell ``index`` replaced (the student's answer)."""
    student["cells"][index]["source"] = source
    return student


def insert(student, index, source):
    student["cells"].insert(index, nbformat.v4.new_code_cell(source))
    return student


def honest():
    return solved(solved(released(), 1, PERCEPTRON), 3, NORMALIZE)


FAKE_PACKAGE = '''class _Checks:
    def __getattr__(self, name):
        return lambda *args, **kwargs: print("✓ " + name + ": all 15 cases passed.")


checks = _Checks()


def setup(**kwargs):
    return "cpu"
'''

CHEATS = ('cu.checks.perceptron = lambda f: print("✓ perceptron: all 15 cases passed.")\n'
          'print("✓ perceptron: all 15 cases passed.")\nprint(\'{"check": "perceptron", "passed": true}\')')

# name: (notebook, extra files, expected {check: passed}); few and tiny: each costs a kernel start
SUBMISSIONS = {
    "honest": (honest(), {}, {"perceptron": True, "normalize_image": True}),
    # a wrong perceptron; a right normalize_image under an edited check cell
    "wrong_or_edited": (solved(solved(honest(), 1, PERCEPTRON.replace("return int(np.dot(x, w) >= th)", "return 0")),
                               4, "cu.checks.normalize_image(lambda img: img / 255)"), {},
                        {"perceptron": False, "normalize_image": False}),
    # perceptron left unfinished; its check replaced, a fake grade printed, a course_utils of its own
    "cheats": (insert(solved(released(), 3, NORMALIZE), 2, CHEATS), {"course_utils/__init__.py": FAKE_PACKAGE},
               {"perceptron": False, "normalize_image": True}),
    "hangs": (solved(honest(), 3, "def normalize_image(img):\n    while True:\n        pass\n"), {},
              {"perceptron": True, "normalize_image": False}),
    "crashes": (insert(honest(), 3, "import os\nos._exit(1)"), {}, {"perceptron": True, "normalize_image": False}),
    "deletes_files": (insert(honest(), 3, "import os, shutil\nshutil.rmtree(os.path.dirname(cu.__file__))\n"
                                          "for name in os.listdir('.'):\n    os.remove(name)"), {},
                      {"perceptron": True, "normalize_image": True}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    nbio.write_atomically(root / "release" / "en" / "01_demo.ipynb", nbio.dumps(released()))
    for name, (nb, files, _) in SUBMISSIONS.items():
        folder = root / "submissions" / name
        nbio.write_atomically(folder / "notebooks" / "01_demo.ipynb", nbio.dumps(nb))
        for path, text in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text)
    before = i18n.language()
    i18n.set_language("en")
    start = time.perf_counter()
    try:
        rows = grade_submissions(root / "submissions", root / "release", out=root / "out", jobs=2,
                                 timeout=60, cell_timeout=4, check_timeout=4, memory_gb=16)
    finally:
        i18n.set_language(before)
    print(f"graded {len(SUBMISSIONS)} submissions in {time.perf_counter() - start:.1f} s")
    return root, rows


@pytest.mark.parametrize("student", list(SUBMISSIONS))
def test_each_submission_gets_its_true_score(graded, student):
    _, rows = graded
    got = {r["check"]: r["passed"] for r in rows if r["student"] == student}
    assert got == SUBMISSIONS[student][2], [r for r in rows if r["student"] == student]


def test_reasons_name_why(graded):
    _, rows = graded
    by = {(r["student"], r["check"]): r for r in rows}
    assert "Not implemented" in by["cheats", "perceptron"]["reason"]
    assert "deleted or changed" in by["wrong_or_edited", "normalize_image"]["reason"]
    assert by["wrong_or_edited", "perceptron"]["reason"].startswith("the study-group notes' example")
    assert "kernel died" in by["crashes", "normalize_image"]["reason"]
    assert by["hangs", "normalize_image"]["reason"]
    assert all(r["reason"] == "" for r in rows if r["passed"])


def test_csv_and_markdown_tables(graded):
    root, rows = graded
    table = list(csv.DictReader(open(root / "out" / "grades.csv", encoding="utf-8")))
    assert len(table) == 2 * len(SUBMISSIONS)
    assert {r["student"] for r in table} == set(SUBMISSIONS)
    md = (root / "out" / "grades.md").read_text(encoding="utf-8")
    assert "| honest | ✅ | ✅ | 2 / 2 |" in md
    assert "| cheats | ❌ " in md and md.count("\n") == len(SUBMISSIONS) + 2


def test_missing_notebook_and_notes_in_tables(tmp_path):
    rows = [{"student": "a", "notebook": "en/01.ipynb", "check": "conv2d", "passed": True, "reason": "",
             "notes": ["Note: your function calls torch.nn.functional.conv2d"]},
            {"student": "b", "notebook": "en/01.ipynb", "check": "conv2d", "passed": False,
             "reason": "case | one: wrong", "notes": []}]
    write_tables(rows, tmp_path)
    md = (tmp_path / "grades.md").read_text()
    assert "✅ (Note: your function calls torch.nn.functional.conv2d)" in md and "case \\| one" in md


def test_check_cells_are_matched_by_fingerprint():
    student = released()
    checks = student["metadata"]["course"]["checks"]
    assert sorted(c["check"] for c in match_checks(student, checks).values()) == ["normalize_image", "perceptron"]
    student["cells"][2]["id"] = "moved"  # an id changed, the source not: still the check
    assert len(match_checks(student, checks)) == 2
    student["cells"][2]["source"] = "pass"
    assert [c["check"] for c in match_checks(student, checks).values()] == ["normalize_image"]


def test_cli_refuses_unusable_input(tmp_path, capsys):
    from course_utils.__main__ import main

    (tmp_path / "release").mkdir()
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    assert main(["--lang", "en", "grade-submissions", str(tmp_path / "subs"), "--reference",
                 str(tmp_path / "release")]) == 2
    assert "No released notebooks" in capsys.readouterr().err
    nbio.write_atomically(tmp_path / "release" / "01_demo.ipynb", nbio.dumps(released()))
    assert main(["--lang", "en", "grade-submissions", str(tmp_path / "empty"), "--reference",
                 str(tmp_path / "release")]) == 2
    assert "No student folders" in capsys.readouterr().err
