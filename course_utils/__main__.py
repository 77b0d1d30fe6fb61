"""``python -m course_utils release|grade|doctor``."""
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
    "doctor.unreachable": {"ja": "ネットワークなし (digits で代替)", "en": "no network (digits used instead)"},
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
    print(f"{t('doctor.offline')}: digits, shapes, " + ", ".join(data.IMAGE_NAMES))
    cached = [name for name in ("MNIST", "FashionMNIST") if (Path("data") / name / "raw").exists()]
    reach = t("doctor.reachable") if data.online() else t("doctor.unreachable")
    print(f"{t('doctor.online')}: {reach}" + (f"; {t('doctor.cached')}: {', '.join(cached)}" if cached else ""))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils")
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                        help="message language (default: the locale, LC_ALL/LC_MESSAGES/LANG ja* -> ja, else en)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="write the student version of notebooks")
    p_rel.add_argument("src")
    p_rel.add_argument("--out", required=True)
    p_rel.add_argument("--force", action="store_true")
    p_grade = sub.add_parser("grade", help="score table from a pytest junit report of nbval")
    p_grade.add_argument("report")
    p_grade.add_argument("notebooks", nargs="+")
    p_grade.add_argument("--reference", help="folder of the released notebooks (trusted fingerprints)")
    p_grade.add_argument("--markdown", help="also write the table to this file")
    from .grade_submissions import add_arguments as grade_submissions_arguments

    grade_submissions_arguments(sub.add_parser(
        "grade-submissions", help="grade a class's notebooks with the instructor's course_utils"))
    sub.add_parser("doctor", help="print versions, device, font and data availability")
    p_repo = sub.add_parser("student-repo", help="write a ready-to-push exercise repository")
    p_repo.add_argument("src", help="folder of instructor notebooks (e.g. notebooks/ja)")
    p_repo.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    args.lang = args.lang or i18n.locale_language()  # --lang, else the locale, else English
    i18n.set_language(args.lang)

    if args.command == "doctor":
        return doctor()
    if args.command == "grade-submissions":
        from .grade_submissions import main_from_args

        return main_from_args(args, args.lang)
    if args.command == "student-repo":
        from .release import ReleaseError
        from .student_repo import make_student_repo

        try:
            make_student_repo(args.src, args.out, lang=args.lang)
        except ReleaseError as e:
            print(e, file=sys.stderr)
            return 2
        return 0
    if args.command == "release":
        from .release import ReleaseError, release

        try:
            release(args.src, args.out, force=args.force, lang=args.lang)
        except ReleaseError as e:
            print(e, file=sys.stderr)
            return 2
        return 0
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


if __name__ == "__main__":
    sys.exit(main())
