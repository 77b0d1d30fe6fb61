"""Tiny notebooks for the release and grade tests."""
import nbformat

EXERCISE = '''def double(x):
    """Return 2 * x."""
    # BEGIN SOLUTION
    # HINT: multiply by two
    y = x * 2
    return y
    # END SOLUTION
'''
CHECK = "cu.checks.normalize_image(lambda img: img / 255.0)\nassert double(2) == 4"


def notebook(lang="en", exercise=EXERCISE, check=CHECK):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Demo"),
        nbformat.v4.new_code_cell(f'import course_utils as cu\ndevice = cu.setup(lang="{lang}")'),
        nbformat.v4.new_code_cell(exercise),
        nbformat.v4.new_code_cell(check),
        nbformat.v4.new_code_cell("print('after')"),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[2].execution_count = 3
    return nb


def write(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
