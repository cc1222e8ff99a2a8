"""SBML export (Level 3 Version 2) of the PK/PD part of the model, for one patient and one regimen.

What is exported, and how it stays in sync with the model:

* **PK states** — every state of every PK module of :class:`neuroplast.model.Model` (a field with
  ``system()`` and ``names``) becomes a species: amounts (umol) in compartment ``body``,
  effect-site concentrations (uM) in compartment ``effect`` (1 L, so amount and concentration
  are the same number). Their initial values are ``Model.initial_state()``.
* **Linear transfers** — read off each module's ``system()`` matrix ``A``: an entry
  ``A[i, j]`` between two amount states is a transfer reaction ``j -> i`` with rate constant
  ``k_j__i``; an entry into a concentration state (an effect site) is a production reaction
  with ``j`` as modifier; what is left on the diagonal is a first-order loss. Mass-conserving
  modules (every cleared amount lands in an ``eliminated`` state) therefore need no loss term.
* **Dosing** — the regimen's event table (``Regimen.event_array``: zero-order inputs of
  ``rate`` umol/h over ``[start, end)``) becomes one piecewise-constant parameter
  ``dose_rate_<drug>_<route>`` per drug and route, switched by SBML events at every start and
  stop (so solvers see the discontinuities). IV input enters the central compartments directly;
  every other route fills an explicit depot species ``depot_<drug>_<route>`` emptied at
  ``ka``, the first-order equivalent of the closed-form absorption of
  :mod:`neuroplast.scales.pk.absorption`. Where each unit of input goes (the (S)/(R) shares,
  bioavailability F, first-pass norketamine f_nk and the lost rest) is measured on the model's
  own vector field, so the split is the model's, not a copy.
* **Read-outs** — every read-out of ``Model.readouts`` that depends only on PK states
  (plasma and effect-site concentrations in ng/mL, NMDA occupancy of pyramidal cells and
  interneurons, SERT occupancy, HNK's AMPA drive, CADSS, SBP, DBP, heart rate, sedation, ...)
  becomes an assignment rule. The formulas are translated from the JAX program of
  ``Model.readouts`` itself (its jaxpr), so a changed formula is exported as changed; read-outs
  that need the slower scales (signalling, spines, mood) are left out.

Numeric parameters carry notes with their unit and the registry parameters (and source ids) they
derive from, found by perturbing the registry values through :meth:`neuroplast.model.Model.build`.
``tests/test_sbml.py`` simulates the file with libRoadRunner and matches ``neuroplast.simulate``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from typing import SupportsFloat

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Literal as _Literal

from .._errors import NeuroplastInputError
from .._files import write_text_atomic
from ..catalog import DRUG_CODES, READOUT_UNITS
from ..cohort import typical_patient
from ..model import LAYOUT, PK_SCALES, STATE_NAMES, STATE_UNITS, Model
from ..parameters import all_parameters
from ..scales.pk import ROUTE_CODES, input_flux
from ..simulation import default_model
from ..trials import load_spec

_ROUTES = {v: k for k, v in ROUTE_CODES.items()}
_DRUGS = {v: k for k, v in DRUG_CODES.items()}
_UNITS = {  # id: (description, [(kind, exponent, scale, multiplier)])
    "hour": ("h", [("second", 1, 0, 3600.0)]),
    "umol": ("umol", [("mole", 1, -6, 1.0)]),
    "per_hour": ("1/h", [("second", -1, 0, 3600.0)]),
    "umol_per_hour": ("umol/h", [("mole", 1, -6, 1.0), ("second", -1, 0, 3600.0)]),
    "uM": ("uM", [("mole", 1, -6, 1.0), ("litre", -1, 0, 1.0)]),
    "ng_per_mL": ("ng/mL", [("gram", 1, -3, 1.0), ("litre", -1, 0, 1.0)]),
}


@dataclasses.dataclass(frozen=True)
class SBMLExport:
    """The document as a string, and what it contains (for tests and the CLI)."""

    sbml: str
    species: tuple[str, ...]  # PK state species, in model state order
    depots: tuple[str, ...]
    readouts: tuple[str, ...]  # read-outs exported as assignment rules
    skipped_readouts: dict  # name -> why it is not in the SBML


def _scalar_model(model_values: dict, cohort):
    ind = Model.build(model_values, cohort)
    return jax.tree_util.tree_map(lambda x: x[0] if eqx.is_array(x) else x, ind)


def _pk_modules(m):
    """(scale name, module, global state indices) of every PK module of the model (:data:`PK_SCALES`)."""
    return [(name, getattr(m, name), list(LAYOUT.of(name))) for name in PK_SCALES]


def _sid(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return s if re.match(r"[A-Za-z_]", s) else f"x_{s}"


def _num(x: SupportsFloat) -> str:
    v = float(x)
    return repr(v) if v >= 0 else f"({v!r})"


# --- read-outs: the jaxpr of Model.readouts translated into SBML L3 infix formulas ------------------------


class _Unsupported(Exception):
    pass


_BIN = {
    "add": "({} + {})",
    "sub": "({} - {})",
    "mul": "({} * {})",
    "div": "({} / {})",
    "pow": "(({})^({}))",
    "max": "max({}, {})",
    "min": "min({}, {})",
    "lt": "({} < {})",
    "gt": "({} > {})",
    "le": "({} <= {})",
    "ge": "({} >= {})",
    "eq": "({} == {})",
    "ne": "({} != {})",
    "and": "({} && {})",
    "or": "({} || {})",
}
_UN = {
    "neg": "(-({}))",
    "exp": "exp({})",
    "log": "ln({})",
    "sqrt": "sqrt({})",
    "abs": "abs({})",
    "tanh": "tanh({})",
    "logistic": "(1 / (1 + exp(-({}))))",
    "not": "(!({}))",
    "stop_gradient": "{}",
    "copy": "{}",
    "copy_p": "{}",
    "exp2": "(2^({}))",
    "log1p": "ln(1 + {})",
    "expm1": "(exp({}) - 1)",
    "floor": "floor({})",
    "ceil": "ceil({})",
}
_CALLS = (
    "pjit",
    "jit",
    "closed_call",
    "core_call",
    "custom_jvp_call",
    "custom_vjp_call",
    "custom_vjp_call_jaxpr",
    "remat",
    "checkpoint",
)


def _obj(shape, fill=None):
    a = np.empty(shape, dtype=object)
    a.fill(fill)
    return a


def _scalar(text) -> np.ndarray:
    a = _obj(())
    a[()] = text
    return a


def _lit(val) -> np.ndarray:
    arr = np.asarray(val)
    out = _obj(arr.shape)
    for idx in np.ndindex(arr.shape):
        v = arr[idx]
        out[idx] = ("true" if v else "false") if arr.dtype == bool else _num(v)
    return out


def _eval_jaxpr(jaxpr, consts, args):
    env = {}

    def read(v):
        if isinstance(v, _Literal):
            return _lit(v.val)
        return env[v]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = _lit(c)
    for v, a in zip(jaxpr.invars, args):
        env[v] = a
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        try:
            outs = _apply(eqn, ins)
        except _Unsupported as exc:
            outs = [_obj(o.aval.shape, f"__unsupported_{exc}__") for o in eqn.outvars]
        for v, o in zip(eqn.outvars, outs):
            env[v] = o if isinstance(o, np.ndarray) else _scalar(o)
    return [read(v) for v in jaxpr.outvars]


def _apply(eqn, ins):
    name, p = eqn.primitive.name, eqn.params
    if name in _BIN:
        return [np.frompyfunc(lambda a, b, f=_BIN[name]: f.format(a, b), 2, 1)(ins[0], ins[1])]
    if name in _UN:
        return [np.frompyfunc(lambda a, f=_UN[name]: f.format(a), 1, 1)(ins[0])]
    if name == "integer_pow":
        return [np.frompyfunc(lambda a: f"(({a})^{p['y']})", 1, 1)(ins[0])]
    if name == "convert_element_type":
        if eqn.invars[0].aval.dtype == bool and not np.issubdtype(p["new_dtype"], np.bool_):
            return [np.frompyfunc(lambda a: f"piecewise(1, {a}, 0)", 1, 1)(ins[0])]
        return [ins[0]]
    if name == "clamp":
        return [np.frompyfunc(lambda lo, x, hi: f"min(max({x}, {lo}), {hi})", 3, 1)(*ins)]
    if name == "select_n":
        pred, *cases = ins
        if eqn.invars[0].aval.dtype == bool:
            return [np.frompyfunc(lambda c, a, b: f"piecewise({b}, {c}, {a})", 3, 1)(pred, *cases)]

        def pick(c, *xs):
            parts = [f"{x}, ({c} == {i})" for i, x in enumerate(xs[:-1])]
            return f"piecewise({', '.join(parts)}, {xs[-1]})"

        return [np.frompyfunc(pick, 1 + len(cases), 1)(pred, *cases)]
    if name == "slice":
        strides = p["strides"] or (1,) * len(p["start_indices"])
        return [ins[0][tuple(slice(s, e, k) for s, e, k in zip(p["start_indices"], p["limit_indices"], strides))]]
    if name == "squeeze":
        return [np.squeeze(ins[0], axis=tuple(p["dimensions"]))]
    if name == "reshape":
        return [ins[0].reshape(p["new_sizes"])]
    if name == "broadcast_in_dim":
        shape, dims = tuple(p["shape"]), tuple(p["broadcast_dimensions"])
        x = ins[0]
        expanded = x.reshape([x.shape[dims.index(d)] if d in dims else 1 for d in range(len(shape))])
        return [np.broadcast_to(expanded, shape).copy()]
    if name == "concatenate":
        return [np.concatenate(ins, axis=p["dimension"])]
    if name == "reduce_sum":
        x = np.moveaxis(ins[0], tuple(p["axes"]), tuple(range(-len(p["axes"]), 0)))
        flat = x.reshape(x.shape[: x.ndim - len(p["axes"])] + (-1,))
        out = _obj(flat.shape[:-1])
        for idx in np.ndindex(out.shape):
            out[idx] = "(" + " + ".join(flat[idx]) + ")" if flat.shape[-1] else "0.0"
        return [out]
    if name in _CALLS:
        sub = p.get("jaxpr") or p.get("call_jaxpr") or p.get("fun_jaxpr")
        if sub is None:
            raise _Unsupported(name)
        closed = sub if hasattr(sub, "consts") else None
        return _eval_jaxpr(closed.jaxpr if closed else sub, closed.consts if closed else [], ins)
    raise _Unsupported(name)


def _readout_formulas(m, species_of: dict[int, str]):
    """{readout: (formula, leaf symbols used)} for read-outs of PK states only; and {skipped: reason}."""
    params, static = eqx.partition(m, eqx.is_array)
    leaves, _ = jax.tree_util.tree_flatten_with_path(params)
    sym_leaves, symbols = [], {}
    for path, leaf in leaves:
        base = _sid("_".join(str(getattr(k, "name", getattr(k, "key", getattr(k, "idx", k)))) for k in path))
        arr = np.asarray(leaf)
        syms = _obj(arr.shape)
        for idx in np.ndindex(arr.shape):
            s = base + "".join(f"_{i}" for i in idx)
            syms[idx] = s
            symbols[s] = float(arr[idx])
        sym_leaves.append(syms)
    ys = _obj((len(STATE_NAMES),))
    for i in range(len(STATE_NAMES)):
        ys[i] = species_of.get(i, f"__nonpk_{i}__")

    def f(p, y):
        return eqx.combine(p, static).readouts(y)

    closed, shape = jax.make_jaxpr(f, return_shape=True)(params, jnp.zeros(len(STATE_NAMES)))
    outs = _eval_jaxpr(closed.jaxpr, closed.consts, [*sym_leaves, ys])
    paths = [k[0].key for k, _ in jax.tree_util.tree_flatten_with_path(shape)[0]]
    formulas, skipped = {}, {}
    for name, expr in zip(paths, outs):
        text = str(expr.reshape(()).item()) if expr.size == 1 else None
        if text is None:
            skipped[name] = "not a scalar per time point"
        elif "__nonpk_" in text:
            skipped[name] = "depends on non-PK states (signalling, plasticity or mood)"
        elif "__unsupported_" in text:
            skipped[name] = (
                "uses an operation the exporter cannot translate: " + text.split("__unsupported_")[1].split("__")[0]
            )
        else:
            used = {s for s in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if s in symbols}
            formulas[name] = (text, {s: symbols[s] for s in used})
    return formulas, skipped


# --- provenance: which registry parameters (and source ids) a number derives from ----------------------


@functools.lru_cache(maxsize=4)
def _leaf_sources_cached(key: tuple[tuple[str, float], ...]) -> dict[str, tuple[str, ...]]:

    values = dict(key)
    cohort = typical_patient(values)

    def flat(m):
        params, _ = eqx.partition(m, eqx.is_array)
        return {
            _sid("_".join(str(getattr(k, "name", k)) for k in path)): np.asarray(v)[0]
            for path, v in jax.tree_util.tree_flatten_with_path(params)[0]
        }

    base = flat(Model.build(values, cohort))
    out: dict[str, set[str]] = {}
    for name, v in values.items():
        pert = dict(values)
        pert[name] = v * (1 + 1e-6) if v != 0 else 1e-6
        new = flat(Model.build(pert, cohort))
        for leaf, arr in base.items():
            changed = np.atleast_1d(new[leaf] != arr)
            for idx in np.flatnonzero(changed):
                sym = leaf if np.ndim(arr) == 0 else f"{leaf}_{idx}"
                out.setdefault(sym, set()).add(name)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _leaf_sources(values: dict) -> dict[str, tuple[str, ...]]:
    """Leaf symbol (as in the SBML, e.g. ``ketamine_v1``, ``absorption_ka_2``) -> registry parameter names."""
    return _leaf_sources_cached(tuple(sorted((k, float(v)) for k, v in values.items())))


def _registry(values: dict):
    """name -> (value used by this model, unit, source id), for every registry parameter."""

    return {p.name: (values.get(p.name, p.value), p.unit, p.source) for p in all_parameters()}


# --- the document -------------------------------------------------------------------------------------------


def export_sbml(model, regimen, cohort) -> SBMLExport:
    """SBML L3V2 of the PK/PD part of ``model`` (a :class:`neuroplast.PopulationModel`) for the one
    patient of ``cohort`` under ``regimen``. Times in h, amounts in umol (see the module docstring)."""
    import libsbml

    if len(cohort) != 1:
        raise NeuroplastInputError("SBML export is for one patient", field="cohort", value=len(cohort))
    m = _scalar_model(model.values, cohort)
    mods = _pk_modules(m)
    pk = [i for _, _, idx in mods for i in idx]
    species_of = {i: _sid(STATE_NAMES[i]) for i in pk}
    y0 = np.asarray(m.initial_state())
    leaf_src = _leaf_sources(model.values)
    reg = _registry(model.values)

    doc = libsbml.SBMLDocument(3, 2)
    sm = doc.createModel()
    sm.setId("neuroplast_pkpd")
    sm.setName("neuroplast PK/PD: one patient, one regimen")
    _check(
        sm.setNotes(
            _notes(
                "Exported by neuroplast (research and education software, not a medical device). "
                f"Patient: {_patient_text(cohort)}. Time in h, amounts in umol, effect-site and plasma concentrations as named "
                "in each element's notes."
            )
        )
    )
    for uid, (_, parts) in _UNITS.items():
        ud = sm.createUnitDefinition()
        ud.setId(uid)
        for kind, exp, power_of_ten, mult in parts:
            u = ud.createUnit()
            u.setKind(libsbml.UnitKind_forName(kind))
            u.setExponent(exp)
            u.setScale(power_of_ten)
            u.setMultiplier(mult)
    sm.setTimeUnits("hour")
    sm.setSubstanceUnits("umol")
    sm.setExtentUnits("umol")
    sm.setVolumeUnits("litre")
    for cid, note in (
        ("body", "amount states (umol); size 1 is nominal: species hold amounts"),
        ("effect", "effect sites: 1 L, so a species' amount (umol) equals its concentration (uM)"),
    ):
        c = sm.createCompartment()
        c.setId(cid)
        c.setSize(1.0)
        c.setUnits("litre")
        c.setConstant(True)
        c.setSpatialDimensions(3)
        _check(c.setNotes(_notes(note)))

    def species(sid, comp, init, note):
        s = sm.createSpecies()
        s.setId(sid)
        s.setCompartment(comp)
        s.setInitialAmount(float(init))
        s.setHasOnlySubstanceUnits(True)
        s.setBoundaryCondition(False)
        s.setConstant(False)
        s.setSubstanceUnits("umol")
        _check(s.setNotes(_notes(note)))

    for _name, sub, idx in mods:
        for i in idx:
            conc = STATE_UNITS[i] != "umol"
            species(
                species_of[i],
                "effect" if conc else "body",
                y0[i],
                f"{type(sub).__name__} state '{STATE_NAMES[i]}' ({STATE_UNITS[i]})",
            )

    def parameter(pid, value, units, note, constant=True):
        if sm.getElementBySId(pid) is not None:
            raise RuntimeError(f"duplicate SBML id {pid}")
        p = sm.createParameter()
        p.setId(pid)
        p.setValue(float(value))
        p.setConstant(constant)
        if units:
            p.setUnits(units)
        _check(p.setNotes(_notes(note)))

    def reaction(rid, reactants, products, formula, modifiers=()):
        r = sm.createReaction()
        r.setId(rid)
        r.setReversible(False)
        for sid, st in reactants:
            ref = r.createReactant()
            ref.setSpecies(sid)
            ref.setStoichiometry(st)
            ref.setConstant(True)
        for sid, st in products:
            ref = r.createProduct()
            ref.setSpecies(sid)
            ref.setStoichiometry(st)
            ref.setConstant(True)
        for sid in modifiers:
            r.createModifier().setSpecies(sid)
        kl = r.createKineticLaw()
        _check(kl.setMath(_math(formula)))

    # Linear transfers, from each module's system() matrix.
    for name, sub, idx in mods:
        a = np.asarray(sub.system()[0], dtype=float)
        deps = _matrix_dependencies(sub)
        scale = np.max(np.abs(a)) if a.size else 1.0
        for j in range(len(idx)):
            out_rate = 0.0
            src = species_of[idx[j]]
            amount_j = STATE_UNITS[idx[j]] == "umol"
            for i in range(len(idx)):
                if i == j or a[i, j] == 0.0:
                    continue
                dst = species_of[idx[i]]
                amount_i = STATE_UNITS[idx[i]] == "umol"
                kid = f"k_{src}__{dst}"
                note = (
                    f"A[{STATE_NAMES[idx[i]]}, {STATE_NAMES[idx[j]]}] of {type(sub).__name__}.system()"
                    + _provenance(name, deps.get((i, j), ()), leaf_src, reg)
                )
                if amount_i and amount_j:
                    parameter(kid, a[i, j], "per_hour", note + "; unit 1/h")
                    reaction(f"transfer_{src}__{dst}", [(src, 1.0)], [(dst, 1.0)], f"{kid} * {src}")
                    out_rate += a[i, j]
                else:
                    # umol -> uM (an effect site): A[i, j] is in 1/(L h); times the 1 L of compartment
                    # 'effect' it is the 1/h of a reaction whose extent is umol
                    parameter(kid, a[i, j], "per_hour", note + "; unit 1/(L h) x 1 L")
                    reaction(f"drive_{src}__{dst}", [], [(dst, 1.0)], f"{kid} * {src}", modifiers=[src])
            rest = a[j, j] + out_rate
            if abs(rest) > 1e-12 * scale:
                kid = f"k_loss_{src}"
                note = (
                    f"first-order loss of {STATE_NAMES[idx[j]]}: -(A[j, j] + transfers out) of "
                    f"{type(sub).__name__}.system()" + _provenance(name, deps.get((j, j), ()), leaf_src, reg)
                )
                parameter(kid, -rest, "per_hour", note + "; unit 1/h")
                reaction(f"loss_{src}", [(src, 1.0)], [], f"{kid} * {src}")

    # Dosing: piecewise-constant input rates switched by events; depots for extravascular routes.
    ev = np.asarray(regimen.event_array(cohort.table["weight_kg"].to_numpy()))[0]
    ev = ev[ev[:, 0] < 1e11]
    depots = []
    groups = sorted({(int(r[3]), int(r[4])) for r in ev})
    for drug_code, route_code in groups:
        drug, route = _DRUGS[drug_code], _ROUTES[route_code]
        coef, ka, coef_deps = _input_split(m, drug_code, route_code, pk)
        if not np.any(coef):
            continue  # no drug (saline): nothing enters the PK states
        tag = f"{drug}_{route}"
        rid = f"dose_rate_{tag}"
        rows = ev[(ev[:, 3] == drug_code) & (ev[:, 4] == route_code)]
        breaks = sorted({float(t) for r in rows for t in (r[0], r[1])})

        def level(t, rows=rows):
            return float(sum(r[2] for r in rows if r[0] <= t < r[1]))

        parameter(
            rid,
            level(0.0),
            "umol_per_hour",
            f"input rate of {drug} by the {route} route (umol/h), piecewise constant: set by the events ev_{tag}_*",
            constant=False,
        )
        for k, b in enumerate(t for t in breaks if t > 0):
            e = sm.createEvent()
            e.setId(f"ev_{tag}_{k}")
            e.setUseValuesFromTriggerTime(True)
            tr = e.createTrigger()
            tr.setInitialValue(False)
            tr.setPersistent(True)
            _check(tr.setMath(_math(f"time >= {b!r}")))
            asg = e.createEventAssignment()
            asg.setVariable(rid)
            _check(asg.setMath(_math(repr(level(b)))))
        targets = [(k, c) for k, c in zip(pk, coef) if c != 0.0]
        if route == "iv":
            for k, c in targets:
                fid = f"f_{tag}__{species_of[k]}"
                parameter(
                    fid,
                    c,
                    "dimensionless",
                    f"share of the {drug} {route} input entering {STATE_NAMES[k]}"
                    + _provenance("absorption", coef_deps, leaf_src, reg, symbols=True),
                )
                reaction(f"input_{tag}__{species_of[k]}", [], [(species_of[k], 1.0)], f"{fid} * {rid}")
            continue
        dep = f"depot_{tag}"
        depots.append(dep)
        species(
            dep,
            "body",
            0.0,
            f"absorption depot of {drug} given by the {route} route (umol); first-order "
            "outflow ka, the ODE form of the closed-form depot of neuroplast.scales.pk.absorption",
        )
        kaid = f"ka_{tag}"
        parameter(
            kaid,
            ka,
            "per_hour",
            f"{route} absorption rate constant"
            + _provenance(
                "absorption",
                (
                    f"absorption_ka_by_drug_{drug_code}"
                    if float(np.asarray(m.absorption.ka_by_drug)[drug_code]) > 0
                    else f"absorption_ka_{route_code}",
                ),
                leaf_src,
                reg,
                symbols=True,
            ),
        )
        reaction(f"dose_{tag}", [], [(dep, 1.0)], rid)
        total = 0.0
        for k, c in targets:
            fid = f"f_{tag}__{species_of[k]}"
            parameter(
                fid,
                c,
                "dimensionless",
                f"share of the {drug} depot outflow entering {STATE_NAMES[k]} "
                "(bioavailability x enantiomer share, first-pass norketamine, or the lost rest)"
                + _provenance("absorption", coef_deps, leaf_src, reg, symbols=True),
            )
            reaction(f"absorb_{tag}__{species_of[k]}", [(dep, 1.0)], [(species_of[k], 1.0)], f"{fid} * {kaid} * {dep}")
            total += c
        if abs(1.0 - total) > 1e-12:
            fid = f"f_{tag}__lost"
            parameter(fid, 1.0 - total, "dimensionless", f"share of the {drug} depot outflow that leaves the model")
            reaction(f"absorb_{tag}__lost", [(dep, 1.0)], [], f"{fid} * {kaid} * {dep}")

    # Read-outs of PK states: assignment rules translated from Model.readouts.
    formulas, skipped = _readout_formulas(m, species_of)
    leaf_params = {}
    for _, used in formulas.values():
        leaf_params.update(used)
    for sym in sorted(leaf_params):
        if sm.getElementBySId(sym) is None:
            parameter(
                sym,
                leaf_params[sym],
                None,
                "model parameter (neuroplast.model.Model leaf '"
                + sym
                + "')"
                + _provenance(None, (sym,), leaf_src, reg, symbols=True),
            )
    exported = []
    for name, (text, _) in formulas.items():
        rid = _sid(name)
        if sm.getElementBySId(rid) is not None:
            rid = f"readout_{rid}"
        parameter(
            rid,
            0.0,
            "ng_per_mL" if READOUT_UNITS.get(name) == "ng/mL" else None,
            f"read-out '{name}' ({READOUT_UNITS.get(name, '')}), translated from Model.readouts",
            constant=False,
        )
        rule = sm.createAssignmentRule()
        rule.setVariable(rid)
        _check(rule.setMath(_math(text)))
        exported.append(name)

    n_err = doc.checkInternalConsistency()
    errors = [
        doc.getError(i).getMessage() for i in range(n_err) if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if errors:
        raise RuntimeError("the exported SBML is inconsistent: " + errors[0])
    return SBMLExport(
        libsbml.writeSBMLToString(doc), tuple(species_of[i] for i in pk), tuple(depots), tuple(exported), skipped
    )


def _input_split(m, drug_code: int, route_code: int, pk: list[int]):
    """Where one unit of input of a drug by a route goes: the PK-state rows of the model's own vector
    field for a single input, divided by that input's flux. Returns (shares, ka, absorption leaf
    symbols the shares depend on)."""
    ev = jnp.asarray([[0.0, 1.0, 1.0, float(drug_code), float(route_code)]])
    shares, jac = _split_and_jacobian(m, ev, jnp.asarray(pk))
    deps = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(eqx.partition(jac, eqx.is_array)[0])[0]:
        d = np.asarray(leaf)  # (n_pk, *leaf shape)
        col = drug_code if path[0].name == "ka_by_drug" else route_code  # by-drug leaves are indexed by drug code
        if d.ndim == 2 and d.shape[1] > col and np.any(d[:, col] != 0):
            deps.append(f"absorption_{path[0].name}_{col}")
    return np.asarray(shares), float(np.asarray(m.absorption.rate_constants(ev))[0]), tuple(deps)


@eqx.filter_jit
def _split_and_jacobian(m, ev, pk):
    t = 0.5  # inside the unit input [0, 1)

    def split(absorption):
        mm = eqx.tree_at(lambda x: x.absorption, m, absorption)
        return mm.vector_field(t, m.initial_state(), ev)[pk] / input_flux(t, ev, absorption.rate_constants(ev))[0]

    return split(m.absorption), jax.jacfwd(split)(m.absorption)


def _matrix_dependencies(sub) -> dict[tuple[int, int], tuple[str, ...]]:
    """Which scalar leaves of a PK module each entry of its ``system()`` A matrix depends on
    (the non-zero pattern of dA/dleaf, with A = d rhs / dx of the module's own right-hand side)."""
    b = np.asarray(sub.system()[1])
    u0 = 0.0 if b.ndim == 1 else tuple(0.0 for _ in range(b.shape[1]))
    jac = _a_jacobian(sub, u0)
    out: dict[tuple[int, int], list] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(eqx.partition(jac, eqx.is_array)[0])[0]:
        d = np.asarray(leaf)
        if d.ndim != 2:
            continue
        for i, j in zip(*np.nonzero(d)):
            out.setdefault((int(i), int(j)), []).append(path[0].name)
    return {k: tuple(v) for k, v in out.items()}


@eqx.filter_jit
def _a_jacobian(sub, u0):
    def a_of(s):
        return jax.jacfwd(lambda x: s.rhs(x, u0))(jnp.zeros(len(s.names)))

    return jax.jacfwd(a_of)(sub)


def _provenance(module, leaves, leaf_src, reg, *, symbols: bool = False) -> str:
    """Notes text: the model leaves a number comes from and their registry parameters with source ids.
    ``leaves`` are field names of ``module`` or, with ``symbols``, SBML leaf symbols."""
    syms = list(leaves) if symbols or module is None else [f"{module}_{x}" for x in leaves]
    if not syms:
        return ""
    names = sorted({n for s in syms for n in leaf_src.get(s, ())})
    parts = [f"{n} = {reg[n][0]:g} {reg[n][1]} [source {reg[n][2]}]" if n in reg else n for n in names]
    text = f"; from {', '.join(syms)}"
    return text + (f"; registry: {'; '.join(parts)}" if parts else "")


def _patient_text(cohort) -> str:
    r = cohort.table.iloc[0]
    return (
        f"{float(r['weight_kg']):g} kg, {'female' if bool(r['female']) else 'male'}, {float(r['age_y']):g} y, "
        "random effects at their median"
    )


def _notes(text: str) -> str:
    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(text)}</p></body>'


def _math(formula: str):
    import libsbml

    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise RuntimeError(f"cannot parse formula {formula!r}: {libsbml.getLastParseL3Error()}")
    return ast


def _check(rc):
    import libsbml

    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(f"libsbml operation failed ({libsbml.OperationReturnValue_toString(rc)})")


def protocol_to_sbml(
    path,
    out,
    *,
    arm: str | None = None,
    weight_kg: float = 70.0,
    female: bool = False,
    age_y: float = 45.0,
    allow_high_dose: bool = False,
    model=None,
) -> SBMLExport:
    """Export one arm of a protocol file for one typical patient (given covariates) to ``out`` atomically."""
    from pathlib import Path

    if not 20 <= weight_kg <= 250:
        raise NeuroplastInputError("body weight must be between 20 and 250 kg", field="--weight", value=weight_kg)
    if not 0 <= age_y <= 120:
        raise NeuroplastInputError("age must be between 0 and 120 years", field="--age", value=age_y)
    out = Path(out)
    if out.is_dir():
        raise NeuroplastInputError(
            "--out is a folder; give a file name such as model.xml", field="--out", value=str(out)
        )
    spec = load_spec(path, allow_high_dose=allow_high_dose)
    regimens = spec.regimens(allow_high_dose=allow_high_dose)
    name = arm or next(iter(regimens))
    if name not in regimens:
        raise NeuroplastInputError(
            f"no such arm; arms: {', '.join(regimens)}", field="--arm", value=name, file=str(path)
        )
    model = default_model() if model is None else model
    cohort = typical_patient(model.values, weight_kg=weight_kg, female=female, age_y=age_y)
    result = export_sbml(model, regimens[name], cohort)
    write_text_atomic(out, result.sbml)
    return result


__all__ = ["SBMLExport", "export_sbml", "protocol_to_sbml"]
