"""Both languages have the same code: equal syntax trees once comments, string literals and
the lang= argument are normalised (IPython magics and shell escapes handled)."""
import ast
import re

import pytest

from course_utils import notebooks as nbio
from tests.notebook_files import CHAPTERS, NOTEBOOKS, slugs

MAGIC = re.compile(r"^(\s*)([%!].*)$", re.MULTILINE)


class Normalise(ast.NodeTransformer):
    def visit_Constant(self, node):
        if isinstance(node.value, (str, bytes)):
            return ast.copy_location(ast.Constant(value="<str>"), node)
        return node

    def visit_JoinedStr(self, node):
        values = [self.visit(v) for v in node.values if isinstance(v, ast.FormattedValue)]
        return ast.copy_location(ast.JoinedStr(values=values), node)

    def visit_FormattedValue(self, node):
        node.value = self.visit(node.value)
        node.format_spec = None if node.format_spec is None else self.visit(node.format_spec)
        return node


def normalised(source: str) -> str:
    # IPython magics / shell escapes become a call with the same text; the command itself counts
    code = MAGIC.sub(lambda m: f"{m.group(1)}__magic__({m.group(2)!r})", source)
    tree = ast.parse(code)
    magics = [m.group(2) for m in MAGIC.finditer(source)]
    return ast.dump(Normalise().visit(tree), include_attributes=False) + repr(magics)


def code_cells(path):
    return [nbio.source(c) for c in nbio.read(path)["cells"] if c["cell_type"] == "code"]


def test_every_chapter_notebook_exists_in_both_languages():
    for lang, other in (("ja", "en"), ("en", "ja")):
        for path in (NOTEBOOKS / lang).glob("*.ipynb"):
            assert (NOTEBOOKS / other / path.name).exists(), f"{path} has no {other} twin"
    assert "00_introduction" in slugs()
    assert set(slugs()) <= set(CHAPTERS), f"unknown chapter names: {set(slugs()) - set(CHAPTERS)}"


@pytest.mark.parametrize("slug", slugs())
def test_code_cells_match(slug):
    ja, en = code_cells(NOTEBOOKS / "ja" / f"{slug}.ipynb"), code_cells(NOTEBOOKS / "en" / f"{slug}.ipynb")
    assert len(ja) == len(en), f"{slug}: {len(ja)} code cells in ja, {len(en)} in en"
    assert 'lang="ja"' in ja[0].replace("'", '"') and 'lang="en"' in en[0].replace("'", '"'), \
        f"{slug}: the first code cell must call cu.setup(lang=...)"
    for i, (a, b) in enumerate(zip(ja, en)):
        assert normalised(a) == normalised(b), f"{slug}: code cell {i} differs between ja and en:\n--- ja\n{a}\n--- en\n{b}"


def test_the_normalisation_sees_real_differences():
    assert normalised('print("こんにちは")  # 挨拶') == normalised("print('hello')")
    assert normalised('f"精度 {acc:.1%}"') == normalised('f"accuracy {acc:.1%}"')
    assert normalised('f"{acc}"') != normalised('f"{loss}"')
    assert normalised("x = 1") != normalised("x = 2")
    assert normalised("%time x = 1") != normalised("%timeit x = 1")
    assert normalised("cu.setup(lang='ja')") == normalised("cu.setup(lang='en')")
