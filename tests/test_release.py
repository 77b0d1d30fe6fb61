import json
import subprocess
import sys

import pytest

from course_utils import notebooks as nbio
from course_utils.release import ReleaseError, release, release_notebook, strip_solutions
from tests.nbfactory import notebook, write


def test_strip_keeps_hint_and_indentation():
    out = strip_solutions("def f(x):\n    # BEGIN SOLUTION\n    # HINT: add one\n    return x + 1\n    # END SOLUTION\n", "en")
    assert out.splitlines() == ["def f(x):", "    # Write your code here", "    # HINT: add one",
                                "    raise NotImplementedError('add one')"]
    ns = {}
    exec(out, ns)
    with pytest.raises(NotImplementedError, match="add one"):
        ns["f"](1)


def test_strip_without_hint_in_japanese():
    out = strip_solutions("def f():\n  # BEGIN SOLUTION\n  return 1\n  # END SOLUTION", "ja")
    assert "ここにあなたのコードを書いてください" in out and "return 1" not in out
    assert "NotImplementedError('演習: この部分を実装してください')" in out


def test_unclosed_region_is_an_error():
    with pytest.raises(ReleaseError, match="END SOLUTION"):
        strip_solutions("# BEGIN SOLUTION\nx = 1\n", "en", "nb.ipynb")


def test_release_notebook_round_trip(tmp_path):
    nb = notebook()
    student = release_notebook(json.loads(json.dumps(nb)))
    code = [nbio.source(c) for c in student["cells"] if c["cell_type"] == "code"]
    assert "y = x * 2" not in "".join(code) and "BEGIN SOLUTION" not in "".join(code)
    assert "raise NotImplementedError('multiply by two')" in code[1]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in student["cells"] if c["cell_type"] == "code")
    checks = student["metadata"]["course"]["checks"]
    assert [c["check"] for c in checks] == ["normalize_image"]
    assert checks[0]["cell_id"] == nb.cells[3].id and len(checks[0]["sha256"]) == 64
    # the rest is unchanged
    assert code[0] == nb.cells[1].source and code[2] == nb.cells[3].source and code[3] == nb.cells[4].source
    assert nb.cells[2].source.count("BEGIN SOLUTION") == 1  # the source notebook was not modified
    # releasing a release changes nothing more
    assert release_notebook(student)["cells"] == student["cells"]


def test_release_folder_refuses_own_source_and_overwrites(tmp_path):
    src = tmp_path / "ja"
    write(src / "01_demo.ipynb", notebook("ja"))
    with pytest.raises(ReleaseError):
        release(src, src)
    with pytest.raises(ReleaseError):
        release(src, src / "student")
    out = tmp_path / "release"
    assert [p.name for p in release(src, out)] == ["01_demo.ipynb"]
    assert release(src, out) == []  # identical: nothing rewritten
    target = out / "01_demo.ipynb"
    target.write_text(target.read_text().replace("raise NotImplementedError", "my own answer #"))
    with pytest.raises(ReleaseError, match="--force"):
        release(src, out)
    assert "my own answer" in target.read_text()  # the student's work is intact
    release(src, out, force=True)
    assert "my own answer" not in target.read_text()


def test_cli_release(tmp_path):
    src = write(tmp_path / "en" / "01_demo.ipynb", notebook()).parent
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "release", str(src), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "1 exercises" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "course_utils", "release", str(src), "--out", str(src)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_bad_sources_are_named_in_the_message(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ReleaseError, match="does not exist"):
        release(tmp_path / "no-such-folder", out)
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    with pytest.raises(ReleaseError, match="not an .ipynb"):
        release(readme, out)
    broken = tmp_path / "broken" / "01_broken.ipynb"
    broken.parent.mkdir()
    broken.write_text("{ this is not json")
    with pytest.raises(ReleaseError, match="01_broken.ipynb cannot be read as a notebook"):
        release(broken.parent, out)
    assert not out.exists()  # nothing was written


def test_cli_release_of_a_missing_folder_says_so(tmp_path):
    run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "release", str(tmp_path / "nope"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "does not exist" in run.stderr and "Traceback" not in run.stderr
