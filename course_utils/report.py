"""The report of a course build (``make course``): ``report.md``, ``report.json`` and ``html/index.html``.

:func:`report_markdown` is a summary table (status, run time, checks passed, key figures of every
notebook) followed by one section per notebook (device, slowest cells, figures, each check,
errors); :func:`write_report` writes the three files atomically. The results are the dicts of
:class:`course_utils.execute.Result`.
"""
from __future__ import annotations

import html
import json
import os
import platform
from pathlib import Path

from .execute import LANGS
from .notebooks import write_atomically


def machine() -> dict:
    info = {"host": platform.node(), "os": f"{platform.system()} {platform.release()}",
            "cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def checks_summary(checks) -> str:
    if not checks:
        return "–"
    passed = sum(c["passed"] for c in checks)
    return f"{passed}/{len(checks)}"


def report_markdown(results, mode: str, langs, started: str, seconds: float, jobs: int = 1) -> str:
    """``build/report.md``: a summary table, then per notebook its figures, checks and errors."""
    results = sorted(results, key=lambda r: (LANGS.index(r["lang"]) if r["lang"] in LANGS else 9, r["name"]))
    failed = [r for r in results if not r["ok"]]
    envs = {(r["env"].get("device", "?"), r["env"].get("torch", "?")) for r in results if r["env"]}
    host = machine()
    lines = [
        "# Course build report",
        "",
        f"- mode: **{mode}** (`COURSE_FAST={'1' if mode == 'fast' else '0'}`), languages: {', '.join(langs)}, "
        f"jobs: {jobs}",
        f"- started: {started}, wall time: {seconds:.0f} s",
        f"- machine: {host['cpu']}, {host['cpus']} CPUs, {host['os']}, Python {platform.python_version()}",
    ]
    for device, torch in sorted(envs):
        lines.append(f"- device: {device}, torch {torch}")
    lines += [
        f"- result: **{len(results) - len(failed)}/{len(results)} notebooks passed**",
        f"- reproduce: `make course COURSE_LANG={'all' if len(langs) > 1 else langs[0]} MODE={mode}`",
        "",
        "| notebook | status | time (s) | checks | key figures |",
        "|---|---|---:|---:|---|",
    ]
    for r in results:
        status = "✅ pass" if r["ok"] else "❌ FAIL"
        figures = "<br>".join(_cell(f) for f in r["figures"]) or "–"
        link = f"[{r['lang']}/{r['name']}]({r['html']})" if r["html"] else f"{r['lang']}/{r['name']}"
        lines.append(f"| {link} | {status} | {r['seconds']:.1f} | {checks_summary(r['checks'])} | {figures} |")
    for r in results:
        lines += ["", f"## {r['lang']}/{r['name']} — {'pass' if r['ok'] else 'FAIL'}, {r['seconds']:.1f} s", ""]
        env = r["env"]
        if env:
            lines.append(f"- device: {env.get('device', '?')}, torch {env.get('torch', '?')}, "
                         f"numpy {env.get('numpy', '?')}, Python {env.get('python', '?')}")
        if r["slowest"]:
            lines.append("- slowest cells: " + ", ".join(f"#{i} {s:.1f} s" for i, s in r["slowest"]))
        if r["figures"]:
            lines.append("- key figures:")
            lines += [f"  - {f}" for f in r["figures"]]
        if r["checks"]:
            lines.append("- checks:")
            for c in r["checks"]:
                mark = "✓" if c["passed"] else "✗"
                detail = f" — {c['message']}" if c["message"] else ""
                lines.append(f"  - {mark} `{c['name']}` (cell {c['cell']}){detail}")
        if r["errors"]:
            lines.append("- errors:")
            lines += [f"  - {e}" for e in r["errors"]]
    return "\n".join(lines) + "\n"


def index_html(results) -> str:
    rows = []
    for r in sorted(results, key=lambda r: (r["lang"], r["name"])):
        if r["html"]:
            href = html.escape(str(Path(r["html"]).relative_to("html")))
            status = "pass" if r["ok"] else "FAIL"
            rows.append(f"<li><a href=\"{href}\">{html.escape(r['lang'] + '/' + r['name'])}</a> ({status})</li>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>深層学習による画像認識 / "
            "Deep Learning for Image Recognition</title></head><body><h1>深層学習による画像認識 / "
            "Deep Learning for Image Recognition</h1><ul>" + "".join(rows) + "</ul></body></html>\n")


def write_report(out, results, mode: str, langs, started: str, seconds: float, jobs: int = 1) -> Path:
    """Write ``report.md``, ``report.json`` and ``html/index.html`` under ``out``; returns the report.md path."""
    out = Path(out)
    write_atomically(out / "report.md", report_markdown(results, mode, langs, started, seconds, jobs))
    write_atomically(out / "report.json", json.dumps({"mode": mode, "langs": langs, "started": started,
                                                      "seconds": round(seconds, 1), "machine": machine(),
                                                      "results": results}, ensure_ascii=False, indent=1) + "\n")
    write_atomically(out / "html" / "index.html", index_html(results))
    return out / "report.md"
