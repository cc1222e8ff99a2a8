"""neuroplast validate's rows: the consistency rule, the role registry and the generated docs.

Fast: synthetic endpoints and rows, the committed targets and registry, the committed artifact; no simulation.
Oracles are stated per test; no numerical tolerances are needed (the checks are exact: classifications, keys,
text).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from neuroplast.calibration.conditions_validate import USE as CONDITION_USE
from neuroplast.calibration.consistency import Endpoint, classify
from neuroplast.calibration.rows import KEYS, KINDS, ValidationRow
from neuroplast.calibration.validation import artifact, check_targets_registered, validation_rows
from neuroplast.calibration.validation_docs import counts, headline_block, splice, validation_block
from neuroplast.evidence import study_ids
from neuroplast.evidence.roles import registry, role_changes
from neuroplast.evidence.targets import POOLED, TARGETS, Pooled

ROOT = Path(__file__).resolve().parents[1]


def _ep(study, arm, time, metric, use, trial="single"):
    return Endpoint(study, trial, arm, time, metric, use)


def _kinds(endpoints, pooled=None):
    return [k for k, _ in classify(endpoints, {} if pooled is None else pooled)]


# ---- the consistency rule ---------------------------------------------------------------------------------------


def test_named_cases_in_the_targets_are_consistency():
    """Oracle: the cases a reviewer named (same simulated statistic as a fitted endpoint of another study):
    dean2021 vs murrough2013_ajp (odds ratio) and vs wilkinson2019 (d), kishimoto2016 vs wilkinson2019 (d vs
    saline), xu2016 remission vs han2016 (ketamine remission at 7 d)."""
    eps = [Endpoint.of(t) for t in TARGETS]
    kinds = dict(zip(((e.study, e.arm, e.metric) for e in eps), classify(eps), strict=False))
    for key, fitted in (
        (("dean2021_cochrane", "ketamine vs midazolam", "odds_ratio_response"), "murrough2013_ajp"),
        (("dean2021_cochrane", "ketamine vs midazolam", "cohens_d"), "wilkinson2019_midazolam_vs_saline"),
        (("kishimoto2016_meta", "ketamine vs saline", "cohens_d"), "wilkinson2019_midazolam_vs_saline"),
        (("xu2016_meta", "ketamine", "remission_rate"), "han2016_meta"),
    ):
        kind, why = kinds[key]
        assert kind == "consistency", key
        assert fitted in why, (key, why)


def test_fitted_stays_fitted_and_nothing_becomes_fitted():
    """Oracle: the rule only reclassifies never-fitted endpoints; fit -> fitted, one to one."""
    eps = [Endpoint.of(t) for t in TARGETS]
    for e, (kind, _) in zip(eps, classify(eps), strict=True):
        assert (kind == "fitted") == (e.use == "fit"), e


def test_same_statistic_under_another_name_is_consistency():
    """Oracle: the same simulated number read another way: the contrast's arms in the other order, the time in
    other units (24 h = 1 d), Hedges g for Cohen's d."""
    fit = _ep("a", "ketamine vs saline", "1 d", "cohens_d", "fit")
    for other in (
        _ep("b", "saline vs ketamine", "1 d", "cohens_d", "holdout"),
        _ep("b", "ketamine vs saline", "24 h", "cohens_d", "holdout"),
        _ep("b", "ketamine vs saline", "1 d", "hedges_g", "holdout"),
    ):
        assert _kinds([fit, other]) == ["fitted", "consistency"], other


def test_a_time_label_that_is_no_quantity_is_compared_as_written():
    """Oracle: bloch2012_ocd's "days 1-3" is not a time quantity; equal labels are the same statistic."""
    fit = _ep("a", "ketamine", "days 1-3", "response_rate", "fit", trial="ocd")
    same = _ep("b", "ketamine", "days 1-3", "response_rate", "holdout", trial="ocd")
    other = _ep("b", "ketamine", "days 1-4", "response_rate", "holdout", trial="ocd")
    assert _kinds([fit, same, other]) == ["fitted", "consistency", "held_out"]


def test_a_different_statistic_stays_held_out():
    """Oracle: another time, metric, arm or calibration trial is a different simulated number."""
    fit = _ep("a", "ketamine vs saline", "1 d", "cohens_d", "fit")
    for other in (
        _ep("b", "ketamine vs saline", "7 d", "cohens_d", "holdout"),
        _ep("b", "ketamine vs saline", "1 d", "odds_ratio_response", "holdout"),
        _ep("b", "ketamine vs midazolam", "1 d", "cohens_d", "holdout"),
        _ep("b", "ketamine vs saline", "1 d", "cohens_d", "holdout", trial="repeated"),
        _ep("b", "ketamine", "1 d", "cohens_d", "holdout"),
    ):
        assert _kinds([fit, other]) == ["fitted", "held_out"], other


def test_pooled_studies_decide_overlap():
    """Oracle: the stated rule. A held-out pooled analysis that lists a fitted study is consistency; one whose list
    has no fitted study is held out; a fitted pooled analysis that lists the held-out study makes it consistency;
    two analyses pooling a common study overlap."""
    fit = _ep("trial_f", "ketamine", "2 h", "mean_change", "fit")
    held = _ep("meta_h", "ketamine vs saline", "7 d", "risk_ratio_response", "holdout")
    assert _kinds([fit, held], {"meta_h": Pooled(("trial_f",), "t")}) == ["fitted", "consistency"]
    assert _kinds([fit, held], {"meta_h": Pooled(("trial_x",), "t")}) == ["fitted", "held_out"]
    assert _kinds([fit, held], {"trial_f": Pooled(("meta_h",), "t")}) == ["fitted", "consistency"]
    both = {"meta_h": Pooled(("trial_x",), "t"), "trial_f": Pooled(("trial_x",), "t")}
    assert _kinds([fit, held], both) == ["fitted", "consistency"]


def test_unlisted_pools_are_treated_conservatively():
    """Oracle: the stated conservative rule. A pooled analysis with no study list may pool any fitted study of the
    same calibration trial sharing an arm (consistency); with no shared arm or another trial it stays held out."""
    unknown = {"meta_h": Pooled(None, "t")}
    fit = _ep("trial_f", "ketamine vs midazolam", "1 d", "mean_difference", "fit")
    shared = _ep("meta_h", "ketamine vs saline", "7 d", "risk_ratio_response", "holdout")
    assert _kinds([fit, shared], unknown) == ["fitted", "consistency"]
    apart = _ep("meta_h", "saline", "7 d", "remission_rate", "holdout")
    assert _kinds([fit, apart], unknown) == ["fitted", "held_out"]
    elsewhere = _ep("meta_h", "ketamine", "7 d", "remission_rate", "holdout", trial="repeated")
    assert _kinds([fit, elsewhere], unknown) == ["fitted", "held_out"]


def test_every_pooled_entry_names_calibration_studies():
    """Oracle: clinical_calibration.yaml's ids; a listed pooled study must be one of them, and every pooled study
    of the targets is in POOLED with its source."""
    ids = study_ids() | {"spravato_label_bp_increase"}  # the label is a pharmacology source
    for study, p in POOLED.items():
        assert study in ids and p.source, study
        assert p.studies is None or set(p.studies) <= ids, study


# ---- the role registry ----------------------------------------------------------------------------------------


def test_targets_agree_with_the_role_registry():
    """Oracle: evidence/roles.yaml. A target whose use differs from its registered role (a silent move between fit
    and held out) fails here."""
    check_targets_registered()


def test_condition_rows_agree_with_the_role_registry():
    """Oracle: evidence/roles.yaml, for the condition rows' uses."""
    for study, use in CONDITION_USE.items():
        assert registry()[study]["role"] == use, study


def test_registry_lists_exactly_the_compared_studies():
    """Oracle: the studies of targets.py and of the condition rows; a removed study is no longer compared."""
    compared = {t.study for t in TARGETS} | set(CONDITION_USE)
    live = {s for s, e in registry().items() if e["role"] != "removed"}
    assert live == compared
    assert not {s for s, e in registry().items() if e["role"] == "removed"} & compared


def test_role_registry_records_commits_and_history():
    """Oracle: git history of targets.py (`git log -S kishimoto2016 -- src/neuroplast/evidence/targets.py`):
    kishimoto2016_meta moved from fit to holdout at b68d9ba. Every since/commit is a full hash; each history
    ends in the current role."""
    full = re.compile(r"^[0-9a-f]{40}$")
    for study, e in registry().items():
        assert full.match(e["since"]), study
        hist = e.get("history", [])
        for h in hist:
            assert full.match(h["commit"]) and h["from"] != h["to"] and h["reason"].strip(), study
        if hist:
            assert hist[-1]["to"] == e["role"] and hist[-1]["commit"] == e["since"], study
    (k,) = [c for c in role_changes() if c["study"] == "kishimoto2016_meta"]
    assert (k["from"], k["to"], k["commit"][:7]) == ("fit", "holdout", "b68d9ba")


def test_a_row_whose_use_disagrees_with_the_registry_is_refused():
    """Oracle: the registry says murrough2013_ajp is fitted; a row using it as held out must be refused."""
    raw = _raw("murrough2013_ajp", "ketamine vs midazolam", "1 d", "odds_ratio_response", "holdout")
    with pytest.raises(ValueError, match="roles.yaml"):
        validation_rows([raw])


# ---- rows and artifact ----------------------------------------------------------------------------------------


def _raw(study, arm, time, metric, use, trial="single", value=1.0, simulated=1.1):
    return {
        "study": study,
        "trial": trial,
        "arm": arm,
        "time": time,
        "metric": metric,
        "value": value,
        "lo": 0.5,
        "hi": 1.5,
        "use": use,
        "simulated": simulated,
        "ci_holds": None if simulated is None else 0.5 <= simulated <= 1.5,
    }


def _synthetic_raw():
    return [
        _raw("wilkinson2019_midazolam_vs_saline", "ketamine vs saline", "1 d", "cohens_d", "fit"),
        _raw("kishimoto2016_meta", "ketamine vs saline", "1 d", "cohens_d", "holdout", simulated=2.0),
        _raw("cuijpers2023_cbt", "cbt + escitalopram vs escitalopram", "84 d", "cohens_d", "holdout", "psychotherapy"),
        _raw("dakwar2020_alcohol", "ketamine vs midazolam", "21 d", "mean_difference < 0 (PDD)", "direction", "aud"),
    ]


def test_rows_have_exactly_the_documented_keys():
    """Oracle: docs/outputs.md's schema (rows.KEYS); kinds from the stated rule; arms split at ' vs '."""
    doc = artifact(_synthetic_raw(), n_per_arm=10, commit="0" * 40, date="2026-01-01")
    assert set(doc) == {"commit", "date", "n_per_arm", "role_changes", "consistency", "rows"}
    assert all(tuple(r) == KEYS for r in doc["rows"])
    assert [r["kind"] for r in doc["rows"]] == ["fitted", "consistency", "held_out", "held_out"]
    assert doc["rows"][2]["arms"] == ["cbt + escitalopram", "escitalopram"]
    assert [c["study"] for c in doc["consistency"]] == ["kishimoto2016_meta"]
    assert json.loads(json.dumps(doc)) == doc  # plain JSON


def test_row_type_checks_and_round_trips():
    """Oracle: the schema. Every kind (the mechanism kinds included) is accepted, others refused; a non-finite
    simulated value is written as null; from_dict(to_dict(row)) is the row."""
    for kind in KINDS:
        row = ValidationRow("s", kind, ("a",), None, "m", 1.0, None, None, math.nan, None)
        assert row.to_dict()["simulated"] is None
        ok = ValidationRow("s", kind, ("a", "b"), "1 d", "m", 1.0, 0.0, 2.0, 1.5, True)
        assert ValidationRow.from_dict(ok.to_dict()) == ok
    with pytest.raises(ValueError, match="kind"):
        ValidationRow("s", "holdout", ("a",), None, "m", 1.0, None, None, None, None)
    with pytest.raises(ValueError, match="keys"):
        ValidationRow.from_dict({**ok.to_dict(), "note": ""})


# ---- the generated docs ---------------------------------------------------------------------------------------


def test_generator_counts_and_splices():
    """Oracle: counting by hand in the synthetic artifact (fitted 1 of 1; consistency 0 of 1, its 2.0 outside
    [0.5, 1.5]; held out 2 of 2, both 1.1);
    splicing twice gives the same text (idempotent) and keeps the prose around the markers."""
    doc = artifact(_synthetic_raw(), n_per_arm=10, commit="a" * 40, date="2026-01-01")
    rows = [ValidationRow.from_dict(r) for r in doc["rows"]]
    assert counts(rows) == {"fitted": (1, 1, 1), "held_out": (2, 2, 2), "consistency": (0, 1, 1)}
    block = validation_block(doc)
    assert "`aaaaaaaaaaaa`" in block and "2026-01-01" in block and "10 virtual patients per arm" in block
    assert "fewer than the default 1,000" in block  # a small run says so
    assert "kishimoto2016_meta | fit | holdout" in block  # the role change is listed
    head = headline_block(doc)
    assert "fitted 1 of 1" in head and "held out 2 of 2" in head and "consistency 0 of 1" in head
    text = (
        "before\n<!-- begin validation-table: generated by `neuroplast validation-docs docs/validation.json`; "
        "do not edit -->\nSTALE BLOCK\n<!-- end validation-table -->\nafter\n"
    )
    once = splice(text, "validation-table", block)
    assert splice(once, "validation-table", block) == once
    assert once.startswith("before\n") and once.endswith("after\n") and "STALE BLOCK" not in once


def test_committed_docs_are_generated_from_the_committed_artifact():
    """Oracle: the generator itself. docs/validation.md and README.md must be exactly what `neuroplast
    validation-docs docs/validation.json` makes of the committed JSON, so the tables cannot drift from it."""
    doc = json.loads((ROOT / "docs" / "validation.json").read_text())
    for r in doc["rows"]:
        ValidationRow.from_dict(r)
    from neuroplast.calibration.identify import identifiability_block
    from neuroplast.parameters import IDENTIFIABILITY_PATH

    for path, name, block in (
        (ROOT / "docs" / "validation.md", "validation-table", validation_block(doc)),
        (ROOT / "README.md", "validation-headline", headline_block(doc)),
        (
            ROOT / "docs" / "model.md",
            "identifiability-table",
            identifiability_block(json.loads(IDENTIFIABILITY_PATH.read_text())),
        ),
    ):
        text = path.read_text()
        assert splice(text, name, block) == text, f"{path.name} differs from its generator: run validation-docs"


def test_committed_artifact_lists_the_role_changes():
    """Oracle: evidence/roles.yaml; the artifact carries every recorded role change."""
    doc = json.loads((ROOT / "docs" / "validation.json").read_text())
    assert doc["role_changes"] == role_changes()


# ---- calibrate's defaults --------------------------------------------------------------------------------------


def test_calibrate_defaults_are_the_settings_of_fitted_json():
    """Oracle: fitted.json's recorded settings (n_per_arm, max_evals, command; slow: n_per_arm,
    max_evals_per_block, command) and identifiability.json's. `neuroplast calibrate` with no options must run with
    exactly those."""
    import inspect

    from neuroplast import cli
    from neuroplast.calibration.fit import fit
    from neuroplast.calibration.slow import fit_slow
    from neuroplast.parameters import FITTED_PATH

    doc = json.loads(FITTED_PATH.read_text())
    cli_defaults = {k: p.default for k, p in inspect.signature(cli.calibrate).parameters.items()}
    fit_defaults = {k: p.default for k, p in inspect.signature(fit).parameters.items()}
    slow_defaults = {k: p.default for k, p in inspect.signature(fit_slow).parameters.items()}
    assert cli_defaults["stage"] == "all"
    assert cli_defaults["n_per_arm"] is None  # each stage runs at its own default
    assert fit_defaults["n_per_arm"] == doc["n_per_arm"]
    assert slow_defaults["n_per_arm"] == doc["slow"]["n_per_arm"]
    assert cli_defaults["max_evals"] == fit_defaults["max_evals"] == doc["max_evals"]
    assert slow_defaults["max_evals_per_block"] == doc["slow"]["max_evals_per_block"]
    assert (
        doc["command"]
        == f"neuroplast calibrate --stage all --n-per-arm {doc['n_per_arm']} --max-evals {doc['max_evals']}"
    )
    assert doc["slow"]["command"] == f"neuroplast calibrate --stage slow --n-per-arm {doc['slow']['n_per_arm']}"
    from neuroplast.calibration.identify import identify
    from neuroplast.parameters import IDENTIFIABILITY_PATH

    ident = json.loads(IDENTIFIABILITY_PATH.read_text())
    assert inspect.signature(identify).parameters["n_per_arm"].default == ident["n_per_arm"]
    assert ident["command"] == f"neuroplast calibrate --stage identify --n-per-arm {ident['n_per_arm']}"


def test_validate_default_is_the_documented_cohort():
    """Oracle: calibration.validation.N_PER_ARM, which the generated docs compare a run's n with."""
    import inspect

    from neuroplast import cli
    from neuroplast.calibration.validation import N_PER_ARM

    assert inspect.signature(cli.validate).parameters["n_per_arm"].default == N_PER_ARM


def test_validation_docs_command_rewrites_the_blocks(tmp_path):
    """Oracle: the committed pages (generated from the committed JSON). The command restores a block edited by
    hand, and a page without markers is refused with exit status 2, writing neither page."""
    from typer.testing import CliRunner

    from neuroplast.cli import app

    md, readme, model_md = tmp_path / "validation.md", tmp_path / "README.md", tmp_path / "model.md"
    model_md.write_text((ROOT / "docs" / "model.md").read_text())
    committed_md = (ROOT / "docs" / "validation.md").read_text()
    md.write_text(committed_md.replace("| fitted |", "| fitted (edited) |"))
    readme.write_text((ROOT / "README.md").read_text())
    args = [
        "validation-docs",
        str(ROOT / "docs" / "validation.json"),
        "--validation-md",
        str(md),
        "--readme",
        str(readme),
        "--model-md",
        str(model_md),
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert md.read_text() == committed_md
    readme.write_text("no markers\n")
    md.write_text("edited\n")
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and md.read_text() == "edited\n"
