import json
import os
import re
import stat
import subprocess
import sys

import nbformat
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


# ---------------------------------------------------------------- malformed markers are refused

NESTED = "def f(x, w):\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return x * w\n    # END SOLUTION\n    # END SOLUTION\n"
LONE_END = "secret = 42\n# END SOLUTION\n"
LONE_BEGIN = "def f():\n    # BEGIN SOLUTION\n    return 1\n"
INLINE = "def f():\n    return 1  # BEGIN SOLUTION\n    # END SOLUTION\n"


def _text_cell(kind, text):
    return nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_raw_cell(text)


@pytest.mark.parametrize("exercise, pattern, line", [
    (NESTED, r"line 3: a second # BEGIN SOLUTION before the region opened on line 2", 3),
    (LONE_END, r"line 2: # END SOLUTION without a # BEGIN SOLUTION", 2),
    (LONE_BEGIN, r"line 2: a # BEGIN SOLUTION has no matching # END SOLUTION", 2),
    (INLINE, r"line 2: a solution marker must stand alone on its line", 2),
], ids=["nested BEGIN", "END without BEGIN", "BEGIN without END", "marker after code"])
def test_malformed_regions_are_refused_with_notebook_cell_and_line(tmp_path, exercise, pattern, line):
    src = tmp_path / "en"
    nb = notebook(exercise=exercise)
    write(src / "01_demo.ipynb", nb)
    out = tmp_path / "release"
    with pytest.raises(ReleaseError) as info:
        release(src, out, lang="en")
    message = str(info.value)
    assert "01_demo.ipynb" in message and f"cell {nb.cells[2].id} (index 2)" in message, message
    assert f"line {line}" in message
    assert re.search(pattern, message), message
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("kind", ["markdown", "raw"])
def test_markers_in_a_text_cell_are_refused(tmp_path, kind):
    nb = notebook()
    nb.cells.insert(4, _text_cell(kind, "The answer:\n\n    # BEGIN SOLUTION\n    y = x * 2\n    # END SOLUTION\n"))
    with pytest.raises(ReleaseError, match=rf"cell {nb.cells[4].id} \(index 4\), line 3: a solution marker in a {kind} cell"):
        release_notebook(json.loads(json.dumps(nb)), where="nb.ipynb")


def test_prose_that_names_the_markers_is_not_a_marker():
    nb = notebook()
    nb.cells[0].source = "Write the part between `# BEGIN SOLUTION` and `# END SOLUTION`."
    student = release_notebook(json.loads(json.dumps(nb)))
    assert student["cells"][0]["source"] == nb.cells[0].source


def test_a_solution_region_in_a_check_cell_is_refused(tmp_path):
    check = "cu.checks.normalize_image(lambda img: img / 255.0)\n# BEGIN SOLUTION\nanswer = 1\n# END SOLUTION\n"
    nb = notebook(check=check)
    src = write(tmp_path / "en" / "01_demo.ipynb", nb).parent
    with pytest.raises(ReleaseError, match=r"01_demo.ipynb, cell .* \(index 3\), line 2: a solution region in a "
                                           r"check cell \(cu.checks.normalize_image\)"):
        release(src, tmp_path / "out", lang="en")
    assert not (tmp_path / "out").exists()


def test_one_bad_notebook_stops_the_whole_release(tmp_path):
    src = tmp_path / "en"
    write(src / "01_good.ipynb", notebook())
    write(src / "02_bad.ipynb", notebook(exercise=LONE_END))
    with pytest.raises(ReleaseError, match="02_bad.ipynb"):
        release(src, tmp_path / "out", lang="en")
    assert not (tmp_path / "out").exists()


def test_malformed_messages_in_japanese(tmp_path):
    nb = notebook("ja", exercise=LONE_END)
    with pytest.raises(ReleaseError, match="2 行目: # END SOLUTION の前に # BEGIN SOLUTION がありません"):
        release_notebook(json.loads(json.dumps(nb)), where="nb.ipynb", message_lang="ja")


def test_cli_refuses_nested_markers_and_writes_nothing(tmp_path):
    src = write(tmp_path / "en" / "01_demo.ipynb", notebook(exercise=NESTED)).parent
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "release", str(src), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "01_demo.ipynb" in run.stderr and "line 3" in run.stderr
    assert not out.exists()


def test_one_function_decides_what_holds_a_solution():
    from course_utils.release import holds_solution, marker_lines

    assert holds_solution("x = 1\n    #   BEGIN  SOLUTION\n")
    assert holds_solution("y = 2  # END SOLUTION")  # a marker, though malformed (refused by the release)
    assert not holds_solution("print('no marker here')")
    assert not holds_solution({"cell_type": "markdown", "source": "between `# BEGIN SOLUTION` and `# END SOLUTION`"})
    assert marker_lines({"cell_type": "markdown", "source": "text\n# END SOLUTION"}) == [(2, "END", "# END SOLUTION")]


def test_two_regions_in_one_cell_keep_the_code_between():
    text = ("def f(x):\n    # BEGIN SOLUTION\n    a = 1\n    # END SOLUTION\n    b = 2\n"
            "    # BEGIN SOLUTION\n    # HINT: add\n    return a + b\n    # END SOLUTION\n")
    out = strip_solutions(text, "en").splitlines()
    assert out == ["def f(x):", "    # Write your code here", "    raise NotImplementedError('Exercise: implement this part')",
                   "    b = 2", "    # Write your code here", "    # HINT: add", "    raise NotImplementedError('add')"]


def test_released_notebooks_are_readable_by_everyone(tmp_path):
    src = write(tmp_path / "en" / "01_demo.ipynb", notebook()).parent
    old = os.umask(0o077)
    try:
        [target] = release(src, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


# ---------------------------------------------------------------- the command line speaks the user's language

def _locale_env(**values):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    env.update(values)
    return env


@pytest.mark.parametrize("values, expected", [
    ({}, "en"), ({"LANG": "ja_JP.UTF-8"}, "ja"), ({"LANG": "C.UTF-8"}, "en"),
    ({"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"), ({"LC_ALL": "ja_JP.eucJP"}, "ja"),
    ({"LC_ALL": "", "LANG": "ja"}, "ja"),
])
def test_locale_language(values, expected):
    from course_utils.i18n import locale_language

    assert locale_language(values) == expected


@pytest.mark.parametrize("values, args, wrote", [
    ({}, [], "wrote "), ({"LANG": "ja_JP.UTF-8"}, [], "書き出し: "),
    ({"LANG": "ja_JP.UTF-8"}, ["--lang", "en"], "wrote "), ({"LANG": "en_US.UTF-8"}, ["--lang", "ja"], "書き出し: "),
], ids=["no locale: English", "ja locale", "--lang en wins", "--lang ja wins"])
def test_cli_release_speaks_the_users_language(tmp_path, values, args, wrote):
    src = write(tmp_path / "en" / "01_demo.ipynb", notebook()).parent  # the notebook's own language does not count
    run = subprocess.run([sys.executable, "-m", "course_utils", *args, "release", str(src), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, env=_locale_env(**values))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(wrote), run.stdout


def test_cli_grade_and_errors_follow_the_locale(tmp_path):
    missing = tmp_path / "report.xml"
    ja = subprocess.run([sys.executable, "-m", "course_utils", "grade", str(missing), "x.ipynb"],
                        capture_output=True, text=True, env=_locale_env(LANG="ja_JP.UTF-8"))
    en = subprocess.run([sys.executable, "-m", "course_utils", "grade", str(missing), "x.ipynb"],
                        capture_output=True, text=True, env=_locale_env())
    assert ja.returncode == en.returncode == 2
    assert "がありません" in ja.stderr and "not found" in en.stderr


def test_release_tags_check_cells_so_run_all_carries_on_but_nbval_still_grades(tmp_path):
    """JupyterLab and nbclient go past a failing cell tagged raises-exception; nbval must still fail the check."""
    import subprocess
    import sys

    import nbformat

    from course_utils.release import release_notebook
    from tests import nbfactory

    student = release_notebook(nbfactory.notebook())
    tagged = [c for c in student["cells"] if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    assert [nbio.check_name(c) for c in tagged] == ["normalize_image"]
    path = tmp_path / "student.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(student)))
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "course_utils.pytest_plugin",
                          "--nbval-lax", "--nbval-current-env", "-n", "0", "-c", "/dev/null", str(path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert "1 failed" in ran.stdout and "3 passed" in ran.stdout, ran.stdout[-2000:]
