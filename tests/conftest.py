"""Fixtures the unit tests share."""
import pytest

from course_utils.i18n import language, set_language


@pytest.fixture(params=["ja", "en"])
def each_language(request):
    """Run the test once in Japanese and once in English (``pytestmark = pytest.mark.usefixtures(...)``)."""
    before = language()
    set_language(request.param)
    yield request.param
    set_language(before)


@pytest.fixture
def close_widgets():
    """Close every ipywidget the test made (``pytestmark = pytest.mark.usefixtures(...)``)."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()
