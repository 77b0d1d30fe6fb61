import os
import re
import subprocess
import sys

import pytest
import yaml

from course_utils import notebooks as nbio
from tests.nbfactory import notebook, write


def test_student_repo_is_complete_and_its_workflow_grades(tmp_path):
    src = write(tmp_path / "ja" / "01_demo.ipynb", notebook("ja")).parent
    dst = tmp_path / "student"
    run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "student-repo", str(src), "--out", str(dst)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    released = nbio.read(dst / "notebooks" / "01_demo.ipynb")
    assert released["metadata"]["course"]["checks"][0]["check"] == "normalize_image"
    assert (dst / "course_utils" / "checks" / "core.py").exists()
    assert not (dst / "course_utils" / "templates").exists()
    assert "torch==2.14.1" in (dst / "requirements.txt").read_text()
    assert "course_utils.pytest_plugin" in (dst / "pytest.ini").read_text()
    workflow = yaml.safe_load((dst / ".github" / "workflows" / "grade.yml").read_text())
    commands = "\n".join(step.get("run", "") for step in workflow["jobs"]["grade"]["steps"])
    assert "--junitxml=report.xml" in commands
    # the notebooks are Japanese, so the grade table of the workflow is too (this command spoke English)
    assert ("python -m course_utils --lang ja grade report.xml notebooks/*.ipynb --reference reference "
            "--markdown grade.md") in commands
    assert "Exercise repository written" in run.stdout
    again = subprocess.run([sys.executable, "-m", "course_utils", "student-repo", str(src), "--out", str(dst)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr  # never written over


def _locale_env(**values):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    env.update(values)
    return env


@pytest.mark.parametrize("values, done", [({}, "Exercise repository written"),
                                          ({"LANG": "ja_JP.UTF-8"}, "演習リポジトリを作りました")])
def test_student_repo_speaks_the_locale_and_the_workflow_the_notebooks_language(tmp_path, values, done):
    src = write(tmp_path / "en" / "01_demo.ipynb", notebook("en")).parent
    dst = tmp_path / "student"
    run = subprocess.run([sys.executable, "-m", "course_utils", "student-repo", str(src), "--out", str(dst)],
                         capture_output=True, text=True, env=_locale_env(**values))
    assert run.returncode == 0, run.stderr
    assert done in run.stdout
    workflow = (dst / ".github" / "workflows" / "grade.yml").read_text()
    assert "python -m course_utils --lang en grade report.xml" in workflow


def test_the_workflows_grade_table_speaks_the_students_language(tmp_path):
    """The table the workflow posts (on GitHub's runner, locale C.UTF-8): Japanese for Japanese notebooks."""
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite name="pytest" tests="0"></testsuite></testsuites>')
    for lang, header in (("ja", "| ノートブック | 演習 |"), ("en", "| notebook | exercise |")):
        src = write(tmp_path / lang / "01_demo.ipynb", notebook(lang)).parent
        dst = tmp_path / f"student-{lang}"
        make = subprocess.run([sys.executable, "-m", "course_utils", "student-repo", str(src), "--out", str(dst)],
                              capture_output=True, text=True, env=_locale_env())
        assert make.returncode == 0, make.stderr
        workflow = (dst / ".github" / "workflows" / "grade.yml").read_text()
        [workflow_lang] = re.findall(r"python -m course_utils --lang (\w+) grade", workflow)
        run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", workflow_lang, "grade", str(report),
                              str(dst / "notebooks" / "01_demo.ipynb")], capture_output=True, text=True,
                             env=_locale_env(LANG="C.UTF-8"))
        assert header in run.stdout, (lang, run.stdout, run.stderr)


def test_student_repo_ignores_what_grading_leaves_behind(tmp_path):
    from course_utils.student_repo import make_student_repo
    from tests.notebook_files import NOTEBOOKS

    dst = make_student_repo(NOTEBOOKS / "en", tmp_path / "repo")
    ignored = (dst / ".gitignore").read_text().split()
    for pattern in ("report.xml", ".ipynb_checkpoints/", "__pycache__/", "data/*", "!data/README.md"):
        assert pattern in ignored
