import subprocess
import sys

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
    assert "python -m course_utils grade report.xml notebooks/*.ipynb --reference reference --markdown grade.md" in commands
    again = subprocess.run([sys.executable, "-m", "course_utils", "student-repo", str(src), "--out", str(dst)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr  # never written over
