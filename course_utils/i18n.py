"""Messages in Japanese and English.

Every user-facing string of course_utils goes through :func:`t`. Modules register their
own messages with :func:`register`, so each chapter's checks keep their texts beside them.
"""
import os

LANGUAGES = ("ja", "en")
_messages: dict[str, dict[str, str]] = {}


def default_language(environ=None) -> str:
    """The notebooks' language until ``cu.setup(lang=...)`` or :func:`set_language` says otherwise:
    ``COURSE_LANG`` when it is "ja" or "en" (``make course COURSE_LANG=en``), else Japanese, the
    course's first language. The one place that decides it (command-line tools speak the locale's
    language instead: :func:`locale_language`)."""
    environ = os.environ if environ is None else environ
    value = environ.get("COURSE_LANG", "").strip()
    return value if value in LANGUAGES else "ja"


_lang = default_language()


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add messages: ``{key: {"ja": ..., "en": ...}}``. Both languages are required."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise ValueError(f"message {key!r} lacks {missing}")
        _messages[key] = dict(texts)


def set_language(lang: str) -> None:
    global _lang
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r} / "
                         f"lang は {LANGUAGES} のどれかにしてください")
    _lang = lang


def language() -> str:
    return _lang


def locale_language(environ=None) -> str:
    """The user's language for the command-line tools: "ja" when the locale (the first set of
    LC_ALL, LC_MESSAGES, LANG, as POSIX reads them) starts with "ja", else "en"."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def t(key: str, **values) -> str:
    """The message ``key`` in the current language, formatted with ``values``."""
    return text_in(_lang, key, **values)


def text_in(lang: str, key: str, **values) -> str:
    """The message ``key`` in ``lang`` (for tools that write notebooks of either language)."""
    try:
        text = _messages[key][lang]
    except KeyError:
        raise KeyError(f"no message {key!r} in {lang!r}") from None
    return text.format(**values) if values else text


def keys() -> list[str]:
    return sorted(_messages)


register({
    "setup.line": {
        "ja": "デバイス: {device} | モード: {mode} | 言語: 日本語 | seed={seed}",
        "en": "device: {device} | mode: {mode} | language: English | seed={seed}",
    },
    "mode.fast": {"ja": "FAST (軽量)", "en": "FAST (light)"},
    "mode.full": {"ja": "FULL (本番)", "en": "FULL"},
    "mode.line": {"ja": "{mode} — {why}。{how}", "en": "{mode} — {why}; {how}"},
    "mode.why_no_cuda": {"ja": "CUDA の GPU がないので自動で選びました", "en": "chosen because there is no CUDA GPU"},
    "mode.why_cuda": {"ja": "CUDA の GPU があるので自動で選びました", "en": "chosen because a CUDA GPU is present"},
    "mode.why_env": {"ja": "環境変数 COURSE_FAST={value} の指定です", "en": "set by COURSE_FAST={value}"},
    "mode.why_setup": {"ja": "setup(mode=\"{mode}\") の指定です", "en": "set by setup(mode=\"{mode}\")"},
    "mode.how": {"ja": "{other} に切り替えるには {call}", "en": "to switch to {other}: {call}"},
    "font.missing": {
        "ja": "日本語フォント (matplotlib-fontja) が見つかりません。図の日本語が豆腐になります。",
        "en": "Japanese font (matplotlib-fontja) not found: Japanese text in plots will not render.",
    },
})
