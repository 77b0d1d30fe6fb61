"""The student release of every real notebook: regenerated here, compared with the instructor
notebook, and executed to show that it fails exactly at its check cells."""
import nbformat
import pytest

from course_utils import notebooks as nbio
from course_utils.release import release_notebook
from tests.notebook_files import build_course, notebooks

ALL = notebooks()
IDS = [f"{p.parent.name}/{p.name}" for p in ALL]


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_release_differs_only_in_solutions(path):
    teacher = nbio.read(path)
    student = release_notebook(teacher)
    assert [c["id"] for c in student["cells"]] == [c["id"] for c in teacher["cells"]]
    check_ids = []
    for t_cell, s_cell in zip(teacher["cells"], student["cells"]):
        t_src, s_src = nbio.source(t_cell), nbio.source(s_cell)
        if t_cell["cell_type"] == "code" and "# BEGIN SOLUTION" in t_src:
            assert "# BEGIN SOLUTION" not in s_src and "raise NotImplementedError(" in s_src
        else:
            assert s_src == t_src
        if nbio.check_name(t_cell):
            check_ids.append(t_cell["id"])
    assert [c["cell_id"] for c in student["metadata"]["course"]["checks"]] == check_ids
    assert all("# BEGIN SOLUTION" not in nbio.source(c) for c in student["cells"] if c["cell_type"] == "code")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_release_fails_exactly_at_check_cells(path, tmp_path):
    student = nbformat.from_dict(release_notebook(nbio.read(path)))
    expected = {c["cell_id"]: c["check"] for c in student.metadata["course"]["checks"]}
    client = build_course().notebook_client_class()(student, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = {}
    for cell in student.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors[cell.id] = (out["ename"], out["evalue"])
    unexpected = {k: v for k, v in errors.items() if k not in expected}
    assert not unexpected, f"cells other than checks failed in the release: {unexpected}"
    missing = sorted(name for cell_id, name in expected.items() if cell_id not in errors)
    assert not missing, f"check cells that did not fail on the stubs: {missing}"
    for cell_id, (ename, evalue) in errors.items():
        assert ename == "ExerciseFailed", f"{expected[cell_id]}: {ename}: {evalue}"
        assert "NotImplementedError" in evalue, f"{expected[cell_id]}: the message should say the stub is not done"
