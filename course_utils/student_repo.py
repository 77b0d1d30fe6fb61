"""``python -m course_utils student-repo SRC --out DST``: a ready-to-push exercise repository.

It holds the student release of the notebooks in SRC, a copy of course_utils (so the
checks run without access to the course repository), the pinned requirements, pytest
settings and the GitHub Actions workflow that grades every push.
"""
import shutil
from pathlib import Path

from . import notebooks as nbio
from .i18n import register, text_in
from .release import ReleaseError, release

PACKAGE = Path(__file__).resolve().parent
TEMPLATE = PACKAGE / "templates" / "student-repo"

register({
    "student_repo.exists": {"ja": "{dst} は空ではありません。別のフォルダを指定してください。",
                            "en": "{dst} is not empty; choose another folder."},
    "student_repo.done": {"ja": "演習リポジトリを作りました: {dst} (git init して push してください)",
                          "en": "Exercise repository written to {dst} (git init it and push)."},
})


WORKFLOW = Path(".github") / "workflows" / "grade.yml"
TEMPLATE_LANG = "python -m course_utils --lang en grade"


def notebooks_language(paths) -> str:
    """The language of the released notebooks (their ``setup(lang=...)``), "en" when they disagree."""
    langs = {nbio.language(nbio.read(p)) for p in paths}
    return langs.pop() if len(langs) == 1 else "en"


def make_student_repo(src, dst, requirements=None, lang: str = "en") -> Path:
    """``lang``: the language of this command's messages; the repository's grading workflow
    speaks the notebooks' own language (the students')."""
    dst = Path(dst).resolve()
    if dst.exists() and any(dst.iterdir()):
        raise ReleaseError(text_in(lang, "student_repo.exists", dst=dst))
    release(src, dst / "notebooks", lang=lang)
    shutil.copytree(TEMPLATE, dst, dirs_exist_ok=True)
    workflow = dst / WORKFLOW
    student_lang = notebooks_language(sorted((dst / "notebooks").glob("*.ipynb")))
    text = workflow.read_text(encoding="utf-8")
    assert TEMPLATE_LANG in text, "the workflow template's grade command changed"
    workflow.write_text(text.replace(TEMPLATE_LANG, f"python -m course_utils --lang {student_lang} grade"),
                        encoding="utf-8")
    shutil.copytree(PACKAGE, dst / "course_utils", ignore=shutil.ignore_patterns("__pycache__", "templates"))
    requirements = Path(requirements) if requirements else PACKAGE.parent / "requirements.txt"
    shutil.copy(requirements, dst / "requirements.txt")
    shutil.copy(PACKAGE.parent / "pyproject.toml", dst / "pyproject.toml")
    print(text_in(lang, "student_repo.done", dst=dst))
    return dst
