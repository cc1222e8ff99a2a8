"""Regenerate the golden ``summary.json`` files checked by ``tests/test_golden.py``.

Run it only when a change is *meant* to alter trial results (a model, a parameter, a statistic), and
say so in the commit: the golden files are the oracle that a refactor leaves every summary unchanged.

    uv run python tests/golden/regenerate.py            # every shipped example and the demo
    uv run python tests/golden/regenerate.py demo       # only the examples whose name contains "demo"

Each example runs the way ``neuroplast trial`` runs it (``load_spec`` -> ``run_trial`` with the default
model and solver, the spec's own seed) at ``N_PER_ARM`` patients per arm, and its summary is written by
the same writer as ``summary.json`` (``io.write_json``) to ``tests/golden/<example>.summary.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
N_PER_ARM = 16  # small, but every arm, visit, contrast, relapse and safety key is still produced


def examples() -> dict[str, Path]:
    """Name -> spec path of every shipped example (``examples/*.toml``) and the demo spec."""
    from neuroplast.workflows import DEMO_SPEC

    paths = sorted((ROOT / "examples").glob("*.toml")) + [DEMO_SPEC]
    return {p.stem: p for p in paths}


def golden_path(name: str) -> Path:
    return HERE / f"{name}.summary.json"


def run(path: Path):
    """The trial that ``neuroplast trial <path> --n-per-arm N_PER_ARM`` runs (its ``TrialResult``)."""
    from neuroplast.trials import load_spec, run_trial

    return run_trial(load_spec(path), n_per_arm=N_PER_ARM)


def summary_json(path: Path, result=None) -> dict:
    """The ``summary.json`` that ``neuroplast trial <path> --n-per-arm N_PER_ARM`` writes, read back (of ``result``
    when given: :func:`run`'s, so a test can check the run itself too)."""
    from neuroplast.io import write_json

    result = run(path) if result is None else result
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "summary.json"
        write_json(out, result.summary)
        return json.loads(out.read_text())


def main(argv: list[str]) -> None:
    from neuroplast.engine import configure

    configure()  # as the CLI does (and tests/conftest.py): float64, XLA's CPU options
    for name, path in examples().items():
        if argv and not any(a in name for a in argv):
            continue
        golden_path(name).write_text(json.dumps(summary_json(path), indent=1) + "\n")
        print(f"wrote {golden_path(name).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
