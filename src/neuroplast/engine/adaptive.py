"""diffrax's adaptive solvers as engines: :class:`Tsit5` (explicit, the reference) and :class:`Kvaerno5`
(implicit). Every infusion start and stop is a jump time of the step-size controller (doses are
discontinuities; nothing is smoothed)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import NeuroplastInputError, PatientStatus
from ..cohort import Cohort
from ..model import Model
from ..parameters import PopulationModel
from ..regimen import Regimen
from ..scales.pk.antidepressants import SHORT
from . import kernels
from .base import Engine, Simulation, bucket, check_batch, run_batches

WINDOW_MIN_EVENTS = 32
"""Event tables longer than this are read through a moving window (see :func:`event_window`)."""


@dataclasses.dataclass(frozen=True)
class _Adaptive(Engine):
    """An adaptive diffrax solver with a PID step-size controller that stops at every infusion start/stop.

    Tolerances are relative/absolute on states whose scale is ~1 (signalling, spines, mood) or ~1-100 umol
    (drug amounts). ``max_steps``: a patient needing more is flagged ``solver_failed``."""

    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 200_000
    batch: int | None = None

    def __post_init__(self):
        check_batch(self)
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v < 1):
                raise NeuroplastInputError("must be a number in (0, 1)", field=f"engine.{name}", value=v)
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise NeuroplastInputError(
                "must be a positive whole number", field="engine.max_steps", value=self.max_steps
            )

    def own_batch(self) -> int:
        return 256

    def run(
        self,
        model: PopulationModel,
        regimen: Regimen,
        cohort: Cohort,
        ts: np.ndarray,
        progress: Callable[[int], None] | None = None,
    ) -> Simulation:
        n = len(cohort)
        # Fixed shapes -> one compilation: pad events to a power of two (few shapes for long daily regimens),
        # times to a multiple of 64.
        n_ev = max(8, 1 << (len(regimen.events) - 1).bit_length())
        t_pad = bucket(ts.size, 64)
        ts_p = np.concatenate([ts, np.full(t_pad - ts.size, ts[-1])])
        session_h = model.quantity("session_min", "h")
        jumps = regimen.discontinuities(session_h)
        jumps = np.concatenate([jumps, np.full(bucket(jumps.size, 16) - jumps.size, 1e12)])
        t1 = float(ts[-1]) if ts[-1] > 0 else 1e-6
        lookback, k = event_window(regimen, model, n_ev)
        method = type(self).__name__.lower()

        def args(ind, events):
            # t1 and the tolerances go in as arrays (traced), so a new end time or tolerance does not recompile
            dynamic = (ind, events, jnp.asarray(ts_p), jnp.asarray(jumps), jnp.asarray(t1), jnp.asarray(self.rtol),
                       jnp.asarray(self.atol), jnp.asarray(lookback))  # fmt: skip
            return "solve_batch", dynamic, (method, self.max_steps, k), kernels.compile_options()

        def solve(ind, events):
            name, dynamic, static, options = args(ind, events)
            return kernels.call(name, _solve_batch, dynamic, static, options)

        return run_batches(model, regimen, cohort, ts, self.batch_size(n), n_ev, solve, progress,
                           warm=lambda ind, events: kernels.ran(*args(ind, events)))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Tsit5(_Adaptive):
    """Tsitouras' explicit 5(4) Runge-Kutta pair (diffrax.Tsit5): the reference engine."""


@dataclasses.dataclass(frozen=True)
class Kvaerno5(_Adaptive):
    """Kværnø's implicit ESDIRK 5(4) (diffrax.Kvaerno5), for stiff variants of the model."""


_SOLVERS = {"tsit5": diffrax.Tsit5, "kvaerno5": diffrax.Kvaerno5}


def event_window(regimen: Regimen, model: PopulationModel, n_ev: int) -> tuple[float, int | None]:
    """``(lookback_h, k)``: at time ``t`` only the ``k`` event rows from the first that starts after
    ``t - lookback_h`` can contribute, so the right-hand side reads those instead of the whole table.

    An event contributes while it runs (infusion, session, the clinic's minimum session) and, through a
    first-order depot, for ``exp(-ka (t - end))`` after it (``ka_min``: the slowest absorption among the regimen's
    extravascular doses, at the typical value; between-patient variability does not touch the ka's):
    ``45 / ka_min`` hours later that factor is
    e^-45 ~ 3e-20, far below float64 rounding of the sum. ``k`` (a power of two, >= 8) is checked here
    against every dose time of the regimen, so no window ever misses a live event; ``k = None`` (read the
    whole table) for tables of at most :data:`WINDOW_MIN_EVENTS` rows, where a window saves nothing
    (and those regimens, the ketamine trials, keep their results bit for bit).
    """
    events = regimen.events
    if n_ev <= WINDOW_MIN_EVENTS or not events:
        return 0.0, None
    ka_min = min((_absorption_rate(d, model) for d in regimen.doses if d.route != "iv"), default=math.inf)
    d_max = max(max(e.duration_h for e in events), model.quantity("session_min", "h"))
    lookback = (45.0 / ka_min if math.isfinite(ka_min) else 0.0) + d_max
    starts = np.array([e.time_h for e in events])  # sorted: the regimen keeps its events in time order
    live = np.arange(starts.size) - np.searchsorted(starts, starts - lookback) + 1  # starts in [t_i - lookback, t_i]
    k = max(8, 1 << int(live.max() - 1).bit_length())
    return (lookback, k) if k < n_ev else (0.0, None)


def _absorption_rate(dose, model: PopulationModel) -> float:
    """The typical absorption rate constant (1/h) of an extravascular dose: its drug's own (the oral
    antidepressants'), else its route's (as :meth:`neuroplast.scales.pk.Absorption.rate_constants`)."""
    short = SHORT.get(dose.drug)
    return model.quantity(f"ka_{short}" if short else f"ka_{dose.route}", "1/h")


def _window(events, t, lookback, k):
    """The ``k`` rows of the start-sorted event table from the first that starts at or after ``t - lookback``."""
    i0 = jnp.clip(jnp.searchsorted(events[:, 0], t - lookback), 0, events.shape[0] - k)
    return jax.lax.dynamic_slice_in_dim(events, i0, k, axis=0)


def _solve_one(model: Model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k):
    table = model.input_table(events)  # what depends only on the events, worked out once per solve
    if k is None:
        term = diffrax.ODETerm(lambda t, y, args: model.rhs(t, y, args))
    else:
        term = diffrax.ODETerm(lambda t, y, args: model.rhs(t, y, _window(args, t, lookback, k)))
    controller = diffrax.ClipStepSizeController(diffrax.PIDController(rtol=rtol, atol=atol), jump_ts=jump_ts)
    sol = diffrax.diffeqsolve(term, _SOLVERS[method](), t0=0.0, t1=t1, dt0=1.0 / 60.0, y0=model.initial_state(),
                              args=table, saveat=diffrax.SaveAt(ts=ts), stepsize_controller=controller,
                              max_steps=max_steps, throw=False)  # fmt: skip
    ys = sol.ys
    ok = sol.result == diffrax.RESULTS.successful
    finite = jnp.all(jnp.isfinite(ys))
    status = jnp.where(ok, jnp.where(finite, PatientStatus.ok, PatientStatus.non_finite), PatientStatus.solver_failed)
    return ys, model.readouts(ys), status


@eqx.filter_jit
def _solve_batch(model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k):
    return jax.vmap(_solve_one, in_axes=(0, 0, None, None, None, None, None, None, None, None, None))(
        model, events, ts, jump_ts, t1, rtol, atol, lookback, method, max_steps, k
    )
