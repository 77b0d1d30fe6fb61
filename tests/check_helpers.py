"""What the exercise-check tests share: a failure that must be clear, and a hint to look for in it."""
import pytest

from course_utils.checks import ExerciseFailed
from course_utils.i18n import t


def assert_fails(run, fragments=()) -> str:
    """Call ``run()``: it must raise ExerciseFailed whose message holds every fragment and no traceback."""
    with pytest.raises(ExerciseFailed) as info:
        run()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message
    return message


def hint(key, **values) -> str:
    """The start of a message as it appears in a failure: its first line, up to an unfilled placeholder, 40 characters."""
    return t(key, **values).split("\n")[0].split("{")[0][:40]
