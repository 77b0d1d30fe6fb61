"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

Both are always stopped (``finally``), whatever the outcome. Missing Chromium or CJK fonts is a
failure with the install command, never a silent skip.
"""
from pathlib import Path

import pytest

from labserver import CHROMIUM, CHROMIUM_ARGS, TIMINGS, LabServer, missing_prerequisites, timed


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "e2e timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name:>28}: {seconds:6.1f} s")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    problem = missing_prerequisites()
    if problem:
        pytest.fail(problem, pytrace=False)
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        with timed("start JupyterLab"):
            server.start()
        yield server
    finally:
        with timed("stop JupyterLab"):
            server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    problem = missing_prerequisites()
    if problem:
        pytest.fail(problem, pytrace=False)
    pw = sync_playwright().start()
    browser = None
    try:
        with timed("start Chromium"):
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
    finally:
        try:
            if browser is not None:
                browser.close()
        finally:
            pw.stop()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")
