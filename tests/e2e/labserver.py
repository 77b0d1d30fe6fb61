"""A throw-away JupyterLab server and a Playwright-driven Chromium page on it (for the e2e tests).

The server runs from the project's venv (``sys.executable``) on 127.0.0.1, a free port and a
random token, with HOME, the Jupyter config/data/runtime folders, the Lab user settings and
workspaces all in a temporary folder (nothing read from or written to the user's own), news and
update checks switched off (``overrides.json`` in a private ``app_settings_dir``), and
``COURSE_FAST=1`` for its kernels. Its root folder is a temporary copy: notebooks are copied
in, so JupyterLab's autosave never touches ``notebooks/``. :meth:`LabServer.stop` ends the
server, its kernels and anything else it started, by process id.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Debian's (apt-get install chromium), or COURSE_CHROMIUM; else Playwright's own, see find_chromium()
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_PACKAGES = "chromium fonts-noto-cjk fonts-noto-color-emoji"
INSTALL_HINT = (f"run `make browser` (it runs `apt-get install -y {BROWSER_PACKAGES}` as root or with sudo on "
                f"Debian/Ubuntu, else `.venv/bin/python -m playwright install chromium`)")

TIMINGS = {}  # piece → seconds; conftest prints them at the end of the session


class timed:
    """``with timed("piece"):`` adds the block's wall time to TIMINGS["piece"]."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        TIMINGS[self.name] = TIMINGS.get(self.name, 0.0) + time.perf_counter() - self.t0

OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    # render every cell (JupyterLab 4 otherwise keeps only the cells near the viewport in the page)
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def playwright_chromium() -> str | None:
    """The Chromium that ``python -m playwright install chromium`` installed, if it is there."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Exception:
        return None
    return path if path and os.access(path, os.X_OK) else None


@functools.lru_cache(maxsize=1)
def find_chromium() -> str | None:
    """Debian's /usr/bin/chromium, else Playwright's own Chromium, else None."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return playwright_chromium()


@functools.lru_cache(maxsize=1)
def missing_prerequisites() -> str | None:
    """Why the browser tests cannot run here (no Chromium, no CJK font), with the command to run; or None."""
    problems = []
    if find_chromium() is None:
        problems.append(f"no Chromium ({CHROMIUM} not found, nor Playwright's own Chromium)")
    if sys.platform != "darwin":  # macOS ships Japanese fonts (and has no fc-list)
        try:
            fonts = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True,
                                   timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            fonts = ""
        if not fonts.strip():
            problems.append("no Japanese font for Chromium (fc-list :lang=ja is empty)")
    if problems:
        return "browser tests cannot run: " + "; ".join(problems) + f". To fix it, {INSTALL_HINT}"
    return None


class LabServer:
    def __init__(self, base: Path, startup_timeout: float = 90):
        self.base = Path(base)
        self.root = self.base / "root"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "jupyterlab.log"
        self.proc = None
        self._known = set()
        self.startup_timeout = startup_timeout

    # ---------------------------------------------------------------- start / stop
    def environment(self) -> dict:
        env = dict(os.environ)
        dirs = {name: self.base / name for name in
                ("home", "config", "data", "runtime", "user-settings", "workspaces", "ipython")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # keep matplotlib's font cache where it already is (a fresh one takes seconds to build)
        try:
            import matplotlib

            env.setdefault("MPLCONFIGDIR", matplotlib.get_cachedir())
        except Exception:
            pass
        env.update({
            "HOME": str(dirs["home"]),
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTERLAB_SETTINGS_DIR": str(dirs["user-settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
            "IPYTHONDIR": str(dirs["ipython"]),
            "COURSE_FAST": "1",
            "PYTHONIOENCODING": "utf-8",
        })
        env.pop("JUPYTER_TOKEN", None)
        return env

    def command(self) -> list:
        settings = self.base / "app-settings"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps(OVERRIDES, indent=1), encoding="utf-8")
        return [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                "--port-retries=0", f"--IdentityProvider.token={self.token}", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                f"--LabApp.app_settings_dir={settings}", f"--ServerApp.root_dir={self.root}",
                "--ServerApp.open_browser=False"] + (["--allow-root"] if os.geteuid() == 0 else [])

    def start(self) -> "LabServer":
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), cwd=self.root, env=self.environment(), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {self.startup_timeout} s:\n{self.log()}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return ""

    def _descendants(self):
        """The server's process and everything it started (kernels run in sessions of their own)."""
        try:
            import psutil  # a dependency of ipykernel
        except ImportError:
            return []
        try:
            parent = psutil.Process(self.proc.pid)
            return [parent] + parent.children(recursive=True)
        except psutil.Error:
            return []

    def remember_children(self) -> None:
        """Note the server's current child processes (kernels), so that stop() ends them too."""
        self._known.update(p for p in self._descendants())

    def stop(self) -> None:
        """End the kernels (by pid), then the server, then anything left of either (SIGKILL)."""
        if self.proc is None:
            return
        self.remember_children()
        children = [p for p in self._known if p.pid != self.proc.pid]
        for p in children:  # kernels first: the server's own shutdown waits seconds for each
            try:
                p.terminate()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in the server's process group
        except (ProcessLookupError, PermissionError):
            pass
        for p in children:  # kernels (sessions of their own) that outlived all that
            try:
                if p.is_running():
                    p.kill()
            except Exception:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    # ---------------------------------------------------------------- notebooks
    def add_notebook(self, source: Path, extra_cells=(), name: str | None = None) -> str:
        """Copy ``source`` into the server's root (plus ``extra_cells`` appended); returns its name there."""
        import nbformat

        nb = nbformat.read(source, as_version=4)
        for cell in extra_cells:
            nb.cells.append(cell)
        name = name or Path(source).name
        nbformat.write(nb, self.root / name)
        return name

    def lab_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


# ------------------------------------------------------------------------ the page

_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# The opened notebook's state: its code cells' prompts, error outputs, and the kernel's status
# as the status bar shows it ("Python 3 (ipykernel) | Idle"; "No Kernel | ..." before it started).
_STATE_JS = r"""
() => {
  const panel = '.jp-NotebookPanel:not(.lm-mod-hidden)';
  const cells = [...document.querySelectorAll(panel + ' .jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => ((c.querySelector('.jp-InputPrompt') || {}).textContent || '').trim());
  const errors = [...document.querySelectorAll(panel + ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => e.textContent).filter(t => /Traceback|Error/.test(t));
  const kernel = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent.trim())
      .find(t => / \| [A-Z][a-z]+/.test(t)) || '';
  const dialog = (document.querySelector('.jp-Dialog .jp-Dialog-header') || {}).textContent || '';
  return {n: cells.length, prompts, errors, kernel, dialog};
}
"""


def notebook_state(page) -> dict:
    return page.evaluate(_STATE_JS)


def _kernel_idle(state) -> bool:
    return bool(re.search(r"\| Idle$", state["kernel"])) and not state["kernel"].startswith("No Kernel")


def _accept_kernel_dialog(page, state) -> None:
    # Should not appear (the notebooks carry kernelspec metadata); if it does, take the default kernel.
    if "Select Kernel" in state["dialog"]:
        page.locator(".jp-Dialog button.jp-mod-accept").click()


def wait_for_notebook(page, timeout: float = 60) -> dict:
    """Wait until the opened notebook is rendered and its kernel started and idle."""
    page.wait_for_selector(_PANEL + " .jp-Notebook .jp-Cell", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = notebook_state(page)
        _accept_kernel_dialog(page, state)
        if _kernel_idle(state):
            return state
        page.wait_for_timeout(200)
    raise TimeoutError(f"the kernel did not become idle in {timeout} s (status bar: {state.get('kernel')!r})")


def wait_for_idle(page, timeout: float = 30, settle_ms: int = 300) -> None:
    """Wait until the kernel is idle and stays idle for ``settle_ms`` (widget updates are done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _kernel_idle(notebook_state(page)):
            page.wait_for_timeout(settle_ms)
            if _kernel_idle(notebook_state(page)):
                return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the kernel stayed busy for {timeout} s")


def run_all_cells(page, timeout: float = 240) -> dict:
    """Run → Run All Cells from the menu bar; wait until every code cell ran (or an error stopped the run)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has_text=re.compile(r"^Run All Cells")).first.click()
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = notebook_state(page)
        _accept_kernel_dialog(page, state)
        done = state["n"] and all(re.fullmatch(r"\[\d+\]:", p) for p in state["prompts"])
        if state["errors"] or (done and _kernel_idle(state)):
            return state
        page.wait_for_timeout(250)
    raise TimeoutError(f"Run All Cells did not finish in {timeout} s; prompts: {state.get('prompts')}, "
                       f"kernel: {state.get('kernel')!r}")


@contextlib.contextmanager
def opened_and_run(lab_server, browser, source: Path, screenshot: Path, label: str, extra_cells=(),
                   viewport=(1400, 1000)):
    """A page with a copy of ``source`` (plus ``extra_cells``) opened in JupyterLab and run top to bottom.

    Fails the test if a cell raised; the page is closed in every outcome. ``label`` names the
    timings (e.g. "01"); a full-page screenshot after the run goes to ``screenshot``;
    ``viewport`` is the browser window's (width, height) in CSS pixels.
    """
    if not Path(source).exists():
        pytest.fail(f"{source} is missing", pytrace=False)
    name = lab_server.add_notebook(source, extra_cells=extra_cells)
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        with timed(f"open notebook ({label})"):
            page.goto(lab_server.lab_url(name))
            wait_for_notebook(page)
        lab_server.remember_children()  # the kernel, so that stop() ends it in every outcome
        with timed(f"Run All Cells ({label}, FAST)"):
            state = run_all_cells(page, timeout=float(os.environ.get("E2E_RUN_TIMEOUT", 240)))
        page.screenshot(path=str(screenshot), full_page=True)
        assert not state["errors"], f"errors while running {Path(source).name}:\n" + "\n".join(state["errors"])
        yield page
    finally:
        page.close()


def press_slider(page, widget, label: re.Pattern, times: int, key: str | None = None) -> tuple[float, float]:
    """Focus the slider of ``widget`` whose label matches ``label`` and press ``key`` ``times`` times.

    ``key`` None: ArrowRight, or ArrowLeft when the slider is at its maximum. Waits until the
    slider shows a new value; returns its value before and after.
    """
    handle = widget.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=label)).locator(".noUi-handle")
    before = float(handle.get_attribute("aria-valuenow"))
    if key is None:
        key = "ArrowLeft" if before >= float(handle.get_attribute("aria-valuemax")) else "ArrowRight"
    handle.focus()
    for _ in range(times):
        handle.press(key)
    page.wait_for_function(
        "([el, v0]) => parseFloat(el.getAttribute('aria-valuenow')) !== v0", arg=[handle.element_handle(), before],
        timeout=10_000)
    return before, float(handle.get_attribute("aria-valuenow"))
