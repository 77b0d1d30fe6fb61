"""The student release of every real notebook: regenerated here, compared with the instructor
notebook, and executed to show that it fails exactly at its check cells.

The execution stops after the last check cell: the cells below it prove nothing about the
release (they use the instructor's own implementations and nbval runs them in the instructor
notebook), and running them doubled the suite's slowest tests (chapter 06: 167 s)."""
import nbformat
import pytest

from course_utils import notebooks as nbio
from course_utils.execute import notebook_client_class
from course_utils.release import HINT, MARKER_LINE, holds_solution, release_notebook, solution_regions
from tests.notebook_files import notebooks

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
        if holds_solution(t_cell):
            assert t_cell["cell_type"] == "code" and "raise NotImplementedError(" in s_src
            assert not holds_solution(s_cell)
        else:
            assert s_src == t_src
        if nbio.check_name(t_cell):
            check_ids.append(t_cell["id"])
    assert [c["cell_id"] for c in student["metadata"]["course"]["checks"]] == check_ids
    assert not any(holds_solution(c) for c in student["cells"])


def solution_and_public_lines(teacher) -> tuple[set, set]:
    """The stripped lines that stand between the markers of the instructor notebook (blank and
    ``# HINT:`` lines excepted), and the lines of every cell outside those regions."""
    solution, public = set(), set()
    for cell in teacher["cells"]:
        lines = nbio.source(cell).splitlines()
        inside = set()
        if cell["cell_type"] == "code" and holds_solution(cell):
            for begin, end in solution_regions(nbio.source(cell)):
                inside.update(range(begin, end + 1))
        for number, line in enumerate(lines, 1):
            if number in inside:
                if line.strip() and not HINT.match(line) and not MARKER_LINE.match(line):
                    solution.add(line.strip())
            else:
                public.add(line.strip())
    return solution, public


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_release_leaks_no_solution_line(path):
    """No line of the release stood between the markers, unless the instructor notebook also
    shows it outside every solution region (``return out``, or a lesson cell's own copy)."""
    teacher = nbio.read(path)
    solution, public = solution_and_public_lines(teacher)
    student = release_notebook(teacher)
    released = {line.strip() for c in student["cells"] for line in nbio.source(c).splitlines()}
    leaked = sorted((released & solution) - public)
    assert not leaked, f"solution lines in the release of {path.name}: {leaked}"
    for t_cell, s_cell in zip(teacher["cells"], student["cells"]):  # and none in its own exercise cell
        if holds_solution(t_cell):
            own_solution, own_public = solution_and_public_lines({"cells": [t_cell]})
            kept = {line.strip() for line in nbio.source(s_cell).splitlines()} & (own_solution - own_public)
            assert not kept, f"{path.name}, cell {t_cell['id']}: the stub keeps {sorted(kept)}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_release_fails_exactly_at_check_cells(path, tmp_path):
    student = nbformat.from_dict(release_notebook(nbio.read(path)))
    expected = {c["cell_id"]: c["check"] for c in student.metadata["course"]["checks"]}
    if not expected:
        pytest.skip(f"{path.name} has no exercise")
    last_check = max(i for i, cell in enumerate(student.cells) if cell.get("id") in expected)
    student.cells = student.cells[:last_check + 1]  # up to and including the last check cell
    client = notebook_client_class()(student, timeout=300, kernel_name="python3", allow_errors=True,
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
