"""Grading: from the junit report of an nbval run to a per-exercise score table.

``python -m course_utils grade REPORT.xml NOTEBOOK... [--reference DIR]``

An exercise is its check cell. It passes when that cell is present and unchanged (its
fingerprint from the release, taken from ``--reference`` when given, otherwise from the
notebook's own metadata) and its nbval test passed. A deleted, edited or unrun check cell
counts as failed: under ``--nbval-lax`` a notebook whose check was replaced by ``pass``
would otherwise pass.
"""
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from . import notebooks as nbio
from .i18n import register, t

register({
    "grade.passed": {"ja": "合格", "en": "passed"},
    "grade.failed": {"ja": "不合格", "en": "failed"},
    "grade.altered": {"ja": "不合格 (チェックのセルが削除または変更されています)",
                      "en": "failed (the check cell was deleted or changed)"},
    "grade.not_run": {"ja": "不合格 (チェックのセルが実行されていません)", "en": "failed (the check cell did not run)"},
    "grade.not_release": {"ja": "{path} に演習の記録 (metadata.course.checks) がありません。配布版のノートブックですか? --reference で配布版を指定できます。",
                          "en": "{path} has no exercise record (metadata.course.checks): is it a released notebook? Point --reference at the release."},
    "grade.bad_report": {"ja": "{path} を junit XML として読めません: {error}", "en": "Cannot read {path} as junit XML: {error}"},
    "grade.header": {"ja": "| ノートブック | 演習 | 結果 | 点 |", "en": "| notebook | exercise | result | points |"},
    "grade.total": {"ja": "合計: {points} / {total} 点", "en": "Total: {points} / {total} points"},
    "grade.missing_file": {"ja": "ファイル {path} がありません。", "en": "File {path} not found."},
})


class GradeError(ValueError):
    """Input that cannot be graded; the message says why."""


@dataclass
class Result:
    notebook: str
    check: str
    passed: bool
    reason: str


def _key(path) -> tuple:
    """Notebooks are matched by their last two path parts (``ja/01_perceptron.ipynb``)."""
    return Path(path).parts[-2:]


def failure_reason(case) -> str:
    """The one-line reason of a failed check in a junit test case: the check's "✗ name: …" line and
    the line after it (the first line of the detail), else the failure's message."""
    for tag in ("failure", "error"):
        element = case.find(tag)
        if element is None:
            continue
        text = "\n".join(filter(None, [element.text or "", element.get("message") or ""]))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            at = line.find("✗ ")
            if at >= 0:
                detail = lines[i + 1] if i + 1 < len(lines) else ""
                return " ".join([line[at:], detail]).strip()[:300]
        return (lines[-1] if lines else "")[:300]
    return ""


def read_report(path, reasons: dict | None = None) -> dict:
    """``{(notebook key, cell id): outcome}`` plus ``(notebook key, "check:NAME")`` entries;
    ``reasons`` (a dict, optional) gets the one-line reason of each failure under the same keys."""
    if not Path(path).exists():
        raise GradeError(t("grade.missing_file", path=path))
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise GradeError(t("grade.bad_report", path=path, error=e)) from None
    outcomes = {}
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "notebook" not in props:
            continue
        bad = any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))
        outcome = "failed" if bad else "passed"
        key = _key(props["notebook"])
        reason = failure_reason(case) if bad else ""
        if props.get("cell_id"):
            outcomes[(key, props["cell_id"])] = outcome
            if reasons is not None:
                reasons[(key, props["cell_id"])] = reason
        if props.get("check"):
            outcomes.setdefault((key, "check:" + props["check"]), outcome)
            if reasons is not None:
                reasons.setdefault((key, "check:" + props["check"]), reason)
    return outcomes


def grade_notebook(path, outcomes: dict, reference=None, reasons: dict | None = None) -> list[Result]:
    path = Path(path)
    if not path.exists():
        raise GradeError(t("grade.missing_file", path=path))
    nb = nbio.read(path)
    record_from = nbio.read(reference) if reference else nb
    checks = record_from.get("metadata", {}).get("course", {}).get("checks")
    if checks is None:
        raise GradeError(t("grade.not_release", path=reference or path))
    cells = {c.get("id"): c for c in nb["cells"] if c["cell_type"] == "code"}
    by_print = {nbio.fingerprint(c): c for c in cells.values()}
    key, results = _key(path), []
    for check in checks:
        cell = cells.get(check["cell_id"])
        if cell is None or nbio.fingerprint(cell) != check["sha256"]:
            cell = by_print.get(check["sha256"])
        if cell is None:
            results.append(Result(path.name, check["check"], False, t("grade.altered")))
            continue
        outcome = outcomes.get((key, cell.get("id"))) or outcomes.get((key, "check:" + check["check"]))
        if outcome is None:
            results.append(Result(path.name, check["check"], False, t("grade.not_run")))
        else:
            passed = outcome == "passed"
            reason = t("grade.passed" if passed else "grade.failed")
            why = (reasons or {}).get((key, cell.get("id"))) or (reasons or {}).get((key, "check:" + check["check"]))
            if not passed and why:
                reason = f"{reason}: {why}"
            results.append(Result(path.name, check["check"], passed, reason))
    return results


def table(results: list[Result]) -> str:
    lines = [t("grade.header"), "|---|---|---|---|"]
    for r in results:
        reason = " ".join(r.reason.split()).replace("|", "\\|")
        lines.append(f"| {r.notebook} | `{r.check}` | {'✅' if r.passed else '❌'} {reason} | {int(r.passed)} / 1 |")
    lines.append("")
    lines.append(t("grade.total", points=sum(r.passed for r in results), total=len(results)))
    return "\n".join(lines)


def grade(report, notebooks, reference=None) -> tuple[str, bool]:
    """The Markdown table and whether everything passed."""
    reasons: dict = {}
    outcomes = read_report(report, reasons)
    results = []
    for path in notebooks:
        ref = Path(reference) / Path(path).name if reference else None
        results.extend(grade_notebook(path, outcomes, ref, reasons))
    return table(results), all(r.passed for r in results)
