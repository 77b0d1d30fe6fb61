"""Reading and writing notebooks safely, and finding exercise cells in them."""
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

CHECK_CALL = re.compile(r"\bcu\.checks\.(\w+)\(")
LANG_ARG = re.compile(r"""setup\(\s*lang\s*=\s*["'](ja|en)["']""")


def read(path) -> dict:
    """A notebook as a plain dict with every cell source joined into one string."""
    import nbformat

    with open(path, encoding="utf-8") as f:
        return json.loads(json.dumps(nbformat.read(f, as_version=4)))


def dumps(nb: dict) -> str:
    """The notebook as nbformat writes it (sources as lists of lines, stable key order)."""
    import nbformat

    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def write_atomically(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file.

    The file gets the permissions a plain ``open(path, "w")`` would give (the umask's), not the
    temporary file's private 0600, so a shared JupyterHub folder can read it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def check_name(cell: dict):
    """The exercise check a code cell calls (``cu.checks.NAME(``), or None."""
    if cell.get("cell_type") != "code":
        return None
    match = CHECK_CALL.search(source(cell))
    return match.group(1) if match else None


def fingerprint(cell: dict) -> str:
    """SHA-256 of a cell's source with trailing spaces and blank edges ignored."""
    lines = [line.rstrip() for line in source(cell).strip().splitlines()]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def language(nb: dict) -> str:
    for cell in nb.get("cells", []):
        match = LANG_ARG.search(source(cell))
        if match:
            return match.group(1)
    return "en"
