"""The command line: thin — parse, call one library function, write or print the result.

Bad input exits with status 2 and one line naming the file, field and value (no traceback).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="neuroplast: simulate neuroplasticity in depression and its treatment, from dose to rating "
    "scale. Research and education software, not a medical device.",
)
console = Console(width=None if sys.stdout.isatty() else 160)  # wide tables in logs and pipes
err = Console(stderr=True)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")]


def _setup():
    """Every command first tunes the process (neuroplast.engine.configure) and keeps compiled kernels on disk."""
    from .engine import configure, kernels

    configure()
    kernels.use_cache(os.environ.get("NEUROPLAST_CACHE", str(Path.home() / ".cache" / "neuroplast" / "jax")))


def _guard(fn, *args, _file: Path | None = None, **kwargs):
    """Run a library call; a NeuroplastInputError becomes one line on stderr and exit status 2 (naming ``_file``,
    the input the call reads, where the error does not name one: a trial's inclusion admitting nobody is found
    while the cohort is drawn)."""
    from ._errors import NeuroplastInputError

    try:
        return fn(*args, **kwargs)
    except NeuroplastInputError as exc:
        exc.with_file(None if _file is None else str(_file))
        err.print(f"error: {exc.one_line()}", markup=False, highlight=False, emoji=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # a bar only where someone watches: logs and pipes get the errors and results alone
    )
    task = prog.add_task(label, total=total)
    return prog, (lambda k: prog.advance(task, k))


def _published_table(rows: list[dict], title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for col in ("study", "arm", "time", "metric", "published [95% CI]", "simulated", "in CI", "use"):
        t.add_column(col, overflow="fold")
    for r in rows:
        ci = f" [{r['lo']:.3g}, {r['hi']:.3g}]" if r.get("lo") is not None else ""
        sim = "—" if r["simulated"] is None else f"{r['simulated']:.3g}"
        holds = {True: "[green]yes[/]", False: "[red]no[/]", None: "n/a"}[r["ci_holds"]]
        t.add_row(
            r["study"],
            r["arm"],
            str(r["time"] or "—"),
            r["metric"],
            f"{r['value']:.3g}{ci}",
            sim,
            holds,
            r.get("use", ""),
        )
    return t


@app.command()
def demo(
    out: OutOpt = Path("neuroplast-demo"),
    n_per_arm: Annotated[int | None, typer.Option(help="Patients per arm (default: the demo's 300).")] = None,
):
    """The flagship: one 0.5 mg/kg IV ketamine infusion vs saline in a trd cohort.

    Prints simulated vs published endpoints and writes report.html, figures, summary.json,
    patients.parquet and trajectories.nc to --out.
    """
    _setup()
    from . import DISCLAIMER, workflows
    from .trials import load_spec

    spec = _guard(load_spec, workflows.DEMO_SPEC)
    _guard(spec.with_overrides, n_per_arm=n_per_arm)
    prog, tick = _progress((n_per_arm or spec.trial.n_per_arm) * len(spec.arm), "simulating")
    with prog:
        result, published = _guard(workflows.demo, spec, out, n_per_arm=n_per_arm, progress=tick)
    console.print(_published_table(published, "Ketamine vs saline: simulated vs published"))
    console.print(f"report: {out / 'report.html'}")
    console.print(DISCLAIMER)


@app.command()
def trial(
    spec: Annotated[Path, typer.Argument(help="Trial specification (TOML: docs/trial-format.md).")],
    out: OutOpt = Path("neuroplast-trial"),
    n_per_arm: Annotated[int | None, typer.Option(help="Override the spec's n_per_arm.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the spec's seed.")] = None,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """Run an in-silico trial: summary.json, patients.parquet, trajectories.nc and report.html."""
    _setup()
    from . import DISCLAIMER, workflows
    from .trials import load_spec

    s = _guard(load_spec, spec, allow_high_dose=allow_high_dose)
    _guard(s.with_overrides, n_per_arm=n_per_arm, seed=seed)
    n = n_per_arm or s.trial.n_per_arm
    prog, tick = _progress(n * len(s.arm), "simulating")
    with prog:
        result = _guard(
            workflows.run_trial_to_dir,
            s,
            out,
            n_per_arm=n_per_arm,
            seed=seed,
            allow_high_dose=allow_high_dose,
            progress=tick,
            _file=spec,
        )
    t = Table(title=f"{result.spec.trial.id} ({result.spec.trial.scale})")
    for col in ("arm", "time", "observed", "mean score", "mean change", "response", "remission"):
        t.add_column(col)
    for name, arm in result.summary.arms.items():
        for tp in arm.timepoints:
            t.add_row(
                name,
                tp.time,
                "—" if tp.n_observed is None else f"{tp.n_observed} of {arm.n}",
                f"{tp.mean_score:.1f}",
                f"{tp.mean_change:.1f}",
                f"{tp.response_rate:.0%}",
                f"{tp.remission_rate:.0%}",
            )
    console.print(t)
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


@app.command()
def simulate(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML; one arm is simulated).")],
    out: OutOpt = Path("neuroplast-simulation"),
    arm: Annotated[str | None, typer.Option(help="Arm to simulate (default: the first).")] = None,
    weight: Annotated[float, typer.Option(help="Body weight, kg.")] = 70.0,
    age: Annotated[float, typer.Option(help="Age, years.")] = 45.0,
    female: Annotated[bool, typer.Option(help="Female patient.")] = False,
    baseline_madrs: Annotated[float | None, typer.Option(help="Baseline MADRS (default: preset mean).")] = None,
    days: Annotated[float | None, typer.Option(help="Days to simulate.")] = None,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """One typical patient: every scale's trajectory (trajectories.nc), figures and report.html."""
    _setup()
    from . import DISCLAIMER, workflows
    from ._errors import NeuroplastInputError

    def run():
        if not 20 <= weight <= 250:
            raise NeuroplastInputError("body weight must be between 20 and 250 kg", field="--weight", value=weight)
        if baseline_madrs is not None and not 0 <= baseline_madrs <= 60:
            raise NeuroplastInputError("MADRS must be between 0 and 60", field="--baseline-madrs", value=baseline_madrs)
        if days is not None and days <= 0:
            raise NeuroplastInputError("days must be positive", field="--days", value=days)
        return workflows.simulate_protocol(
            protocol,
            out,
            arm=arm,
            weight_kg=weight,
            age_y=age,
            female=female,
            baseline_madrs=baseline_madrs,
            allow_high_dose=allow_high_dose,
            days=days,
        )

    sim = _guard(run)
    from .catalog import READOUT_UNITS

    t = Table(title="one patient: every read-out (trajectories in trajectories.nc)")
    for col in ("read-out", "unit", "start", "peak", "lowest", "end"):
        t.add_column(col)
    for name, arr in sim.readouts.items():
        x = arr[0]
        t.add_row(name, READOUT_UNITS.get(name, ""), f"{x[0]:.4g}", f"{x.max():.4g}", f"{x.min():.4g}", f"{x[-1]:.4g}")
    console.print(t)
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


@app.command()
def pk(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML); the first arm's regimen is used.")],
    weight: Annotated[str, typer.Option(help='Body weight with its unit, e.g. "70 kg".')] = "70 kg",
    female: Annotated[bool, typer.Option(help="Female patient.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object keyed by species.")] = False,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """Non-compartmental PK of a typical patient: Cmax, Tmax, AUC and terminal half-life per species."""
    _setup()
    from . import workflows
    from ._errors import NeuroplastInputError
    from ._units import parse_quantity
    from .trials import load_spec

    def run():
        kg = parse_quantity(weight, "weight", field="--weight")
        if not 20 <= kg <= 250:
            raise NeuroplastInputError("body weight must be between 20 and 250 kg", field="--weight", value=weight)
        spec = load_spec(protocol, allow_high_dose=allow_high_dose)
        return workflows.pk_summary(spec, weight_kg=kg, female=female, allow_high_dose=allow_high_dose)

    res = _guard(run)
    if as_json:
        print(json.dumps(res, indent=1))
        return
    t = Table(title=f"PK of a typical {weight} patient, first arm of {protocol.name}")
    for col in ("species", "Cmax (ng/mL)", "Tmax (h)", "AUC (ng·h/mL)", "terminal t1/2 (h)"):
        t.add_column(col)
    for sp, r in res.items():
        th = r["terminal_half_life_h"]
        t.add_row(
            sp,
            f"{r['cmax_ng_per_ml']:.4g}",
            f"{r['tmax_h']:.3g}",
            f"{r['auc_ng_h_per_ml']:.4g}",
            "—" if th is None else f"{th:.3g}",
        )
    console.print(t)


def _source_commit() -> str:
    """The git commit of the running source (``-dirty`` with uncommitted changes; ``unknown`` outside git)."""
    import subprocess

    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _validation_table(rows, title: str) -> Table:
    t = Table(title=title, show_lines=False)
    for col in ("study", "arms", "time", "metric", "published [95% CI]", "simulated", "in CI"):
        t.add_column(col, overflow="fold")
    for r in rows:
        ci = f" [{r.lo:.3g}, {r.hi:.3g}]" if r.lo is not None and r.hi is not None else ""
        t.add_row(
            r.study,
            " vs ".join(r.arms),
            r.time or "—",
            r.metric,
            f"{r.published:.3g}{ci}",
            "—" if r.simulated is None else f"{r.simulated:.3g}",
            {True: "[green]yes[/]", False: "[red]no[/]", None: "n/a"}[r.inside],
        )
    return t


@app.command()
def validate(
    n_per_arm: Annotated[int, typer.Option(help="Patients per arm of each calibration trial.")] = 1000,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows and their provenance as JSON (docs/outputs.md).")
    ] = None,
    mechanism: Annotated[
        bool, typer.Option("--mechanism", help="Compare the mechanistic time courses instead (docs/validation.md).")
    ] = False,
    figures: Annotated[Path, typer.Option(help="With --mechanism: where the figures go.")] = Path("mechanism-figures"),
    mechanism_config: Annotated[Path | None, typer.Option(help="With --mechanism: another comparisons file.")] = None,
    mechanism_split: Annotated[Path | None, typer.Option(help="With --mechanism: another split file.")] = None,
):
    """Run every calibration trial; print simulated vs published for every calibration endpoint."""
    _setup()
    if mechanism:
        _validate_mechanism(figures, json_out, mechanism_config, mechanism_split)
        return
    import datetime

    from .calibration import evaluate
    from .calibration.conditions_validate import evaluate_conditions
    from .calibration.rows import KINDS, ValidationRow
    from .calibration.validation import artifact, check_targets_registered
    from .io import write_json
    from .simulation import default_model

    check_targets_registered()  # a role change without its registry entry fails before the long run
    commit = _source_commit()
    model = default_model()
    raw = evaluate(model, n_per_arm=n_per_arm) + evaluate_conditions(model, n_per_arm=n_per_arm)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    doc = artifact(raw, n_per_arm=n_per_arm, commit=commit, date=date)
    rows = [ValidationRow.from_dict(r) for r in doc["rows"]]
    for kind in KINDS:
        sel = [r for r in rows if r.kind == kind]
        if sel:
            console.print(_validation_table(sel, kind))
            held = [r.inside for r in sel if r.inside is not None]
            console.print(f"{kind}: {sum(held)} of {len(held)} simulated values inside the published 95% CI")
    for c in doc["role_changes"]:
        console.print(f"role change: {c['study']} {c['from']} -> {c['to']} at {c['commit'][:10]} ({c['date']})")
    if json_out:
        write_json(json_out, doc)


@app.command("validation-docs")
def validation_docs(
    artifact_json: Annotated[Path, typer.Argument(help="The JSON of neuroplast validate --json.")] = Path(
        "docs/validation.json"
    ),
    validation_md: Annotated[Path, typer.Option(help="The page with the full tables.")] = Path("docs/validation.md"),
    readme: Annotated[Path, typer.Option(help="The page with the short headline.")] = Path("README.md"),
    model_md: Annotated[
        Path, typer.Option(help="The page with the fitted parameters' intervals (identifiability.json).")
    ] = Path("docs/model.md"),
):
    """Write the validation tables of VALIDATION_MD and the headline of README from the JSON of validate, and the
    fitted parameters' intervals of MODEL_MD from the committed identifiability analysis."""
    from .calibration.validation_docs import write_pages

    for path in _guard(write_pages, artifact_json, validation_md, readme, model_md):
        console.print(f"wrote {path}")


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:.3g}"


def _validate_mechanism(figures: Path, json_out: Path | None, config: Path | None, split: Path | None) -> None:
    from .io import write_json
    from .mechanism import CONFIG_PATH, SPLIT_PATH, run

    rows = _guard(run, figures, config=config or CONFIG_PATH, split=split or SPLIT_PATH, _file=config or split)
    t = Table(title="Mechanistic time courses: simulated vs published (no parameter fitted to them yet)")
    for col in ("study", "kind", "arms", "time", "metric", "published [lo, hi]", "simulated", "inside"):
        t.add_column(col, overflow="fold")
    for r in rows:
        ci = "" if r["lo"] is None and r["hi"] is None else f" [{_g(r['lo'])}, {_g(r['hi'])}]"
        sim = "—" if r["simulated"] is None else f"{r['simulated']:.3g}"
        t.add_row(r["study"], r["kind"], r["arms"], r["time"], r["metric"], f"{r['published']:.3g}{ci}", sim,
                  {True: "[green]yes[/]", False: "[red]no[/]", None: "n/a"}[r["inside"]])  # fmt: skip
    console.print(t)
    for kind in ("mechanism_fitted", "mechanism_held_out"):
        held = [r["inside"] for r in rows if r["kind"] == kind and r["inside"] is not None]
        console.print(f"{kind}: {sum(held)} of {len(held)} simulated values inside the published interval or direction")
    console.print(f"figures: {figures}/")
    if json_out:
        write_json(json_out, rows)


@app.command("calibrate-conditions")
def calibrate_conditions(
    n_per_arm: Annotated[int, typer.Option(help="Virtual patients per calibration arm (>= 10).")] = 300,
):
    """Fit the condition parameters (PTSD, OCD) to the calibration set; write parameters/conditions_fitted.json."""
    _setup()
    from .calibration import conditions as cond

    result = _guard(cond.main, n_per_arm)
    console.print(f"wrote {cond.FITTED_PATH}: {result['values']}")


@app.command()
def params(
    scale: Annotated[str | None, typer.Option(help="Only this scale (pk, receptors, ...).")] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON list of {name, scale, value, unit, source, status, interval, at_bound} instead of "
            "the table (status: literature, fitted, weakly_identified or assumption; interval: a fitted "
            "parameter's 95% interval).",
        ),
    ] = False,
):
    """List every model parameter: value, unit, variability, source and status (how the data pin it)."""
    from .parameters import all_parameters, records

    if as_json:
        rows = [r for r in records() if not scale or r["scale"] == scale]
        typer.echo(json.dumps(rows, indent=1))
        return
    t = Table(title="neuroplast parameters")
    for col in ("scale", "name", "value", "unit", "CV", "source", "status (95% interval)", "description / note"):
        t.add_column(col, overflow="fold")
    for p, r in zip(all_parameters(), records(), strict=True):
        if scale and p.scale != scale:
            continue
        status = r["status"]
        if r["interval"] is not None:
            lo, hi = r["interval"]
            status += f" ({lo:.3g} to {'∞' if hi is None else format(hi, '.3g')})"
        if r["at_bound"]:
            status += f", at its {r['at_bound']} search bound"
        t.add_row(
            p.scale,
            p.name,
            f"{p.value:.4g}",
            p.unit,
            f"{p.cv:.0%}" if p.cv else "",
            p.source,
            status,
            p.description + (f" — {p.note}" if p.note else ""),
        )
    console.print(t)


@app.command()
def calibrate(
    n_per_arm: Annotated[
        int | None,
        typer.Option(
            help="Patients per arm of the stage run (default: each stage's own, the settings fitted.json and "
            "identifiability.json record: 1000 for stage 2, 300 for stage 3 and for identify); with --stage all, "
            "of stage 2 only."
        ),
    ] = None,
    max_evals: Annotated[int, typer.Option(help="Objective evaluations of stage 2 (Nelder-Mead).")] = 300,
    stage: Annotated[
        str,
        typer.Option(
            help="'ketamine' (stages 1-2: hours to weeks), 'slow' (stage 3: SSRIs, "
            "therapy, exercise, natural course), 'all', 'recheck' (recompute "
            "stage 2's residuals with the committed values) or 'identify' (each fitted parameter's 95% interval "
            "and status at the committed fit: parameters/identifiability.json)."
        ),
    ] = "all",
):
    """Refit the free parameters to the calibration set and write parameters/fitted.json.

    The defaults are the settings recorded in fitted.json (n_per_arm, max_evals, command)."""
    _setup()
    from .calibration import fit
    from .calibration.slow import fit_slow

    if stage not in ("ketamine", "slow", "all", "recheck", "identify"):
        from ._errors import NeuroplastInputError

        def refuse():
            raise NeuroplastInputError(
                "unknown calibration stage; known: ketamine, slow, all, recheck, identify", field="--stage", value=stage
            )

        _guard(refuse)
    if stage == "recheck":
        from .calibration.fit import reevaluate

        reevaluate(log=console.print)
        return
    from .calibration import identify
    from .calibration.fit import N_PER_ARM as STAGE2_N
    from .calibration.slow import N_PER_ARM as STAGE3_N

    if stage == "identify":
        identify.identify(n_per_arm=n_per_arm or identify.N_PER_ARM, log=console.print)
        return
    if stage in ("ketamine", "all"):
        fit(n_per_arm=n_per_arm or STAGE2_N, max_evals=max_evals, log=console.print)
    if stage in ("slow", "all"):
        fit_slow(n_per_arm=n_per_arm if stage == "slow" and n_per_arm else STAGE3_N, log=console.print)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow binding to a non-loopback address.")
    ] = False,
    max_patients: Annotated[int, typer.Option(min=1, help="Most patients of one trial (all arms).")] = 4000,
    max_upload_kb: Annotated[int, typer.Option(min=1, help="Largest request body, KiB.")] = 256,
    trial_timeout: Annotated[float, typer.Option(min=1, help="Longest run of one trial, s.")] = 600.0,
):
    """Start the web app (Explorer, Trials, Forecast, About) with uvicorn; JSON API at /api, schema at /openapi.json."""
    from ._errors import NeuroplastInputError
    from .web import Limits, create_app, is_loopback

    def check():
        if not is_loopback(host) and not allow_remote:
            raise NeuroplastInputError(
                "a non-loopback address exposes the server to other machines; pass --allow-remote to do so",
                field="--host",
                value=host,
            )

    _guard(check)
    if not is_loopback(host):
        err.print(
            f"warning: serving on {host}: anyone who can reach this address can run simulations on this "
            "machine; the app has no authentication",
            markup=False,
            highlight=False,
        )
    _setup()
    import uvicorn

    limits = Limits(max_patients=max_patients, max_body_bytes=max_upload_kb * 1024, trial_timeout_s=trial_timeout)
    console.print(f"neuroplast web app on http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(create_app(limits), host=host, port=port, log_level="warning")


# --- scale-out: power, sensitivity, cohorts streamed to disk; library in neuroplast.scaleout ---
SchedulerOpt = Annotated[
    str,
    typer.Option(
        help='Where the trials run: "local" (a local dask cluster), "none" (this '
        "process) or a dask scheduler address, e.g. tcp://host:8786."
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option(help="Worker processes of the local cluster (default: one per core, at most 8).")
]


@app.command()
def power(
    spec: Annotated[Path, typer.Argument(help="Trial specification (TOML: docs/trial-format.md), two arms or more.")],
    out: OutOpt = Path("neuroplast-power"),
    sizes: Annotated[str, typer.Option(help="Patients per arm to try, comma-separated.")] = "10,20,40,80",
    replicates: Annotated[int, typer.Option(help="Simulated trials per size.")] = 40,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    arm: Annotated[str | None, typer.Option(help="First arm of the contrast (default: the first).")] = None,
    versus: Annotated[str | None, typer.Option(help="Second arm (default: the next).")] = None,
    at: Annotated[str | None, typer.Option("--time", help="Timepoint label (default: the last).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the replicate seeds (default: the spec's).")] = None,
    target_power: Annotated[
        float, typer.Option(help="Power to find the size for: the smallest size tried reaching it, and interpolated.")
    ] = 0.8,
    scheduler: SchedulerOpt = "local",
    workers: WorkersOpt = None,
):
    """Power by simulation: replicate the trial at several sizes; P(p < alpha) of the trial's analysis (with its
    dropout) on the primary contrast."""
    _setup()
    from . import DISCLAIMER
    from .scaleout import check_target, parse_sizes, power_curve, runner, write_power
    from .trials import load_spec

    s = _guard(load_spec, spec)
    _guard(s.with_overrides, seed=seed)
    n_sizes = _guard(parse_sizes, sizes)
    _guard(check_target, target_power)

    def run():
        with runner(scheduler, workers=workers) as r:
            prog, tick = _progress(len(n_sizes) * max(replicates, 0), f"trials ({r.where})")
            with prog:
                res = power_curve(
                    s,
                    n_sizes,
                    replicates=replicates,
                    alpha=alpha,
                    seed=seed,
                    arm=arm,
                    versus=versus,
                    time=at,
                    run=r,
                    progress=tick,
                )
        write_power(res, out, target=target_power)
        return res

    res = _guard(run, _file=spec)
    e = res.endpoint
    t = Table(title=f"Power: {e.arm} vs {e.versus}, change from baseline at {e.time}, {res.test()}, p < {alpha:g}")
    for col in ("n per arm", "power", "95% interval", "mean difference (sd)", "median p"):
        t.add_column(col)
    for row in res.curve:
        t.add_row(
            str(row["n_per_arm"]),
            f"{row['power']:.0%}",
            f"{row['ci95'][0]:.0%}–{row['ci95'][1]:.0%}",
            f"{row['mean_difference_mean']:.2f} ({row['mean_difference_sd']:.2f})",
            f"{row['median_p']:.3g}",
        )
    console.print(t)
    n_min, n_int = res.smallest_size(target_power), res.interpolated_size(target_power)
    console.print(
        f"smallest size tried with power >= {target_power:.0%}: {n_min if n_min else 'none of them'} per arm"
        + (f" (interpolated: {n_int})" if n_int else "")
    )
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


@app.command()
def sensitivity(
    spec: Annotated[Path, typer.Argument(help="Trial specification (TOML: docs/trial-format.md).")],
    out: OutOpt = Path("neuroplast-sensitivity"),
    endpoint: Annotated[
        str,
        typer.Option(
            help="A summary.json key: response_rate, mean_change, "
            "median_days_to_relapse, mean_difference, cohens_d, ..."
        ),
    ] = "response_rate",
    arm: Annotated[str | None, typer.Option(help="Arm (default: the first).")] = None,
    versus: Annotated[str | None, typer.Option(help="Second arm, for a contrast endpoint.")] = None,
    at: Annotated[str | None, typer.Option("--time", help="Timepoint label (default: the last).")] = None,
    params: Annotated[
        str | None,
        typer.Option(help="Parameters, comma-separated, optionally with bounds name=lo:hi (default: the fitted ones)."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Sobol base samples N (a power of 2); N x (k + 2) trials.")] = 32,
    n_per_arm: Annotated[int, typer.Option(help="Patients per arm of each trial.")] = 64,
    spread: Annotated[float, typer.Option(help="Factor around the value for parameters without CV.")] = 1.5,
    seed: Annotated[int | None, typer.Option(help="Trial and sampling seed (default: the spec's).")] = None,
    scheduler: SchedulerOpt = "local",
    workers: WorkersOpt = None,
):
    """Sobol sensitivity (SALib) of one trial endpoint to model parameters: indices, samples and a figure."""
    _setup()
    from . import DISCLAIMER
    from .scaleout import Endpoint, parse_parameters, runner, sobol, write_sensitivity
    from .trials import load_spec

    s = _guard(load_spec, spec)
    _guard(s.with_overrides, n_per_arm=n_per_arm, seed=seed)
    names, explicit = _guard(parse_parameters, params)
    ep = _guard(Endpoint(endpoint, arm, at, versus).resolve, s)

    def run():
        with runner(scheduler, workers=workers) as r:
            prog, tick = _progress(max(samples, 0) * (len(names) + 2) + 1, f"trials ({r.where})")
            with prog:
                res = sobol(
                    s,
                    ep,
                    names=names,
                    explicit=explicit,
                    base_samples=samples,
                    n_per_arm=n_per_arm,
                    seed=seed,
                    spread=spread,
                    run=r,
                    progress=tick,
                )
        write_sensitivity(res, out)
        return res

    res = _guard(run, _file=spec)
    t = Table(title=f"Sobol indices of {res.endpoint.label()} (nominal {res.nominal:.3g})")
    for col in ("parameter", "range", "S1 (95% CI)", "ST (95% CI)"):
        t.add_column(col)
    for n, (lo, hi) in sorted(zip(res.names, res.bounds), key=lambda x: -res.indices[x[0]]["ST"]):
        ix = res.indices[n]
        t.add_row(
            n, f"{lo:.3g}–{hi:.3g}", f"{ix['S1']:.2f} ± {ix['S1_conf']:.2f}", f"{ix['ST']:.2f} ± {ix['ST_conf']:.2f}"
        )
    console.print(t)
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


@app.command()
def cohort(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML; one arm is simulated).")],
    patients: Annotated[int, typer.Option(help="Virtual patients in the cohort.")],
    out: OutOpt = Path("neuroplast-cohort"),
    chunk: Annotated[
        int | None,
        typer.Option(help="Patients per chunk streamed to disk (default: all at once if they fit in memory)."),
    ] = None,
    arm: Annotated[str | None, typer.Option(help="Arm to simulate (default: the first).")] = None,
    every: Annotated[str, typer.Option(help="Save interval, besides the spec's timepoints.")] = "1 d",
    seed: Annotated[int | None, typer.Option(help="Cohort seed (default: the spec's).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its completed chunks.")] = False,
    states: Annotated[bool, typer.Option(help="Also store every state variable.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="tsit5 (adaptive, the trials' engine) or fast (closed-form PK + "
            "Rosenbrock-W with error control, ~20x faster; docs/scale.md)."
        ),
    ] = "tsit5",
    float32: Annotated[
        bool,
        typer.Option(
            help="Float32 arithmetic, with --engine fast: 1.3x faster on 2 CPU cores "
            "(benchmarks/README.md), read-outs within 0.03 MADRS points of float64 in the "
            "benchmark (docs/scale.md)."
        ),
    ] = False,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """A large cohort streamed to a Zarr store in chunks (bounded memory; resumable): cohort.zarr, summary.json."""
    _setup()
    from . import DISCLAIMER
    from ._errors import NeuroplastInputError
    from ._units import parse_quantity
    from .engine import by_name
    from .scaleout import plan_stream, run_stream
    from .trials import load_spec

    s = _guard(load_spec, protocol, allow_high_dose=allow_high_dose)
    _guard(s.with_overrides, seed=seed)
    every_h = _guard(parse_quantity, every, "time", field="--every")

    def check_engine():
        if engine not in ("tsit5", "fast"):
            raise NeuroplastInputError("unknown engine; use tsit5 or fast", field="--engine", value=engine)
        if float32 and engine != "fast":
            raise NeuroplastInputError(
                "float32 needs --engine fast (Tsit5's tolerances need float64)", field="--float32", value=engine
            )

    _guard(check_engine)
    if float32:  # before the model is built: every array of this process in float32
        import jax

        jax.config.update("jax_enable_x64", False)
    plan = _guard(
        plan_stream,
        s,
        out,
        patients=patients,
        chunk=chunk,
        arm=arm,
        every_h=every_h,
        seed=seed,
        resume=resume,
        states=states,
        allow_high_dose=allow_high_dose,
        engine=by_name(engine),
        _file=protocol,
    )
    prog, tick = _progress(patients, "simulating")
    try:
        with prog:
            res = _guard(run_stream, plan, progress=tick, _file=protocol)
    except KeyboardInterrupt:
        err.print(
            f"interrupted: the completed chunks are kept in {out}.partial; run the same command with --resume "
            "to continue",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(130) from None
    sm = res.summary
    console.print(
        f"{sm['patients']} patients ({sm['n_failed']} failed) in {sm['chunks']} chunk(s) of {sm['chunk']}, "
        f"{sm['saved_times']} saved times; {sm['chunks_resumed']} chunk(s) taken from the interrupted run"
    )
    console.print(f"outputs: {out} (open with neuroplast.scaleout.open_cohort)")
    console.print(DISCLAIMER)


@app.command("nonmem")
def nonmem_import(
    data: Annotated[
        Path,
        typer.Argument(help="NONMEM-style dataset (CSV: ID, TIME, AMT, RATE, CMT, EVID, DV; see docs/interop.md)."),
    ],
    out: OutOpt = Path("neuroplast-nonmem"),
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """Simulate every ID of a NONMEM dataset; write predictions.csv (PRED, PRED_REF, RES beside DV) and summary.json."""
    _setup()
    from . import DISCLAIMER
    from .io.nonmem import nonmem_to_dir

    _, summary = _guard(nonmem_to_dir, data, out, allow_high_dose=allow_high_dose)
    t = Table(title=f"{data.name}: {summary['n_individuals']} individuals, {summary['n_records']} records")
    for col in ("analyte", "unit", "records", "observed", "mean DV - PRED", "median DV/PRED"):
        t.add_column(col)
    for name, a in summary["analytes"].items():
        t.add_row(
            name,
            a["unit"],
            str(a["n_records"]),
            str(a["n_observed"]),
            "—" if a["mean_residual"] is None else f"{a['mean_residual']:.3g}",
            "—" if a["median_dv_over_pred"] is None else f"{a['median_dv_over_pred']:.3g}",
        )
    console.print(t)
    if summary["ignored_columns"]:
        console.print(f"columns carried through unused: {', '.join(summary['ignored_columns'])}")
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


@app.command("nonmem-export")
def nonmem_export(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset to write (CSV, written atomically).")] = Path(
        "neuroplast-nonmem.csv"
    ),
    arm: Annotated[list[str] | None, typer.Option(help="Arm(s) to export (default: all).")] = None,
    patients: Annotated[int, typer.Option(help="Virtual patients per arm (0: the typical patient).")] = 0,
    seed: Annotated[int | None, typer.Option(help="Cohort seed (default: the spec's).")] = None,
    times: Annotated[
        str | None, typer.Option(help='Sampling times from the first dose, e.g. "10 min, 40 min, 2 h, 1 d".')
    ] = None,
    analytes: Annotated[
        str | None,
        typer.Option(
            help="Read-outs to sample (names or DVID numbers, comma-separated; default: plasma of each drug)."
        ),
    ] = None,
    error_cv: Annotated[float, typer.Option(help="Proportional residual error CV added to DV.")] = 0.0,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """Export a protocol's arms as a NONMEM dataset: dose records and simulated EVID=0 DV records."""
    _setup()
    from . import DISCLAIMER
    from .io.nonmem import export_nonmem, parse_analytes, parse_times, write_nonmem
    from .trials import load_spec

    def run():
        spec = load_spec(protocol, allow_high_dose=allow_high_dose)
        df = export_nonmem(
            spec,
            arms=arm,
            n_patients=patients,
            seed=seed,
            times_h=parse_times(times) if times is not None else None,
            analytes=parse_analytes(analytes) if analytes is not None else None,
            error_cv=error_cv,
            allow_high_dose=allow_high_dose,
        )
        write_nonmem(df, out)
        return df

    df = _guard(run)
    console.print(
        f"{df['ID'].nunique()} individuals, {int((df['EVID'] == 1).sum())} dose and "
        f"{int((df['EVID'] == 0).sum())} observation records: {out}"
    )
    console.print(DISCLAIMER)


@app.command()
def sbml(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML; one arm is exported).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="SBML file to write (written atomically).")] = Path(
        "neuroplast-model.xml"
    ),
    arm: Annotated[str | None, typer.Option(help="Arm to export (default: the first).")] = None,
    weight: Annotated[float, typer.Option(help="Body weight, kg.")] = 70.0,
    age: Annotated[float, typer.Option(help="Age, years.")] = 45.0,
    female: Annotated[bool, typer.Option(help="Female patient.")] = False,
    allow_high_dose: Annotated[bool, typer.Option(help="Export doses above the safety ceilings.")] = False,
):
    """Export the PK/PD part of the model for one typical patient and one arm as SBML (Level 3 Version 2)."""
    _setup()
    from . import DISCLAIMER
    from .io.sbml import protocol_to_sbml

    res = _guard(
        protocol_to_sbml,
        protocol,
        out,
        arm=arm,
        weight_kg=weight,
        female=female,
        age_y=age,
        allow_high_dose=allow_high_dose,
    )
    console.print(
        f"{len(res.species)} PK species, {len(res.depots)} depot(s), {len(res.readouts)} read-outs as "
        f"assignment rules ({', '.join(res.readouts)}): {out}"
    )
    console.print(DISCLAIMER)


@app.command()
def forecast(
    history: Annotated[
        Path, typer.Argument(help="The patient's history: CSV or a FHIR R4 Bundle (.json); see docs/forecast.md.")
    ],
    out: OutOpt = Path("neuroplast-forecast"),
    weeks: Annotated[float, typer.Option(help="Forecast horizon, weeks.")] = 8.0,
    target: Annotated[str, typer.Option(help='Keep this score below a threshold, e.g. "PHQ9<10".')] = "PHQ9<10",
    probability: Annotated[float, typer.Option(help="...with at least this probability.")] = 0.8,
    min_days: Annotated[float, typer.Option(help="Minimum days between infusions.")] = 7.0,
    weekdays_only: Annotated[bool, typer.Option(help="Boosters on weekdays only.")] = True,
    method: Annotated[
        str, typer.Option(help="Posterior: laplace (MAP + Laplace, fast) or nuts (NumPyro).")
    ] = "laplace",
    now: Annotated[str | None, typer.Option(help="Forecast from this ISO 8601 time (default: now).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = 0,
    label: Annotated[
        str | None,
        typer.Option(help="A label to print on the outputs (none by default: outputs carry no name or identifier)."),
    ] = None,
    allow_high_dose: Annotated[
        bool, typer.Option(help="Read a history with doses above the safety ceilings (per dose or per 24 h).")
    ] = False,
):
    """Fit the model to one patient's scores; forecast, relapse risk and booster plans (forecast.json, report.html)."""
    _setup()
    import datetime as dt

    from ._errors import NeuroplastInputError
    from .forecast import Constraints, parse_target
    from .forecast import forecast as run_forecast
    from .forecast.report import DISCLAIMER as FORECAST_DISCLAIMER
    from .forecast.report import write_outputs
    from .io.history import read_history

    def run():
        when = dt.datetime.now(dt.UTC)
        if now is not None:
            try:
                when = dt.datetime.fromisoformat(now)
            except ValueError:
                raise NeuroplastInputError("not an ISO 8601 date-time", field="--now", value=now) from None
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        tgt = parse_target(target, probability)
        h = read_history(history, now=when, allow_high_dose=allow_high_dose)
        result = run_forecast(
            h,
            weeks=weeks,
            target=tgt,
            method=method,
            now=when,
            seed=seed,
            label=label,
            constraints=Constraints(weekdays_only=weekdays_only, min_days=min_days),
        )
        write_outputs(result, out)
        return result

    result = _guard(run)
    d = result.data
    rel, rec = d["relapse"], d["plans"][0]
    if rel["probability"] is not None:
        console.print(
            f"relapse ({d['target']['label']}) within {weeks:g} weeks without further doses: "
            f"{rel['probability']:.0%}; median date: {(rel['median_time'] or 'not reached')[:10]}"
        )
    console.print(
        f"recommended: {rec['name']}: {rec['n_doses']} dose(s) "
        f"{' '.join(x[:10] for x in rec['doses'])}; target met with probability "
        f"{rec['probability_target_met']:.0%}" + ("" if rec["meets_target"] else " (below the target)")
    )
    for w in d["posterior"].get("warnings", []):
        err.print(f"warning: {w}", markup=False, highlight=False)
    console.print(f"outputs: {out}")
    console.print(FORECAST_DISCLAIMER)


@app.command()
def circuit(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (trial TOML; one arm is simulated).")],
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at", help="Snapshot time (repeat the option; default 0 d, 1 d, 7 d; changes are against the first)."
        ),
    ] = None,
    out: OutOpt = Path("neuroplast-circuit"),
    arm: Annotated[str | None, typer.Option(help="Arm to simulate (default: the first).")] = None,
    weight: Annotated[float, typer.Option(help="Body weight, kg.")] = 70.0,
    female: Annotated[bool, typer.Option(help="Female patient.")] = False,
    days: Annotated[float | None, typer.Option(help="Days to simulate.")] = None,
    allow_high_dose: Annotated[bool, typer.Option(help="Simulate doses above the safety ceilings.")] = False,
):
    """Mood-circuit activity and functional connectivity of one typical patient (circuit.json, figures/circuit.png)."""
    _setup()
    from . import DISCLAIMER, workflows
    from ._errors import NeuroplastInputError

    def run():
        if not 20 <= weight <= 250:
            raise NeuroplastInputError("body weight must be between 20 and 250 kg", field="--weight", value=weight)
        if days is not None and days <= 0:
            raise NeuroplastInputError("days must be positive", field="--days", value=days)
        return workflows.circuit_protocol(
            protocol,
            out,
            at=at or ["0 d", "1 d", "7 d"],
            arm=arm,
            weight_kg=weight,
            female=female,
            allow_high_dose=allow_high_dose,
            days=days,
        )

    doc = _guard(run)
    t = Table(title="mood circuit: regional activity (fraction of maximal rate; healthy = 0.5)")
    t.add_column("region")
    for s in doc["snapshots"]:
        t.add_column(s["time"])
    for r in doc["regions"]:
        t.add_row(doc["labels"][r], *[f"{s['activity'][r]:.3f}" for s in doc["snapshots"]])
    console.print(t)
    console.print(f"outputs: {out}")
    console.print(DISCLAIMER)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
