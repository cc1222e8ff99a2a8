"""glibc's malloc kept from handing large buffers back to the kernel between batches (Linux only).

A cohort run allocates the same large buffers over and over: each batch's compiled kernel writes its saved
states and read-outs (~12 MB for 64 patients at 6-hourly saves over 12 weeks) into fresh buffers, and each run
its cohort's arrays. glibc serves those from ``mmap`` and returns them on ``free`` (or trims its heaps), so the
next batch faults every page in again and the kernel zeroes it: ~22,000 page faults per 768-patient run, 10-15 %
of the fast engine's CPU time (docs/scale.md). :func:`keep_freed_memory` makes glibc keep and reuse them: one
arena (XLA's and the batch threads' allocations share the main heap, which can grow; a thread's arena is capped
at 64 MB and would still map large buffers), buffers below 256 MB from the heap, and up to 512 MB of freed heap
kept rather than trimmed. The price is that a process keeps up to that much freed memory after a large run.

Called at ``import neuroplast``. Any of ``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` in the environment, or a ``GLIBC_TUNABLES`` that sets ``glibc.malloc``, means the
user has chosen: nothing is changed. Neither is anything on a C library other than glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's <malloc.h>
SETTINGS = {M_ARENA_MAX: 1, M_MMAP_THRESHOLD: 256 * 2**20, M_TRIM_THRESHOLD: 512 * 2**20}
USER_CHOICE = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Apply :data:`SETTINGS` with glibc's ``mallopt``; ``True`` if they were applied."""
    if not sys.platform.startswith("linux") or any(v in os.environ for v in USER_CHOICE):
        return False
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc only (musl has mallopt but not these semantics)
        return False
    return all(libc.mallopt(k, v) == 1 for k, v in SETTINGS.items())
