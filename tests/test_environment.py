"""requirements.txt, environment.yml and binder/ list the same pinned packages."""
import re

import yaml

from tests.notebook_files import ROOT


def requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def conda_pip(path):
    env = yaml.safe_load(path.read_text())
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str)), path
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return sorted(pip)


def test_requirements_are_pinned():
    reqs = requirements()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*", r) for r in reqs), reqs
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs
    assert not any(r.startswith("opencv-python==") for r in reqs), "use opencv-python-headless only"


def test_conda_and_binder_match_requirements():
    assert conda_pip(ROOT / "environment.yml") == requirements()
    assert conda_pip(ROOT / "binder" / "environment.yml") == requirements()
    apt = (ROOT / "binder" / "apt.txt").read_text().split()
    assert "fonts-noto-cjk" in apt and "fonts-noto-color-emoji" in apt  # Japanese and 📊 ⭕ ❌ in the browser
