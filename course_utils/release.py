"""The student release: solutions become stubs, check cells are fingerprinted.

In a code cell, the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` are replaced by
a comment, the ``# HINT:`` lines of the region, and ``raise NotImplementedError(hint)`` at
the marker's indentation. Outputs and execution counts are cleared. The notebook metadata
``course.checks`` lists every check cell (check name, cell id, SHA-256 of its source) so
that :mod:`course_utils.grade` can tell a deleted or edited check cell.

Like nbgrader, a malformed marker is refused, never guessed at: a nested ``BEGIN``, an
``END`` without ``BEGIN``, a ``BEGIN`` without ``END``, a marker that shares its line with
code, a marker in a markdown or raw cell, a solution region in a check cell. The message
names the notebook, the cell (id and index) and the line, and nothing is written.
:func:`marker_lines` alone decides which lines are markers (and so whether a cell holds a
solution: :func:`holds_solution`).
"""
import copy
import os
import re
from pathlib import Path

from . import notebooks as nbio
from .i18n import register, text_in

# A marker anywhere in a code line (a comment); it is well-formed only when alone on its line.
MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION\b")
MARKER_LINE = re.compile(r"^(\s*)#\s*(BEGIN|END)\s+SOLUTION\s*$")
# In markdown / raw cells, prose may name the markers (`# BEGIN SOLUTION` in backticks); a line
# that starts with one (a pasted code line, an indented code block) is a misplaced marker.
TEXT_MARKER = re.compile(r"^\s*(?:[>*+-]\s*)*#\s*(BEGIN|END)\s+SOLUTION\b")
HINT = re.compile(r"^\s*#\s*HINT:\s*(.*)$")
RELEASED_MODE = 0o644  # the student copy is readable by the student, the web server, git...

register({
    "release.todo": {"ja": "# ここにあなたのコードを書いてください", "en": "# Write your code here"},
    "release.stub": {"ja": "演習: この部分を実装してください", "en": "Exercise: implement this part"},
    "release.same_folder": {"ja": "出力先 {dst} が元のフォルダ {src} と同じか、その中です。別のフォルダを指定してください。",
                            "en": "The output {dst} is the source folder {src} or inside it; choose another folder."},
    "release.would_overwrite": {
        "ja": "{path} は既にあり、内容が異なります (学生の作業かもしれません)。上書きするには --force を付けてください。",
        "en": "{path} exists and differs from the release (it may hold a student's work); use --force to overwrite."},
    "release.where": {"ja": "{path} のセル {id} (index {index})", "en": "{path}, cell {id} (index {index})"},
    "release.unclosed": {"ja": "{where}, {line} 行目: # BEGIN SOLUTION に対応する # END SOLUTION がありません。",
                         "en": "{where}, line {line}: a # BEGIN SOLUTION has no matching # END SOLUTION."},
    "release.nested": {"ja": "{where}, {line} 行目: {begin} 行目の # BEGIN SOLUTION が閉じる前に、もう一度 "
                             "# BEGIN SOLUTION があります (入れ子にはできません)。",
                       "en": "{where}, line {line}: a second # BEGIN SOLUTION before the region opened on line "
                             "{begin} is closed (regions cannot be nested)."},
    "release.stray_end": {"ja": "{where}, {line} 行目: # END SOLUTION の前に # BEGIN SOLUTION がありません。",
                          "en": "{where}, line {line}: # END SOLUTION without a # BEGIN SOLUTION before it."},
    "release.inline": {"ja": "{where}, {line} 行目: 解答の目印はその行に単独で書いてください: {text}",
                       "en": "{where}, line {line}: a solution marker must stand alone on its line: {text}"},
    "release.not_code": {"ja": "{where}, {line} 行目: {kind} セルに解答の目印があります "
                               "(目印はコードセルにだけ書けます): {text}",
                         "en": "{where}, line {line}: a solution marker in a {kind} cell "
                               "(markers belong in code cells only): {text}"},
    "release.in_check": {"ja": "{where}, {line} 行目: チェックのセル (cu.checks.{check}) に解答の範囲があります。"
                               "解答はその上の演習のセルに書いてください。",
                         "en": "{where}, line {line}: a solution region in a check cell (cu.checks.{check}); "
                               "put the solution in the exercise cell above it."},
    "release.no_notebooks": {"ja": "{src} にノートブックがありません。", "en": "No notebooks in {src}."},
    "release.missing": {"ja": "{src} がありません。ノートブックのフォルダか .ipynb ファイルを指定してください。",
                        "en": "{src} does not exist; give a folder of notebooks or one .ipynb file."},
    "release.not_notebook": {"ja": "{src} は .ipynb ファイルではありません。",
                             "en": "{src} is not an .ipynb file."},
    "release.unreadable": {"ja": "{path} をノートブックとして読めません ({reason})。",
                           "en": "{path} cannot be read as a notebook ({reason})."},
    "release.wrote": {"ja": "書き出し: {path} (演習 {n} 個)", "en": "wrote {path} ({n} exercises)"},
    "release.unchanged": {"ja": "変更なし: {path}", "en": "unchanged: {path}"},
})


class ReleaseError(ValueError):
    """A release that cannot be made as asked; the message says why."""


def marker_lines(cell) -> list[tuple[int, str, str]]:
    """The solution markers of a cell (a notebook cell dict, or a code cell's source):
    ``(line number from 1, "BEGIN" or "END", the line)``. This alone decides what a marker is."""
    if isinstance(cell, str):
        cell = {"cell_type": "code", "source": cell}
    pattern = MARKER if cell.get("cell_type") == "code" else TEXT_MARKER
    found = []
    for number, line in enumerate(nbio.source(cell).splitlines(), 1):
        match = pattern.search(line)
        if match:
            found.append((number, match.group(1), line))
    return found


def holds_solution(cell) -> bool:
    """Whether a cell (dict, or a code cell's source) carries any solution marker."""
    return bool(marker_lines(cell))


def solution_regions(text: str, lang: str = "en", where: str = "") -> list[tuple[int, int]]:
    """The ``(BEGIN line, END line)`` pairs of a code cell's source (numbered from 1), or a
    :class:`ReleaseError` naming the line of the first malformed marker."""
    lines = text.splitlines()
    regions, begin = [], None
    for number, kind, line in marker_lines(text):
        if not MARKER_LINE.match(line):
            raise ReleaseError(text_in(lang, "release.inline", where=where, line=number, text=line.strip()))
        if kind == "BEGIN":
            if begin is not None:
                raise ReleaseError(text_in(lang, "release.nested", where=where, line=number, begin=begin))
            begin = number
        else:
            if begin is None:
                raise ReleaseError(text_in(lang, "release.stray_end", where=where, line=number))
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise ReleaseError(text_in(lang, "release.unclosed", where=where, line=begin))
    assert all(1 <= b < e <= len(lines) for b, e in regions)
    return regions


def strip_solutions(text: str, lang: str, where: str = "", message_lang: str | None = None) -> str:
    """Replace each solution region of one code cell's source by a stub (``lang``: the
    notebook's language, for the stub; ``message_lang``: the language of an error)."""
    regions = solution_regions(text, message_lang or lang, where)
    lines = text.splitlines()
    out, previous_end = [], 0
    for begin, end in regions:
        out.extend(lines[previous_end:begin - 1])
        indent = MARKER_LINE.match(lines[begin - 1]).group(1)
        region = lines[begin:end - 1]
        hints = [m.group(1) for m in map(HINT.match, region) if m]
        out.append(indent + text_in(lang, "release.todo"))
        out.extend(f"{indent}# HINT: {h}" for h in hints)
        message = hints[0] if hints else text_in(lang, "release.stub")
        out.append(f"{indent}raise NotImplementedError({message!r})")
        previous_end = end
    out.extend(lines[previous_end:])
    return "\n".join(out)


def cell_label(path, cell: dict, index: int, lang: str = "en") -> str:
    """How messages name a cell: the notebook, the cell id and its index."""
    return text_in(lang, "release.where", path=path or "<notebook>", id=cell.get("id", "-"), index=index)


RAISES_EXCEPTION = "raises-exception"


def tag_raises_exception(cell: dict) -> None:
    """Let Run All carry on past an unfinished exercise's check cell.

    JupyterLab and nbclient go on after a cell tagged ``raises-exception`` fails, so the
    plots and widgets after an exercise still appear. nbval would then accept a failing
    check; course_utils.pytest_plugin undoes that for check cells, so grading still sees it.
    """
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if RAISES_EXCEPTION not in tags:
        tags.append(RAISES_EXCEPTION)


def release_notebook(nb: dict, where: str = "", message_lang: str | None = None) -> dict:
    """The student version of one notebook (a new dict; ``nb`` is not changed).

    ``where`` names the notebook in error messages; ``message_lang`` is their language
    (default: the notebook's own)."""
    nb = copy.deepcopy(nb)
    lang = nbio.language(nb)
    message_lang = message_lang or lang
    checks = []
    for index, cell in enumerate(nb["cells"]):
        markers = marker_lines(cell)
        label = cell_label(where, cell, index, message_lang) if markers else ""
        if markers and cell["cell_type"] != "code":
            number, _, line = markers[0]
            raise ReleaseError(text_in(message_lang, "release.not_code", where=label, line=number,
                                       kind=cell["cell_type"], text=line.strip()))
        if cell["cell_type"] != "code":
            continue
        name = nbio.check_name(cell)
        if markers and name:
            raise ReleaseError(text_in(message_lang, "release.in_check", where=label, line=markers[0][0], check=name))
        if markers:
            cell["source"] = strip_solutions(nbio.source(cell), lang, label, message_lang)
        cell["outputs"] = []
        cell["execution_count"] = None
        if name:
            checks.append({"check": name, "cell_id": cell.get("id"), "sha256": nbio.fingerprint(cell)})
            tag_raises_exception(cell)
    nb.setdefault("metadata", {})["course"] = {"release": True, "checks": checks}
    return nb


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _read(path: Path, lang: str) -> dict:
    """The notebook at ``path``, or a ReleaseError that names the file (not JSON, not a notebook)."""
    try:
        nb = nbio.read(path)
        nb["cells"]  # a JSON file that is no notebook has none
        return nb
    except Exception as e:
        raise ReleaseError(text_in(lang, "release.unreadable", path=path, reason=f"{type(e).__name__}: {e}")) from None


def release(src, dst, force: bool = False, lang: str | None = None) -> list[Path]:
    """Write the student release of every notebook in ``src`` (a folder or one file) to ``dst``."""
    src, dst = Path(src).resolve(), Path(dst).resolve()
    message_lang = lang or "en"
    if not src.exists():
        raise ReleaseError(text_in(message_lang, "release.missing", src=src))
    if src.is_file() and src.suffix != ".ipynb":
        raise ReleaseError(text_in(message_lang, "release.not_notebook", src=src))
    folder = src if src.is_dir() else src.parent
    if _inside(dst, folder):
        raise ReleaseError(text_in(message_lang, "release.same_folder", dst=dst, src=folder))
    paths = sorted(src.glob("*.ipynb")) if src.is_dir() else [src]
    if not paths:
        raise ReleaseError(text_in(message_lang, "release.no_notebooks", src=src))
    planned = []
    for path in paths:
        student = release_notebook(_read(path, message_lang), where=str(path), message_lang=message_lang)
        text = nbio.dumps(student)
        target = dst / path.name
        if target.exists() and target.read_text(encoding="utf-8") != text and not force:
            raise ReleaseError(text_in(message_lang, "release.would_overwrite", path=target))
        planned.append((target, text, len(student["metadata"]["course"]["checks"])))
    written = []
    for target, text, n in planned:
        if target.exists() and target.read_text(encoding="utf-8") == text:
            os.chmod(target, RELEASED_MODE)
            print(text_in(message_lang, "release.unchanged", path=target))
            continue
        nbio.write_atomically(target, text)
        os.chmod(target, RELEASED_MODE)  # write_atomically's temporary file is private (0600)
        print(text_in(message_lang, "release.wrote", path=target, n=n))
        written.append(target)
    return written
