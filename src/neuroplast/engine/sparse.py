"""Solves with ``W = I - c J`` for a Jacobian ``J`` of known sparsity, patient by patient, patient axis last.

The fast engine's non-PK block is small and sparse (the default model: 12 states, 26 non-zeros, and no
feedback loop once the states are taken in the right order: receptors → signalling → synapses → mood).
Rather than invert ``W`` (Gauss-Jordan, ``2 n^3`` per patient, whenever the step length changes), the
engine factors it by LU *without pivoting* along a static elimination plan worked out once on the host
from the sparsity pattern: the states in a topological order of the dependency graph where it has no
cycle (then ``L`` is ``W``'s own lower part and ``U`` its diagonal: no fill-in), the model's order
otherwise (with the fill-in the elimination creates). Every value is a vector over patients, so the
factor and the solves are a few dozen vectorised operations, unrolled, cheap enough to redo at every
step. No pivoting, as before (:mod:`neuroplast.engine.fast`): ``W``'s diagonal is ``>= 1`` wherever the
states decay.

A ``J`` with a non-zero outside the pattern is solved as if the entry were zero: ROS2 is a W-method, of
second order with any matrix in place of the Jacobian, so only stiff stability could suffer. The pattern is
read off the model's Jacobians at the engine's probe points (random states around the initial one, and the
initial states: :func:`pattern_of`); tests check it against Jacobians along trajectories.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np


def pattern_of(jacobians: np.ndarray) -> np.ndarray:
    """The non-zeros (n, n) of any of ``jacobians`` (k, n, n) (a NaN counts as non-zero)."""
    return np.any(np.asarray(jacobians) != 0.0, axis=0)


def topological_order(pattern: np.ndarray) -> np.ndarray | None:
    """An order of the states in which each depends only on itself and earlier ones (``pattern[i, j]``: state
    ``i``'s derivative reads state ``j``), or ``None`` if the dependency graph has a cycle. Kahn's algorithm,
    taking the lowest-numbered ready state first (the model's own order where it already fits)."""
    n = pattern.shape[0]
    deps = pattern & ~np.eye(n, dtype=bool)
    done = np.zeros(n, bool)
    order = []
    for _ in range(n):
        ready = np.flatnonzero(~done & ~np.any(deps & ~done[None, :], axis=1))
        if ready.size == 0:
            return None
        order.append(int(ready[0]))
        done[ready[0]] = True
    return np.asarray(order)


class Plan(NamedTuple):
    """A static LU plan: ``order`` (states in elimination order), ``entries`` (the Jacobian's pattern, as
    ``(i, j)`` in the model's numbering: what the engine stores), ``lu`` (the factors' non-zeros after
    fill-in, in elimination numbering), ``colors`` (a group per column such that no two columns of a group
    share a row: the Jacobian's entries come from one directional derivative per group, Curtis, Powell and
    Reid 1974, not one per state). Plain tuples: a static argument of the compiled kernel."""

    order: tuple
    entries: tuple
    lu: tuple
    colors: tuple

    @classmethod
    def of(cls, pattern: np.ndarray) -> Plan:
        """The plan for the Jacobians with non-zeros ``pattern`` (n, n bool; the diagonal is always kept)."""
        n = pattern.shape[0]
        pattern = np.asarray(pattern, bool) | np.eye(n, dtype=bool)
        order = topological_order(pattern)
        order = np.arange(n) if order is None else order
        p = pattern[np.ix_(order, order)].copy()
        for k in range(n):  # symbolic elimination: the fill-in
            rows, cols = np.flatnonzero(p[k + 1 :, k]) + k + 1, np.flatnonzero(p[k, k + 1 :]) + k + 1
            p[np.ix_(rows, cols)] = True
        entries = tuple((int(i), int(j)) for i, j in zip(*np.nonzero(pattern)))
        lu = tuple((int(i), int(j)) for i, j in zip(*np.nonzero(p)))
        colors = np.zeros(n, dtype=int)  # greedy: each column the first group none of whose columns shares a row
        for j in range(n):
            taken = {int(colors[k]) for k in range(j) if np.any(pattern[:, k] & pattern[:, j])}
            colors[j] = next(g for g in range(n) if g not in taken)
        return cls(tuple(int(i) for i in order), entries, lu, tuple(int(c) for c in colors))

    def seeds(self) -> np.ndarray:
        """The directions (groups, n) whose derivatives give every entry: :meth:`entries_of`."""
        colors = np.asarray(self.colors)
        return (colors[None, :] == np.arange(colors.max() + 1)[:, None]).astype(float)

    def entries_of(self, compressed):
        """The Jacobian's entries (nnz, ...) from its derivatives along :meth:`seeds` (groups, n, ...)."""
        i, j = (np.asarray(v) for v in zip(*self.entries))
        return compressed[np.asarray(self.colors)[j], i]

    @property
    def fill(self) -> int:
        """Non-zeros the elimination adds (0 when the states have a topological order)."""
        return len(self.lu) - len(self.entries)

    def factor(self, jac_entries, c):
        """LU of ``W = I - c J`` from ``jac_entries`` (one vector over patients per entry of :attr:`entries`):
        a dict ``(i, j) -> vector`` in elimination numbering (``L`` unit lower, below the diagonal)."""
        pos = {s: k for k, s in enumerate(self.order)}
        n = len(self.order)
        zero = jac_entries[0] * 0.0
        a = {ij: zero for ij in self.lu}
        for k in range(n):
            a[k, k] = zero + 1.0
        for (i, j), v in zip(self.entries, jac_entries):
            a[pos[i], pos[j]] = a[pos[i], pos[j]] - c * v
        for k in range(n):
            below = [i for i in range(k + 1, n) if (i, k) in a]
            right = [j for j in range(k + 1, n) if (k, j) in a]
            for i in below:
                a[i, k] = a[i, k] / a[k, k]
                for j in right:
                    a[i, j] = a[i, j] - a[i, k] * a[k, j]
        return a

    def matvec(self, jac_entries, v):
        """``J v`` for ``v`` (n, B) (model numbering) from ``jac_entries`` (one vector over patients per entry of
        :attr:`entries`), unrolled over the non-zeros: (n, B)."""
        out = [None] * v.shape[0]
        for (i, j), e in zip(self.entries, jac_entries):
            term = e * v[j]
            out[i] = term if out[i] is None else out[i] + term
        zero = jnp.zeros_like(v[0])
        return jnp.stack([zero if o is None else o for o in out])

    def solve(self, a, v):
        """``W^-1 v`` for ``v`` (n, B) (model numbering) from :meth:`factor`'s ``a``: (n, B)."""
        n = len(self.order)
        y = [v[s] for s in self.order]
        for i in range(n):  # L y = v (unit lower)
            for j in range(i):
                if (i, j) in a:
                    y[i] = y[i] - a[i, j] * y[j]
        for i in reversed(range(n)):  # U x = y
            for j in range(i + 1, n):
                if (i, j) in a:
                    y[i] = y[i] - a[i, j] * y[j]
            y[i] = y[i] / a[i, i]
        back = np.argsort(self.order)
        return jnp.stack([y[k] for k in back])
