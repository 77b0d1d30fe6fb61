"""FAST-mode run time of every notebook, one after the other (``COURSE_FAST=1``).

Executes with the executor of ``make course`` (:mod:`course_utils.execute`: nbclient, errors recorded per cell,
each notebook in a fresh kernel, working directory = the notebook's folder) and writes
nothing: the executed notebooks are thrown away. ``run(quick=True)`` times the Japanese
notebooks only (the English ones run the same code cells).
"""
import os
import sys

from course_utils.execute import find_notebooks, run_notebook


def run(quick: bool = False, langs=None) -> str:
    langs = list(langs or (["ja"] if quick else ["ja", "en"]))
    paths = find_notebooks(langs)
    lines = ["## Notebooks in FAST mode", ""]
    if not paths:
        return "\n".join(lines + ["No notebooks found.", ""])
    times, failed = {}, []
    for path in paths:
        print(f"  notebook {path.parent.name}/{path.name} ...", file=sys.stderr, flush=True)
        _, result = run_notebook(path, mode="fast")
        times[(result.name, result.lang)] = result
        if not result.ok:
            failed.append(f"{result.lang}/{result.name}: {result.errors[0]}")
    names = sorted({name for name, _ in times})
    lines += [f"Each notebook executed top to bottom in a fresh kernel with `COURSE_FAST=1` "
              f"(nbclient, as `make course` does), one at a time; {os.cpu_count()} logical cores. "
              "Seconds include the kernel start (about 1–3 s).", "",
              "| notebook | " + " | ".join(f"{lang} (s)" for lang in langs) + " |",
              "|---|" + "---:|" * len(langs)]
    for name in names:
        cells = []
        for lang in langs:
            r = times.get((name, lang))
            cells.append("–" if r is None else f"{r.seconds:.1f}" + ("" if r.ok else " ✗"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [sum(r.seconds for (_, lang), r in times.items() if lang == want) for want in langs]
    lines.append("| **total** | " + " | ".join(f"**{t:.0f}**" for t in totals) + " |")
    if failed:
        lines += ["", "✗ failed (time up to the end of the run; errors recorded, later cells still ran):"]
        lines += [f"- {f}" for f in failed]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
