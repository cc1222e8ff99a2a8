#!/usr/bin/env bash
# Run HERE (a machine with network), before benchmarks/gpu_run.sh is sent to the lent GPU machine.
#
# The lent NVIDIA H200 machine has no network and no uv: its python3 (3.12) already holds jax with the CUDA
# plugin, numpy, scipy, pandas, pyarrow, diffrax, equinox, lineax, optimistix, jaxtyping, pyyaml, cloudpickle,
# toolz and psutil (/work/.library/device/KINDS.md, "Python packages already there"). What the cohort benchmark
# imports beyond those travels as wheels, at this lock's versions for Python 3.12, in .whl/ (ignored by git;
# the device tool's `carry`). All are pure Python. The list was read off sys.modules after a benchmark run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .git/info
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
rm -rf .whl && mkdir .whl
uv export --frozen --no-hashes --no-dev --all-extras --no-emit-project | uv run --frozen python -c '
import sys
from packaging.requirements import Requirement
NEEDED = {"pint", "flexcache", "flexparser", "platformdirs", "dask", "partd", "locket", "tblib", "pytz"}
env = {"python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
       "platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64"}
pins = {}
for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith(("#", "-")):
        continue
    r = Requirement(line)
    if r.name.lower() in NEEDED and (r.marker is None or r.marker.evaluate(env)):
        pins[r.name.lower()] = f"{r.name}{r.specifier}"
missing = NEEDED - set(pins)
if missing:
    sys.exit(f"gpu_wheels.sh: not in uv.lock for Python 3.12: {sorted(missing)}")
print("\n".join(sorted(pins.values())))
' >.whl/requirements.txt
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_17_x86_64 --platform any -d .whl -r .whl/requirements.txt
ls .whl
du -sh .whl
