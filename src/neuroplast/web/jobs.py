"""Trial jobs: run ``workflows.run_trial_to_dir`` in a background thread, one at a time.

Progress comes from the library's own ``progress(k)`` callback (called after each batch of
patients); the same callback enforces the run-time limit and stops work when the server shuts
down, by raising, so a job never outlives its limit by more than one batch.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import NeuroplastInputError

if TYPE_CHECKING:
    from ..trials import TrialSpec

log = logging.getLogger("neuroplast.web")


class Busy(Exception):
    """Too many trials are queued."""


class _Stop(Exception):
    """Raised from the progress callback: run-time limit reached or server shutting down."""


@dataclasses.dataclass
class Job:
    id: str
    spec: TrialSpec  # validated
    n_per_arm: int
    seed: int
    allow_high_dose: bool
    total: int
    dir: Path
    state: str = "queued"  # queued | running | done | failed
    done: int = 0
    message: str = "waiting for the previous trial to finish"
    error: str | None = None
    summary: dict | None = None
    published: list | None = None

    def status(self) -> dict:
        t = self.spec.trial
        arms = [{"name": a.name, "doses": [d.model_dump(exclude_none=True) for d in a.dose]} for a in self.spec.arm]
        base = f"/api/trials/{self.id}"
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "fraction": (1.0 if self.state == "done" else min(self.done / self.total, 1.0)) if self.total else 0.0,
            "message": self.message,
            "error": self.error,
            "trial": {
                "id": t.id,
                "title": t.title,
                "population": t.population,
                "scale": t.scale,
                "n_per_arm": self.n_per_arm,
                "seed": self.seed,
                "timepoints": list(t.endpoints.timepoints),
                "arms": arms,
            },
            "summary": self.summary,
            "published": self.published,
            "downloads": (
                {"summary": f"{base}/summary.json", "report": f"{base}/report.html"} if self.state == "done" else {}
            ),
        }


class JobManager:
    def __init__(self, *, timeout_s: float, max_queued: int, keep: int):
        self.timeout_s, self.max_queued, self.keep = timeout_s, max_queued, keep
        self.root = Path(tempfile.mkdtemp(prefix="neuroplast-web-"))
        self.jobs: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuroplast-trial")

    def submit(self, spec, *, n_per_arm: int, seed: int, allow_high_dose: bool) -> Job:
        with self._lock:
            waiting = sum(j.state in ("queued", "running") for j in self.jobs.values())
            if waiting >= self.max_queued:
                raise Busy(f"{waiting} trials are already queued or running (this server's limit); try again later")
            self._evict()
            jid = uuid.uuid4().hex
            job = Job(jid, spec, n_per_arm, seed, allow_high_dose, n_per_arm * len(spec.arm), self.root / jid)
            self.jobs[jid] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, jid: str) -> Job | None:
        return self.jobs.get(jid)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _evict(self) -> None:
        finished = [k for k, j in self.jobs.items() if j.state in ("done", "failed")]
        for k in finished[: max(len(self.jobs) + 1 - self.keep, 0)]:
            shutil.rmtree(self.jobs.pop(k).dir, ignore_errors=True)

    def _run(self, job: Job) -> None:
        from ..workflows import run_trial_to_dir

        if self._closed.is_set():
            job.state, job.error, job.message = "failed", "the server is shutting down", ""
            return
        job.state, job.message = "running", "simulating patients"
        start = time.monotonic()

        def tick(k: int) -> None:
            if self._closed.is_set():
                raise _Stop("the server is shutting down")
            job.done += k
            if time.monotonic() - start > self.timeout_s:
                raise _Stop(f"the trial ran longer than this server's limit of {self.timeout_s:g} s; lower n_per_arm")
            if job.done >= job.total:
                job.message = "writing summary.json and the report"

        try:
            run_trial_to_dir(
                job.spec,
                job.dir,
                n_per_arm=job.n_per_arm,
                seed=job.seed,
                allow_high_dose=job.allow_high_dose,
                progress=tick,
            )
            job.summary = json.loads((job.dir / "summary.json").read_text())
            job.published = json.loads((job.dir / "published.json").read_text())
            job.state, job.message = "done", "finished"
        except NeuroplastInputError as exc:
            job.state, job.error, job.message = "failed", exc.one_line(), ""
        except _Stop as exc:
            job.state, job.error, job.message = "failed", str(exc), ""
        except Exception as exc:  # a bug, not bad input: keep serving, say what failed, log the traceback
            log.exception("trial %s failed", job.id)
            job.state, job.error, job.message = "failed", f"the run failed: {type(exc).__name__}: {exc}", ""
