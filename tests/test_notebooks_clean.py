"""Committed notebooks carry no outputs or execution counts, and open without a kernel prompt."""
import pytest

from course_utils import notebooks as nbio
from tests.notebook_files import notebooks


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_clean(path):
    nb = nbio.read(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", "kernelspec python3 missing"
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5, "needs nbformat 4.5 (cell ids)"
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique id"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} has outputs: clear them before committing"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"
    first_code = next(nbio.source(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import course_utils as cu" in first_code and "cu.setup(" in first_code
    text = "".join(nbio.source(c) for c in nb["cells"])
    assert "TODO" not in text and "FIXME" not in text, "no placeholders in teaching material"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exercises_are_well_formed(path):
    nb = nbio.read(path)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = nbio.source(cell)
        assert src.count("# BEGIN SOLUTION") == src.count("# END SOLUTION"), "unbalanced solution markers"
        if "# BEGIN SOLUTION" in src:
            assert not nbio.check_name(cell), "keep the check in its own cell, after the exercise"


def test_write_atomically_gives_umask_permissions(tmp_path):
    import os

    from course_utils import notebooks as nbio

    old = os.umask(0o022)
    try:
        nbio.write_atomically(tmp_path / "a" / "x.ipynb", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "x.ipynb").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.ipynb"]  # no temporary file left
