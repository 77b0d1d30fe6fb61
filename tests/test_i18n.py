import pytest

import course_utils  # noqa: F401  (registers every module's messages)
from course_utils import i18n


def test_every_message_has_both_languages_and_same_placeholders():
    import string

    for key in i18n.keys():
        fields = {}
        for lang in i18n.LANGUAGES:
            text = i18n._messages[key][lang]
            assert text.strip(), f"{key} is empty in {lang}"
            fields[lang] = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        assert fields["ja"] == fields["en"], f"{key}: placeholders differ {fields}"


def test_t_follows_language():
    i18n.set_language("en")
    assert i18n.t("mode.fast").startswith("FAST")
    i18n.set_language("ja")
    assert "軽量" in i18n.t("mode.fast")


def test_register_requires_both_languages():
    with pytest.raises(ValueError):
        i18n.register({"x.only_ja": {"ja": "だけ"}})


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match="no.such.key"):
        i18n.t("no.such.key")


def test_default_language_is_decided_in_one_place(monkeypatch):
    from course_utils import runtime

    assert i18n.default_language({}) == "ja"
    assert i18n.default_language({"COURSE_LANG": "en"}) == "en"
    assert i18n.default_language({"COURSE_LANG": "all"}) == "ja"   # make course's "all" is not a language
    monkeypatch.setattr(runtime, "set_plot_style", lambda: True)
    before = i18n.language()
    try:
        monkeypatch.setenv("COURSE_LANG", "en")
        runtime.setup()                      # no lang: the default language, not a second "ja" of its own
        assert i18n.language() == "en"
        monkeypatch.delenv("COURSE_LANG")
        runtime.setup()
        assert i18n.language() == "ja"
    finally:
        i18n.set_language(before)
