"""Output writers. Everything a command writes goes to a fresh temporary folder next to
``--out`` and is moved into place only when the whole run succeeded: nothing half-written."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pydantic

from .._errors import NeuroplastInputError
from .._files import default_mode


@contextlib.contextmanager
def atomic_output_dir(out: str | Path):
    """Yield a temporary folder; on success move its files into ``out`` (created if needed)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NeuroplastInputError("--out exists and is not a folder", field="--out", value=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, default_mode(directory=True))  # mkdtemp's folder is 0700: the output folder is as any other
        if not out.exists():
            os.replace(tmp, out)
            return
        for item in tmp.iterdir():
            target = out / item.name
            if target.is_dir() and not item.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean(x):
    """JSON-safe: numpy scalars to Python, NaN/inf to null; a pydantic document (e.g. ``trials.TrialSummary``) as
    its JSON form, with the optional fields that were never set left out, as a dict would leave out the key."""
    if isinstance(x, pydantic.BaseModel):
        return _clean(x.model_dump(mode="json", exclude_unset=True))
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_json(path: str | Path, data) -> None:
    Path(path).write_text(json.dumps(_clean(data), indent=1) + "\n")


def write_parquet(path: str | Path, df) -> None:
    df.to_parquet(path, index=False)


def write_netcdf(path: str | Path, ds) -> None:
    """netCDF-4 via h5netcdf, float variables compressed."""
    enc = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind == "f"}
    ds.to_netcdf(path, engine="h5netcdf", encoding=enc)
