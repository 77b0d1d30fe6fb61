"""requirements.txt, environment.yml and binder/ list the same pinned packages; binder/ parses."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.notebook_files import ROOT

CPU_INDEX = "--extra-index-url=https://download.pytorch.org/whl/cpu"
# Tools for the tests only, which the Binder image does not need
TEST_ONLY = {"jupyter-repo2docker"}


def requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def conda_pip(path, options=False):
    """The pip section of a conda environment file: its pins (and, with ``options``, its option lines)."""
    env = yaml.safe_load(path.read_text())
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str)), path
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return sorted(p for p in pip if p.startswith("-") == options)


def package(pin):
    return pin.split("==")[0].lower()


def test_requirements_are_pinned():
    reqs = requirements()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*", r) for r in reqs), reqs
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs
    assert not any(r.startswith("opencv-python==") for r in reqs), "use opencv-python-headless only"


def test_conda_and_binder_match_requirements():
    assert conda_pip(ROOT / "environment.yml") == requirements()
    binder = ROOT / "binder" / "environment.yml"
    assert conda_pip(binder) == [r for r in requirements() if package(r) not in TEST_ONLY]
    apt = (ROOT / "binder" / "apt.txt").read_text().split()
    assert "fonts-noto-cjk" in apt and "fonts-noto-color-emoji" in apt  # Japanese and 📊 ⭕ ❌ in the browser


def test_binder_installs_the_cpu_build_of_the_same_torch():
    """Binder has no GPU: PyTorch's CPU index, whose 2.14.1+cpu pip prefers for ``torch==2.14.1``."""
    binder = ROOT / "binder" / "environment.yml"
    assert conda_pip(binder, options=True) == [CPU_INDEX]
    assert "torch==2.14.1" in conda_pip(binder) and "torchvision==0.29.1" in conda_pip(binder)
    assert "download.pytorch.org" not in (ROOT / "environment.yml").read_text()  # GPU machines keep CUDA


def repo2docker():
    found = Path(sys.executable).with_name("jupyter-repo2docker")
    return str(found) if found.exists() else shutil.which("jupyter-repo2docker")


@pytest.mark.skipif(repo2docker() is None, reason="jupyter-repo2docker is not installed: "
                    "`.venv/bin/pip install jupyter-repo2docker==2026.4.0`")
def test_repo2docker_reads_the_binder_folder(tmp_path):
    """``jupyter-repo2docker --no-build`` parses binder/ (no Docker needed) into the Dockerfile it would build."""
    src = tmp_path / "repo"
    shutil.copytree(ROOT / "binder", src / "binder")
    shutil.copy(ROOT / "pyproject.toml", src / "pyproject.toml")
    run = subprocess.run([repo2docker(), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan",
                          str(src)], capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "fonts-noto-cjk fonts-noto-color-emoji" in out  # apt.txt
    assert 'binder/environment.yml' in out and "postBuild" in out


def test_doctor_reports_mode_and_the_browser_fonts():
    run = subprocess.run([sys.executable, "-m", "course_utils", "--lang", "en", "doctor"], capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = {line.split(":")[0]: line for line in run.stdout.splitlines()}
    assert "FAST" in lines["mode"] and "COURSE_FAST=1" in lines["mode"]  # the tests' environment says FAST
    fonts = lines["browser fonts (fc-list)"]
    if shutil.which("fc-list"):
        assert "CJK" in fonts and "emoji" in fonts


def test_doctor_speaks_the_locale():
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    run = subprocess.run([sys.executable, "-m", "course_utils", "doctor"], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, env={**env, "LANG": "ja_JP.UTF-8"})
    assert run.returncode == 0, run.stderr
    assert "モード: FAST" in run.stdout and "ブラウザ用フォント" in run.stdout
