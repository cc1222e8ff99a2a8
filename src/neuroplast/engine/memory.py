"""glibc's malloc kept from handing large buffers back to the kernel between batches (Linux only).

A cohort run allocates the same large buffers over and over: each batch's compiled kernel writes its saved
states and read-outs (~12 MB for 64 patients at 6-hourly saves over 12 weeks) into fresh buffers, and each run
its cohort's arrays. glibc serves those from ``mmap`` and returns them on ``free`` (or trims its heaps), so the
next batch faults every page in again and the kernel zeroes it: ~22,000 page faults per 768-patient run, 10-15 %
of the fast engine's CPU time (docs/scale.md). :func:`keep_freed_memory` makes glibc keep and reuse them: one
arena (XLA's and the batch threads' allocations share the main heap, which can grow; a thread's arena is capped
at 64 MB and would still map large buffers), buffers below 256 MB from the heap, and up to 512 MB of freed heap
kept rather than trimmed. The price is that a process keeps up to that much freed memory after a large run.

Large result arrays go further: :func:`empty` (the cohort's states, read-outs and status, ``run_batches``) hands
out arrays of at least :data:`POOL_MIN_BYTES` from a pool of mappings that earlier arrays have left, so that a
10,000-patient run (1.1 GB of states) does not fault in and zero its pages again on every run: ~0.8 s of system
time per 3.3 s run on two cores (docs/scale.md). A mapping returns to the pool when its array and every view of
it are gone; the pool holds at most :func:`pool_max_bytes` (an eighth of the machine's memory), in use or free.

Called at ``import neuroplast``. Any of ``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` in the environment, or a ``GLIBC_TUNABLES`` that sets ``glibc.malloc``, means the
user has chosen: nothing is changed. Neither is anything on a C library other than glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import mmap
import os
import sys
import threading
import weakref

import numpy as np

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


POOL_MIN_BYTES = 64 * 2**20
"""Arrays from :func:`empty` at least this large come from the pool; smaller ones are ordinary (glibc's heap keeps
and reuses those: :data:`SETTINGS`)."""


def pool_max_bytes() -> int:
    """The pool's bound: an eighth of the machine's memory (2 GiB where that is unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 8
    except (AttributeError, ValueError, OSError):
        return 2 * 2**30


class _Pool:
    """Anonymous mappings, each lent to one array at a time (its ``base``, which every view of it keeps alive), and
    taken back by a finalizer when the array and its views are gone."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.free: list[mmap.mmap] = []
        self.lent = 0  # bytes lent out
        self.lock = threading.RLock()  # a finalizer may run inside empty() (a garbage collection there)

    def empty(self, shape, dtype) -> np.ndarray:
        shape, dtype = tuple(int(d) for d in shape), np.dtype(dtype)
        need = math.prod(shape) * dtype.itemsize
        if need < POOL_MIN_BYTES:
            return np.empty(shape, dtype)
        with self.lock:
            buf = next((b for b in self.free if len(b) == need), None)
            if buf is not None:
                self.free.remove(buf)
            else:
                while self.free and self.held() + need > self.max_bytes:  # the oldest free mapping goes first
                    self.free.pop(0).close()
                if self.held() + need > self.max_bytes:
                    return np.empty(shape, dtype)  # beyond the bound: an ordinary array
                buf = mmap.mmap(-1, need)
            self.lent += need
        arr = np.ndarray(shape, dtype, buffer=buf)  # base: the mapping, so every view of arr keeps arr alive
        weakref.finalize(arr, self._take_back, buf).atexit = False
        return arr

    def held(self) -> int:
        return self.lent + sum(len(b) for b in self.free)

    def _take_back(self, buf: mmap.mmap) -> None:
        with self.lock:
            self.lent -= len(buf)
            self.free.append(buf)


POOL = _Pool(pool_max_bytes())


def empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``; one of at least :data:`POOL_MIN_BYTES` reuses the pages of an earlier array of
    the same size that is gone (:data:`POOL`: no page faults, no zeroing by the kernel)."""
    return POOL.empty(shape, dtype)
