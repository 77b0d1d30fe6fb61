import json
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import course_utils as cu
from course_utils import execute, i18n, runtime
from tests.notebook_files import NOTEBOOKS


def test_setup_returns_device_and_prints_one_line(capsys):
    dev = cu.setup(lang="en", seed=1)
    assert isinstance(dev, torch.device)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "device" in out[0] and "English" in out[0]
    assert cu.device() == dev
    cu.setup(lang="ja")
    assert "デバイス" in capsys.readouterr().out


def test_setup_seeds_everything():
    cu.setup(lang="en", seed=7)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    cu.setup(lang="en", seed=7)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_pick_follows_mode(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert cu.pick(fast=1, full=2) == 1 and cu.FAST is True and runtime.FAST is True
    monkeypatch.setenv("COURSE_FAST", "0")
    assert cu.pick(fast=1, full=2) == 2 and cu.FAST is False


def test_fast_is_set_in_tests():
    assert cu.FAST is True


def test_bad_language_is_a_clear_error():
    try:
        cu.setup(lang="fr")
    except ValueError as e:
        assert "ja" in str(e) and "en" in str(e)
    else:
        raise AssertionError("lang='fr' was accepted")
    assert i18n.language() in ("ja", "en")


def test_japanese_font_is_found_and_used():
    cu.setup(lang="ja")
    assert runtime.japanese_font_available()
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    fig, ax = plt.subplots()
    title = ax.set_title("畳み込み")
    path = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)
    plt.close(fig)
    assert "IPAex" in path or "ipaex" in path.lower()


def test_course_threads_limits_torch_and_blas(monkeypatch):
    from threadpoolctl import threadpool_info

    monkeypatch.setenv("COURSE_THREADS", "1")
    cu.setup(lang="en")
    assert torch.get_num_threads() == 1
    assert all(pool["num_threads"] == 1 for pool in threadpool_info())


@pytest.fixture
def automatic_mode(monkeypatch):
    """No COURSE_FAST, no setup(mode=...) left over; restored afterwards."""
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.setattr(runtime, "_mode_asked", None)
    yield monkeypatch


@pytest.mark.parametrize("device_type, expected", [("cuda", "full"), ("mps", "fast"), ("cpu", "fast")])
def test_mode_follows_the_hardware_unless_told(automatic_mode, device_type, expected):
    automatic_mode.setattr(runtime, "device", lambda: torch.device(device_type))
    assert runtime.mode() == (expected, "hardware") and cu.FAST is (expected == "fast")
    automatic_mode.setenv("COURSE_FAST", "1")
    assert runtime.mode() == ("fast", "env") and cu.pick(fast=1, full=2) == 1
    automatic_mode.setenv("COURSE_FAST", "0")
    assert runtime.mode() == ("full", "env") and cu.pick(fast=1, full=2) == 2


def test_setup_mode_overrides_the_environment_from_a_running_kernel(automatic_mode, capsys):
    automatic_mode.setenv("COURSE_FAST", "1")
    cu.setup(lang="en", mode="full")
    line = capsys.readouterr().out
    assert cu.FAST is False and runtime.FAST is False and cu.pick(fast=1, full=2) == 2
    assert "FULL" in line and 'setup(mode="full")' in line and 'cu.setup(lang="en", mode="fast")' in line
    cu.setup(lang="en", mode="fast")
    assert cu.FAST is True and cu.pick(fast=1, full=2) == 1
    cu.setup(lang="en")  # None: back to COURSE_FAST / the hardware
    assert runtime.mode() == ("fast", "env")
    with pytest.raises(ValueError, match="fast"):
        cu.setup(lang="en", mode="quick")


def test_first_line_says_mode_why_and_how_to_change(automatic_mode, capsys):
    automatic_mode.setattr(runtime, "best_device", lambda: torch.device("cpu"))
    automatic_mode.setattr(runtime, "_device", None)
    cu.setup(lang="en")
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "FAST" in line and "no CUDA GPU" in line and 'cu.setup(lang="en", mode="full")' in line
    cu.setup(lang="ja")
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "FAST" in line and "GPU がない" in line and 'cu.setup(lang="ja", mode="full")' in line


def test_setup_makes_gpu_runs_reproducible(capsys):
    import torch

    import course_utils as cu

    torch.backends.cudnn.benchmark = True
    cu.setup(lang="en")
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True
    import os

    assert os.environ.get("CUBLAS_WORKSPACE_CONFIG") in (":4096:8", ":16:8")


# ---------------------------------------------------------------- re-runs give the same numbers

TIME = re.compile(r"\d[\d,.]*\s*(?:ms|µs|us|ns|s|sec|seconds|min|秒|分)(?![A-Za-z])")
SPEED = re.compile(r"/s\b|/秒|speed|速度|faster|slower|×|倍|throughput", re.IGNORECASE)
NUMBER = re.compile(r"\d[\d,.]*")


def comparable(line: str) -> str:
    """A printed figure without what a re-run may change: times, and every number of a speed line."""
    return NUMBER.sub("#", line) if SPEED.search(line) else TIME.sub("<time>", line)


def test_comparable_masks_times_and_speeds_only():
    assert comparable("📊 LeNet-5, digits: test accuracy 97.77% (15 epochs, 0.46 s per epoch, cpu)") == \
        "📊 LeNet-5, digits: test accuracy 97.77% (15 epochs, <time> per epoch, cpu)"
    assert comparable("📊 training speed: CPU 44 images/s") == "📊 training speed: CPU # images/s"
    assert comparable("精度 91.2%、学習 3.1 秒") == "精度 91.2%、学習 <time>"


def key_lines(nb) -> list[str]:
    """The 📊 lines and the accuracy / mAP / mIoU lines a notebook printed, times masked."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines += [comparable(s.strip()) for s in execute.stdout_lines(cell)
                      if s.strip().startswith(execute.FIGURE_MARK) or execute.FIGURE_WORDS.search(s)]
    return lines


def differences(a: dict, b: dict) -> list[str]:
    """What differs between two runs ``{notebook: (figures, checks[, errors])}``: each figure is
    matched by its text with the numbers left out, so a run stopped early (a timeout) shows as
    figures missing from it, not as every later figure differing."""
    out = []
    for name in sorted(set(a) | set(b)):
        runs = [x.get(name, ([], [], [])) for x in (a, b)]
        by_label = [{}, {}]
        for run, labels in zip(runs, by_label):
            for line in run[0]:
                labels.setdefault(NUMBER.sub("#", line), []).append(line)
        for label in list(by_label[0]) + [k for k in by_label[1] if k not in by_label[0]]:  # printed order
            first, second = by_label[0].get(label), by_label[1].get(label)
            if first and second and first != second:
                out.append(f"{name}: {first} != {second}")
            elif not (first and second):
                missing = 2 if first else 1
                errors = runs[missing - 1][2] if len(runs[missing - 1]) > 2 else []
                out.append(f"{name}: {(first or second)} not printed in run {missing}"
                           + (f" (it stopped: {'; '.join(errors[:2])})" if errors else ""))
        if runs[0][1] != runs[1][1]:
            out.append(f"{name}: exercise results {runs[0][1]} != {runs[1][1]}")
    return out


def test_differences_name_what_changed_and_what_is_missing():
    a = {"06": (["📊 acc 97.49% (<time>)", "📊 ResNet 98.61%"], [("lenet", True)], [])}
    b = {"06": (["📊 acc 97.77% (<time>)"], [("lenet", True)], ["cell 32: KeyboardInterrupt"])}
    diff = differences(a, b)
    assert diff[0] == "06: ['📊 acc 97.49% (<time>)'] != ['📊 acc 97.77% (<time>)']"
    assert diff[1] == "06: ['📊 ResNet 98.61%'] not printed in run 2 (it stopped: cell 32: KeyboardInterrupt)"
    assert differences(a, a) == []


@pytest.mark.notebooks
def test_fast_reruns_give_the_same_figures():
    """FAST mode is deterministic on the CPU: the same notebook run twice prints the same figures
    (times excepted) and the same exercise results. With COURSE_RERUN_REPORTS=a.json,b.json (``make
    determinism``: the whole course built twice) the two reports are compared instead of one notebook."""
    reports = os.environ.get("COURSE_RERUN_REPORTS")
    if reports:
        runs = []
        for report in reports.split(","):
            results = json.loads(Path(report).read_text(encoding="utf-8"))["results"]
            runs.append({f"{r['lang']}/{r['name']}": ([comparable(f) for f in r["figures"]],
                                                      [(c["name"], c["passed"]) for c in r["checks"]], r["errors"])
                         for r in results})
        assert any(run[0] for run in runs[0].values()), f"no figure in {reports.split(',')[0]}"
    else:
        path = NOTEBOOKS / "en" / "00_introduction.ipynb"  # 8 s alone; trains and prints 📊 figures
        runs = []
        for _ in range(2):
            nb, result = execute.run_notebook(path, "fast", threads=1)
            runs.append({path.stem: (key_lines(nb), [(c["name"], c["passed"]) for c in result.checks], result.errors)})
        assert runs[0][path.stem][0], "the notebook printed no figure to compare"
    diff = differences(*runs)
    assert not diff, "re-runs differ:\n" + "\n".join(diff)
