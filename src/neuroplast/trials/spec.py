"""The trial / protocol specification (docs/trial-format.md), validated with pydantic.

Structure and types are checked by pydantic (unknown keys are errors, never ignored);
quantities ("0.5 mg/kg", "40 min") are parsed with pint when the regimen is built. Every
failure becomes one :class:`NeuroplastInputError` naming the file, the field and the value.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from .._errors import NeuroplastInputError
from .._units import parse_quantity
from ..catalog import DRUGS
from ..cohort import PRESETS, Inclusion
from ..evidence import study_ids
from ..evidence.targets import TARGETS
from ..instruments import INSTRUMENTS as SCALES
from ..regimen import MAX_TRIAL_H, Regimen, build_regimen
from .crossover_spec import CrossoverSpec, resolve_crossover
from .design import AnalysisSpec, DropoutSpec
from .withdrawal_spec import Withdrawal, WithdrawalSpec, resolve

MAX_FILE_BYTES = 1_000_000
"""The largest trial file read (a trial is a few kilobytes)."""
MAX_TIMEPOINTS = 1000
MAX_ARMS = 100
MAX_SEED = 2**32 - 1
MAX_LONG_TRIAL_H = 100 * 365.25 * 24.0
"""The longest trial simulated with ``allow_long = true``: a century (its daily visits are 36,525 save times)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _text(limit: int, *, lines: bool = False):
    """A user's name or title: at most ``limit`` characters, no control characters (a NUL byte in a trial id
    would reach file names and reports); ``lines``: tabs and newlines allowed."""

    def check(v: str) -> str:
        if not lines and not v.strip():
            raise ValueError("must not be empty")
        if len(v) > limit or (_CONTROL if lines else _CONTROL_OR_LINE).search(v):
            raise ValueError(f"at most {limit} characters, without control characters")
        return v

    return pydantic.AfterValidator(check)


_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f]")
Name = Annotated[str, _text(200)]


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class InclusionSpec(_Strict):
    min_baseline: float | None = None
    medication_free: bool | None = None
    on_stable_antidepressant: bool | None = None
    inpatient: bool | None = None


class EndpointsSpec(_Strict):
    timepoints: list[str] = pydantic.Field(min_length=1, max_length=MAX_TIMEPOINTS)
    response: float = pydantic.Field(0.5, gt=0, le=1, allow_inf_nan=False)
    remission: float | None = pydantic.Field(None, ge=0, allow_inf_nan=False)  # resolved by TrialSpec.check
    follow_up: str | None = None


class DoseSpec(_Strict):
    drug: str
    route: str = "iv"
    amount: str | float | None = None
    duration: str | None = None
    at: list[str] | None = None
    start: str | None = None
    every: str | None = None
    count: int | None = None


class TherapySpec(_Strict):
    kind: str  # cbt | mindfulness | exercise | meditation | creative (checked with the regimen: one clear line)
    start: str | None = None
    every: str | None = None
    count: int | None = None
    at: list[str] | None = None
    duration: str | None = None  # default: the kind's usual session length (regimen.THERAPIES)


class ArmSpec(_Strict):
    name: Name
    dose: list[DoseSpec] = []  # an arm with neither doses nor sessions is a no-treatment (wait-list) arm
    therapy: list[TherapySpec] = []


class TrialInfo(_Strict):
    id: Name
    title: Annotated[str, _text(1000, lines=True)] = ""
    population: str
    scale: str = "MADRS"
    design: Literal["parallel", "crossover", "randomized_withdrawal"] = "parallel"
    blinding: Literal["open", "single", "double"] = "double"  # open: patients know an active treatment's arm
    washout: str | None = None  # a crossover's washout when [trial.crossover] gives none; unused otherwise
    n_per_arm: int = pydantic.Field(100, ge=1, le=1_000_000)
    seed: int = pydantic.Field(1, ge=0, le=MAX_SEED)
    inclusion: InclusionSpec = InclusionSpec()
    endpoints: EndpointsSpec
    compare_with: list[str] = []  # extension: published study ids drawn over the simulation
    allow_long: bool = False  # extension: simulate trials longer than 5 years
    dropout: DropoutSpec | None = None  # absent: nobody leaves
    analysis: AnalysisSpec | None = None  # absent: MMRM with dropout, else Welch on every patient
    crossover: CrossoverSpec | None = None  # design = "crossover" only
    withdrawal: WithdrawalSpec | None = None  # design = "randomized_withdrawal" only


class TrialSpec(_Strict):
    trial: TrialInfo
    arm: list[ArmSpec] = pydantic.Field(min_length=1, max_length=MAX_ARMS)

    def with_overrides(self, *, n_per_arm: int | None = None, seed: int | None = None) -> TrialSpec:
        """The spec with a command's ``--n-per-arm`` / ``--seed``, held to the same bounds as the file's."""
        changes = {k: v for k, v in (("n_per_arm", n_per_arm), ("seed", seed)) if v is not None}
        try:
            trial = TrialInfo.model_validate({**self.trial.model_dump(), **changes})
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            option = "--" + str(err["loc"][0]).replace("_", "-")
            raise NeuroplastInputError(err["msg"], field=option, value=err.get("input")) from None
        return self.model_copy(update={"trial": trial})

    # --- derived, validated views -------------------------------------------------------
    def timepoints_h(self) -> list[tuple[str, float]]:
        out = []
        for i, label in enumerate(self.trial.endpoints.timepoints):
            t = parse_quantity(label, "time", field=f"trial.endpoints.timepoints[{i}]")
            if t < 0:
                raise NeuroplastInputError(
                    "a timepoint must not be before 0", field=f"trial.endpoints.timepoints[{i}]", value=label
                )
            out.append((label, t))
        return out

    def follow_up_h(self) -> float | None:
        f = self.trial.endpoints.follow_up
        if f is None:
            return None
        t = parse_quantity(f, "time", field="trial.endpoints.follow_up")
        if t <= 0:
            raise NeuroplastInputError("follow_up must be positive", field="trial.endpoints.follow_up", value=f)
        return t

    def remission_threshold(self) -> float:
        """The remission cut-off: the spec's, else the scale's own."""
        r = self.trial.endpoints.remission
        return SCALES[self.trial.scale].remission if r is None else float(r)

    def inclusion(self) -> Inclusion:
        return Inclusion(**self.trial.inclusion.model_dump())

    def regimens(self, *, allow_high_dose: bool = False) -> dict[str, Regimen]:
        out = {}
        for i, arm in enumerate(self.arm):
            doses = [d.model_dump(exclude_none=True) for d in arm.dose]
            therapy = [s.model_dump(exclude_none=True) for s in arm.therapy]
            regimen = build_regimen(
                doses,
                field=f"arm[{i}].dose",
                allow_high_dose=allow_high_dose,
                therapy=therapy,
                therapy_field=f"arm[{i}].therapy",
                allow_empty=True,
                require_daily=True,
            )
            t0 = min((e.time_h for e in regimen.events), default=0.0)
            if t0 > 0:
                raise NeuroplastInputError(
                    'an arm\'s first dose or session is its time 0 (timepoints count from it): start it at "0 d"',
                    field=f"arm[{i}]",
                    value=f"{t0 / 24:g} d",
                )
            out[arm.name] = regimen
        return out

    def open_label(self, arm: str) -> bool:
        """Whether arm ``arm``'s patients know they receive an active treatment: the trial is open label and the
        arm gives a drug that is neither inert nor an active placebo (:attr:`~neuroplast.catalog.Drug.treats`).
        Single blind (the patient blinded, the rater not) is double blind for the patient's expectancy."""
        if self.trial.blinding != "open":
            return False
        spec = next(a for a in self.arm if a.name == arm)
        return any(DRUGS[d.drug].treats for d in spec.dose if d.drug in DRUGS)

    def end_h(self, regimens=None) -> float:
        """The simulated span: the last timepoint, or the last dose plus follow-up, whichever is later; in a
        randomised-withdrawal trial, the end of its follow-up after randomisation."""
        regimens = self.regimens() if regimens is None else regimens
        plan = self.withdrawal_plan(regimens)
        if plan is not None:
            return max(max(t for _, t in self.timepoints_h()), plan.end_h)
        last = max((e.time_h + e.duration_h for r in regimens.values() for e in r.events), default=0.0)
        return max(max(t for _, t in self.timepoints_h()), last + (self.follow_up_h() or 0.0))

    def crossover(self, regimens=None, *, allow_high_dose: bool = False):
        """The resolved crossover (:class:`~.crossover_spec.CrossoverDesign`); ``None`` for a parallel trial."""
        regimens = self.regimens(allow_high_dose=allow_high_dose) if regimens is None else regimens
        names = [a.name for a in self.arm]
        return resolve_crossover(self.trial, names, regimens, self.timepoints_h(), allow_high_dose=allow_high_dose)

    def withdrawal_plan(self, regimens=None) -> Withdrawal | None:
        """The resolved ``[trial.withdrawal]`` (:mod:`.withdrawal_spec`); ``None`` on other designs."""
        t = self.trial
        return resolve(
            t.withdrawal,
            design=t.design,
            regimens=self.regimens() if regimens is None else regimens,
            scale=t.scale,
            population=t.population,
            response=t.endpoints.response,
            remission=self.remission_threshold(),
        )

    def check(self, *, allow_high_dose: bool = False) -> TrialSpec:
        """Validate everything that needs more than types: names, units, times, ceilings; then resolve the
        remission threshold (the scale's own cut-off when the spec gives none), so the spec states every
        threshold the trial uses."""
        t = self.trial
        if t.population not in PRESETS:
            raise NeuroplastInputError(
                f"unknown population; known: {', '.join(sorted(PRESETS))}", field="trial.population", value=t.population
            )
        if t.scale not in SCALES:
            raise NeuroplastInputError(f"unknown scale; known: {', '.join(SCALES)}", field="trial.scale", value=t.scale)
        if t.population not in SCALES[t.scale].populations:
            raise NeuroplastInputError(
                f"scale {t.scale} does not fit population '{t.population}' (it is for: "
                f"{', '.join(SCALES[t.scale].populations)})",
                field="trial.scale",
                value=t.scale,
            )
        if t.endpoints.remission is None:
            t.endpoints.remission = SCALES[t.scale].remission
        if t.endpoints.remission > SCALES[t.scale].max:
            raise NeuroplastInputError(
                f"remission is a score on {t.scale} (0 to {SCALES[t.scale].max:g})",
                field="trial.endpoints.remission",
                value=t.endpoints.remission,
            )
        names = [a.name for a in self.arm]
        if len(set(names)) != len(names):
            raise NeuroplastInputError("arm names must be unique", field="arm.name", value=names)
        self.timepoints_h()
        self.follow_up_h()
        if t.washout is not None:  # a crossover's washout, else unused; a time as any other
            parse_quantity(t.washout, "time", field="trial.washout")
        regimens = self.regimens(allow_high_dose=allow_high_dose)
        self.withdrawal_plan(regimens)
        if t.blinding == "open" and t.design == "crossover":  # one patient, several treatments: not one "knows"
            raise NeuroplastInputError(
                "a crossover trial is simulated blinded: blinding must be 'single' or 'double'",
                field="trial.blinding",
                value=t.blinding,
            )

        end = self.end_h(regimens)
        if (xo := self.crossover(regimens, allow_high_dose=allow_high_dose)) is not None:
            end = xo.end_h
        if end > MAX_TRIAL_H and not t.allow_long:
            raise NeuroplastInputError(
                f"the trial spans {end / 24 / 365.25:.1f} years, more than the 5-year limit; "
                "set allow_long = true in [trial] to simulate it anyway",
                field="trial.endpoints",
                value=f"{end / 24:.0f} d",
            )
        if end > MAX_LONG_TRIAL_H:  # a "1e300 y" timepoint would reach the run as a save grid it cannot allocate
            raise NeuroplastInputError(
                f"the trial spans {end / 24 / 365.25:.3g} years; at most 100 years are simulated, even with allow_long",
                field="trial.endpoints",
                value=f"{end / 24:.3g} d",
            )

        known = study_ids() | {x.study for x in TARGETS}
        for i, sid in enumerate(t.compare_with):
            if sid not in known:
                raise NeuroplastInputError(
                    "unknown published study id (see neuroplast validate)", field=f"trial.compare_with[{i}]", value=sid
                )
        return self


def parse_spec(data: dict, *, file: str | None = None, allow_high_dose: bool = False) -> TrialSpec:
    """Validate ``data`` (a parsed TOML/JSON spec) into a fully resolved :class:`TrialSpec`: every default
    filled (``n_per_arm`` 100, ``seed`` 1, ``scale`` MADRS, ``response`` 0.5, ``route`` iv, ...), the remission
    threshold resolved, names, units, times and dose ceilings checked."""
    try:
        spec = TrialSpec.model_validate(data)
        return spec.check(allow_high_dose=allow_high_dose)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        field = _loc(err["loc"])
        value = err.get("input")
        if isinstance(value, dict):
            value = None
        raise NeuroplastInputError(err["msg"], field=field, value=value, file=file) from None
    except NeuroplastInputError as exc:
        raise exc.with_file(file) from None


def load_spec(path: str | Path, *, allow_high_dose: bool = False) -> TrialSpec:
    """Read and validate a trial TOML file into a fully resolved :class:`TrialSpec` (see :func:`parse_spec`)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise NeuroplastInputError(f"cannot read the file ({exc.strerror})", file=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise NeuroplastInputError(
            f"the file is larger than {MAX_FILE_BYTES // 1000} kB; a trial is a few kB", file=str(path)
        )
    try:
        text = raw.decode("utf-8-sig")  # TOML is UTF-8; a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise NeuroplastInputError(
            f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", file=str(path)
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NeuroplastInputError(f"malformed TOML: {exc}", file=str(path)) from None
    except RecursionError:
        raise NeuroplastInputError("malformed TOML: nested too deeply", file=str(path)) from None
    except ValueError:  # tomllib's int() of a literal longer than Python's limit (4300 digits)
        raise NeuroplastInputError("malformed TOML: an integer too long to read", file=str(path)) from None
    return parse_spec(data, file=str(path), allow_high_dose=allow_high_dose)


def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (str(part) if str(part).isprintable() else repr(part))  # an unknown key
    return out
