"""The student release: solutions become stubs, check cells are fingerprinted.

In a code cell, the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` are replaced by
a comment, the ``# HINT:`` lines of the region, and ``raise NotImplementedError(hint)`` at
the marker's indentation. Outputs and execution counts are cleared. The notebook metadata
``course.checks`` lists every check cell (check name, cell id, SHA-256 of its source) so
that :mod:`course_utils.grade` can tell a deleted or edited check cell.
"""
import copy
import re
from pathlib import Path

from . import notebooks as nbio
from .i18n import register, text_in

BEGIN = re.compile(r"^(\s*)#\s*BEGIN SOLUTION\b")
END = re.compile(r"^\s*#\s*END SOLUTION\b")
HINT = re.compile(r"^\s*#\s*HINT:\s*(.*)$")

register({
    "release.todo": {"ja": "# ここにあなたのコードを書いてください", "en": "# Write your code here"},
    "release.stub": {"ja": "演習: この部分を実装してください", "en": "Exercise: implement this part"},
    "release.same_folder": {"ja": "出力先 {dst} が元のフォルダ {src} と同じか、その中です。別のフォルダを指定してください。",
                            "en": "The output {dst} is the source folder {src} or inside it; choose another folder."},
    "release.would_overwrite": {
        "ja": "{path} は既にあり、内容が異なります (学生の作業かもしれません)。上書きするには --force を付けてください。",
        "en": "{path} exists and differs from the release (it may hold a student's work); use --force to overwrite."},
    "release.unclosed": {"ja": "{path}: # BEGIN SOLUTION に対応する # END SOLUTION がありません。",
                         "en": "{path}: a # BEGIN SOLUTION has no matching # END SOLUTION."},
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


def strip_solutions(text: str, lang: str, where: str = "") -> str:
    """Replace each solution region of one cell's source by a stub."""
    out, region, indent = [], None, ""
    for line in text.splitlines():
        begin = BEGIN.match(line)
        if region is None and begin:
            region, indent = [], begin.group(1)
        elif region is not None and END.match(line):
            hints = [m.group(1) for m in map(HINT.match, region) if m]
            out.append(indent + text_in(lang, "release.todo"))
            out.extend(f"{indent}# HINT: {h}" for h in hints)
            message = hints[0] if hints else text_in(lang, "release.stub")
            out.append(f"{indent}raise NotImplementedError({message!r})")
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ReleaseError(text_in(lang, "release.unclosed", path=where))
    return "\n".join(out)


def release_notebook(nb: dict, where: str = "") -> dict:
    """The student version of one notebook (a new dict; ``nb`` is not changed)."""
    nb = copy.deepcopy(nb)
    lang = nbio.language(nb)
    checks = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = nbio.source(cell)
        if "BEGIN SOLUTION" in src:
            cell["source"] = strip_solutions(src, lang, where)
        cell["outputs"] = []
        cell["execution_count"] = None
        name = nbio.check_name(cell)
        if name:
            checks.append({"check": name, "cell_id": cell.get("id"), "sha256": nbio.fingerprint(cell)})
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
        student = release_notebook(_read(path, message_lang), where=str(path))
        text = nbio.dumps(student)
        target = dst / path.name
        if target.exists() and target.read_text(encoding="utf-8") != text and not force:
            raise ReleaseError(text_in(message_lang, "release.would_overwrite", path=target))
        planned.append((target, text, len(student["metadata"]["course"]["checks"])))
    written = []
    for target, text, n in planned:
        if target.exists() and target.read_text(encoding="utf-8") == text:
            print(text_in(message_lang, "release.unchanged", path=target))
            continue
        nbio.write_atomically(target, text)
        print(text_in(message_lang, "release.wrote", path=target, n=n))
        written.append(target)
    return written
