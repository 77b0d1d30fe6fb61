"""Test-wide settings: FAST mode, offline, one torch thread per process, markers.

Set before any kernel starts, so nbval's kernels inherit them.
"""
import os

import pytest

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("COURSE_THREADS", "1")


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks: executes notebooks (nbval or nbclient)")
    config.addinivalue_line("markers", "e2e: real-browser tests of JupyterLab")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "cell_num"):  # an nbval cell
            item.add_marker(pytest.mark.notebooks)
