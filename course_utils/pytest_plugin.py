"""pytest plugin: tag each nbval cell with its notebook, cell id and exercise check.

The tags land in the junit report as ``<property>`` elements, so :mod:`course_utils.grade`
maps results to exercises by cell id and check name rather than nbval's "Cell N" numbers.
A check cell fails when its check fails even though the release tags it ``raises-exception``
(so that Run All in JupyterLab carries on past an unfinished exercise).
Load it with ``-p course_utils.pytest_plugin`` (pytest.ini does; so does the student template).
"""
from . import notebooks as nbio


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not hasattr(item, "cell_num"):
            continue
        item.user_properties.append(("notebook", str(item.path)))
        item.user_properties.append(("cell_id", cell.get("id") or ""))
        name = nbio.check_name(cell)
        if name:
            item.user_properties.append(("check", name))
            if hasattr(item, "options"):
                item.options["check_exception"] = False  # nbval: an error in a check cell is a failure
