"""Two ways to run a ``neuroplast`` command in a test.

:func:`cli` starts a real process (``python -m neuroplast.cli``): what a user runs, at the price of importing JAX and
loading the compiled kernels again (3-10 s on these 2 cores before the command starts). Keep it for what only a
process shows: the exit status the shell sees, file modes under the umask, the process tuning, the kernel store.

:func:`invoke` runs the command's own code in this process (typer's runner: its exit code, stdout and stderr),
with the process already tuned by ``conftest.py``, which also points it at the CLI's kernel store: kernels compiled
here serve the real processes and the other workers, and the other way round.
"""

from __future__ import annotations

import subprocess
import sys
from unittest import mock


def cli(*args, cwd=None, timeout=900) -> subprocess.CompletedProcess:
    """``neuroplast ARGS`` in a fresh process: ``returncode``, ``stdout``, ``stderr``."""
    return subprocess.run(
        [sys.executable, "-m", "neuroplast.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def invoke(*args):
    """``neuroplast ARGS`` in this process: typer's ``Result`` (``exit_code``, ``stdout``, ``stderr``). The command's
    ``_setup`` (process tuning, the kernel store) is skipped: conftest.py did both for the test process."""
    from typer.testing import CliRunner

    from neuroplast import cli as cli_module

    with mock.patch.object(cli_module, "_setup", lambda: None):
        return CliRunner().invoke(cli_module.app, [str(a) for a in args])
