"""Model selection never touches the test set: no notebook trains with the test split as its validation data.

A `fit(...)` call's `val_data=` and any `evaluate(...)` inside a training loop are where a course leaks the test
set into its choices; the test split is for the final figure only (chapter 02 teaches why).
"""
import ast
import re

import pytest

from course_utils import notebooks as nbio
from tests.notebook_files import notebooks

TEST_NAMES = re.compile(r"(^|_)(x|y|X|Y)?_?(test|te)(_|$)|^(xte|yte|test_x|test_y|x_test|y_test)$")


def _val_data_sources(source: str):
    tree = ast.parse(re.sub(r"^\s*[%!].*$", "", source, flags=re.MULTILINE))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "val_data":
                    yield ast.unparse(kw.value), {n.id for n in ast.walk(kw.value) if isinstance(n, ast.Name)}, kw.value


def _is_test_split(names, value):
    if any(TEST_NAMES.search(n) for n in names):
        return True
    # data[2:] of a (x_train, y_train, x_test, y_test) tuple
    return isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice) and \
        isinstance(value.slice.lower, ast.Constant) and value.slice.lower.value == 2


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_fit_validates_on_the_test_split(path):
    leaks = []
    for index, cell in enumerate(nbio.read(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for text, names, value in _val_data_sources(nbio.source(cell)):
            if _is_test_split(names, value):
                leaks.append(f"cell {index} ({cell.get('id')}): val_data={text}")
    assert not leaks, f"{path.name} chooses on the test set — use cu.data.validation_split:\n" + "\n".join(leaks)


def test_the_rule_sees_a_leak():
    src = "h = cu.fit(m, (x_train, y_train), val_data=(x_test, y_test))\nh = fit(m, d, val_data=data[2:])"
    found = [_is_test_split(n, v) for _, n, v in _val_data_sources(src)]
    assert found == [True, True]
    ok = "h = cu.fit(m, (x_tr, y_tr), val_data=(x_val, y_val))"
    assert [_is_test_split(n, v) for _, n, v in _val_data_sources(ok)] == [False]
