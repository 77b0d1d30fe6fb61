"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

Both are always stopped (``finally``), whatever the outcome. Chromium is Debian's
/usr/bin/chromium or Playwright's own (``make browser`` installs one). Where neither, or no CJK
font, is there, the tests are skipped with the exact command to run as the reason (shown in
the ``-ra`` summary), never silently; with ``COURSE_E2E_REQUIRED=1`` (CI) they fail instead.
"""
import os
from pathlib import Path

import pytest

from labserver import CHROMIUM_ARGS, TIMINGS, LabServer, find_chromium, missing_prerequisites, timed


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "e2e timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name:>28}: {seconds:6.1f} s")


def require_prerequisites() -> None:
    problem = missing_prerequisites()
    if problem and os.environ.get("COURSE_E2E_REQUIRED") == "1":
        pytest.fail(problem, pytrace=False)
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    require_prerequisites()
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

    require_prerequisites()
    pw = sync_playwright().start()
    browser = None
    try:
        with timed("start Chromium"):
            browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
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
