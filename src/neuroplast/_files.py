"""Files written atomically with the permissions of any other output (the user's umask, not mkstemp's 0600)."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path


@functools.cache
def _umask() -> int:
    """The process's umask, read once (reading it means setting it for a moment: not again per file, where a
    server's other threads could create files meanwhile)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def default_mode(directory: bool = False) -> int:
    """What ``open()`` or ``mkdir()`` would give a new file or folder under the process's umask."""
    return (0o777 if directory else 0o666) & ~_umask()


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed when complete (nothing half-written),
    with the mode an ordinary write would have given it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding) as f:
            f.write(text)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
