"""Mechanistic time courses: the split, the observation models, the species mapping, the comparison and its CLI.

Nothing here fits a parameter; the comparison's numbers are reported (docs/validation.md), not asserted.
"""

import json
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroplast._errors import NeuroplastInputError
from neuroplast.catalog import READOUTS
from neuroplast.evidence import source_ids, timecourse_ids
from neuroplast.mechanism import (
    CONFIG_PATH,
    FAMILIES,
    SPLIT_PATH,
    UNAVAILABLE,
    load_comparisons,
    load_mappings,
    load_split,
    observed,
    percent_change,
    rows,
    simulate_entry,
)
from neuroplast.mechanism.observe import formation_rate, prefrontal_gbc, synaptic_strength_ltp
from neuroplast.scales.plasticity import Spines

from .cli_run import invoke

ROW_KEYS = {"study", "kind", "arms", "time", "metric", "published", "lo", "hi", "simulated", "inside"}


# ---- the split -------------------------------------------------------------------------------------------


def test_split_covers_every_entry_exactly_once():
    # oracle: the evidence file's own list of ids; the YAML text itself, so a key given twice (which a YAML loader
    # would silently merge) is caught too
    split = load_split()
    assert set(split) == set(timecourse_ids())
    assert len(split) == len(timecourse_ids()) == 58
    text = SPLIT_PATH.read_text()
    for eid in timecourse_ids():
        assert text.count(f"\n  {eid}:") == 1, eid
    assert yaml.safe_load(text)["rule"].strip()
    for e in split.values():
        assert e.reason.strip()
        assert (e.family in FAMILIES) == (e.use != "unused")


def test_split_has_both_kinds_and_only_known_families():
    split = load_split()
    uses = {e.use for e in split.values()}
    assert uses == {"fit", "held_out", "unused"}
    assert {e.family for e in split.values() if e.family} <= set(FAMILIES)


def test_every_compared_entry_has_a_comparison_with_known_readouts():
    comparisons = load_comparisons()
    split = load_split()
    assert {c.id for c in comparisons} == {i for i, e in split.items() if e.use != "unused"}
    for c in comparisons:
        assert set(FAMILIES[c.family].readouts) <= set(READOUTS)
        assert c.kind == {"fit": "mechanism_fitted", "held_out": "mechanism_held_out"}[split[c.id].use]


def _bad_split(tmp_path, mutate):
    data = yaml.safe_load(SPLIT_PATH.read_text())
    mutate(data)
    path = tmp_path / "split.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("mutate", "field", "value"),
    [
        (lambda d: d["entries"].update({"nobody2099_made_up": {"use": "fit", "family": "mrs_glx", "reason": "x"}}),
         "entries", "nobody2099_made_up"),
        (lambda d: d["entries"]["milak2016_mpfc_glx_gaba_surge"].update({"family": "gamma_power"}),
         "entries.milak2016_mpfc_glx_gaba_surge.family", "gamma_power"),
        (lambda d: d["entries"].pop("evans2018_pgacc_glu_24h_7T"), "entries", "evans2018_pgacc_glu_24h_7T"),
        (lambda d: d["entries"]["evans2018_pgacc_glu_24h_7T"].update({"use": "maybe"}),
         "entries.evans2018_pgacc_glu_24h_7T.use", "maybe"),
    ],
)  # fmt: skip
def test_bad_split_names_file_field_and_value(tmp_path, mutate, field, value):
    path = _bad_split(tmp_path, mutate)
    with pytest.raises(NeuroplastInputError) as e:
        load_split(path)
    assert (e.value.file, e.value.field, e.value.value) == (str(path), field, value)


def test_split_with_a_duplicated_entry_is_refused(tmp_path):
    text = SPLIT_PATH.read_text()
    line = next(x for x in text.splitlines() if x.startswith("  milak2016_mpfc_glx_gaba_surge:"))
    path = tmp_path / "split.yaml"
    path.write_text(text + line.replace("use: fit", "use: held_out") + "\n")
    with pytest.raises(NeuroplastInputError, match="named twice") as e:
        load_split(path)
    assert e.value.file == str(path) and e.value.value == "milak2016_mpfc_glx_gaba_surge"


# ---- observation models --------------------------------------------------------------------------------


def test_percent_change_closed_form():
    # oracle: arithmetic, 100 (x / x0 - 1) per patient row
    raw = np.array([[2.0, 3.0, 1.0], [0.5, 0.5, 0.75]])
    np.testing.assert_allclose(percent_change(raw), [[0.0, 50.0, -50.0], [0.0, 0.0, 50.0]], rtol=0, atol=1e-12)


def test_relative_states_become_percent_of_the_pre_dose_level():
    # oracle: a glutamate state of +0.378 (relative to the untreated brain) is +37.8 %; a pre-dose value that is not
    # zero is the reference: 1.2 / 1.1 - 1
    ro = {"glutamate": np.array([[0.0, 0.378, 0.0], [0.1, 0.2, 0.1]])}
    got = observed(FAMILIES["mrs_glx"], ro)
    np.testing.assert_allclose(got, [[0.0, 37.8, 0.0], [0.0, 100 * (1.2 / 1.1 - 1), 0.0]], atol=1e-12)


def test_spine_formation_rate_closed_form():
    # oracle: the formation term of Spines.rhs, 1 + r (g max(mTOR, 0) + g_T T + g_X X) (1 - s) / (1 - s*), by hand,
    # with s* = 1 / (1 + 0.25) = 0.8: at the baseline density the vacant share is 1, at 0.9 it is 1/2; negative
    # mTORC1 does not lower formation (the model clips it)
    one = lambda x: np.array([x])  # noqa: E731
    spines = Spines(
        lifetime_h=one(300.0), gain=one(2.0), potentiation_gain=one(0.0), tau_potentiation=one(1.0),
        stress=one(0.25), responsiveness=one(1.5), ssri_gain=one(0.1), fitness_gain=one(0.2), stress_coupling=one(0.0),
    )  # fmt: skip
    model = types.SimpleNamespace(spines=spines)
    ro = {
        "spine_density": np.array([[0.8, 0.8, 0.9]]),
        "mtorc1": np.array([[0.0, 0.5, -0.3]]),
        "trophic": np.zeros((1, 3)),
        "fitness": np.array([[0.0, 0.0, 1.0]]),
    }
    raw = formation_rate(ro, model)
    np.testing.assert_allclose(raw, [[1.0, 1.0 + 1.5 * 1.0, 1.0 + 1.5 * 0.2 * 0.5]], atol=1e-12)
    np.testing.assert_allclose(percent_change(raw), [[0.0, 150.0, 15.0]], atol=1e-12)


def test_ltp_is_the_potentiation_gained_over_pre_dose_connectivity():
    # oracle: 100 (p - p0) / (s0 + p0) by hand, spines growing later do not count
    ro = {"spine_density": np.array([[0.8, 0.9, 1.0]]), "potentiation": np.array([[0.0, 0.08, 0.04]])}
    np.testing.assert_allclose(percent_change(synaptic_strength_ltp(ro, None)), [[0.0, 10.0, 5.0]], atol=1e-12)


def test_prefrontal_gbc_is_steady_when_plasticity_is_steady():
    # oracle: no change of the circuit's inputs -> no change of its connectivity (a conservation check; the circuit
    # itself is tested in test_circuits.py)
    ro = {
        "spine_density": np.full((1, 3), 0.8),
        "potentiation": np.zeros((1, 3)),
        "plasticity_window": np.ones((1, 3)),
        "hippocampal_volume": np.full((1, 3), 0.95),
        "immature_neurons": np.full((1, 3), 0.8),
    }
    np.testing.assert_allclose(percent_change(prefrontal_gbc(ro, None)), 0.0, atol=1e-9)
    ro["spine_density"] = np.array([[0.8, 0.9, 1.0]])
    assert np.all(np.isfinite(prefrontal_gbc(ro, None)))


def test_unavailable_families_are_not_families():
    assert not set(UNAVAILABLE) & set(FAMILIES)
    assert "gamma_power" in UNAVAILABLE


# ---- the species mapping -------------------------------------------------------------------------------


def test_rodent_mapping_round_trips_and_matches_the_km_table():
    # oracle: Freireich's km factors (rat 5.9, mouse 3.0, human 37), HED = dose x km_animal / km_human by hand
    m = load_mappings(yaml.safe_load(CONFIG_PATH.read_text()), file=str(CONFIG_PATH))
    assert m["rat"].dose_to_human(10.0) == pytest.approx(10.0 * 5.9 / 37.0, rel=1e-12)
    assert m["mouse"].dose_to_human(10.0) == pytest.approx(10.0 * 3.0 / 37.0, rel=1e-12)
    for sp in ("rat", "mouse"):
        for dose in (0.5, 10.0, 200.0):
            assert m[sp].dose_from_human(m[sp].dose_to_human(dose)) == pytest.approx(dose, rel=1e-12)
        for h in (0.5, 24.0, 336.0):
            assert m[sp].time_from_human(m[sp].time_to_human(h)) == pytest.approx(h, rel=1e-12)
        assert m[sp].route_to_human("ip", file="f", field="x") == "im"
        assert m[sp].sources["dose"] in source_ids()
        for key in ("time", "route"):
            assert m[sp].sources[key] in source_ids() or m[sp].sources[key].startswith("assumption: ")


def test_rodent_mapping_without_a_source_is_refused(tmp_path):
    config = yaml.safe_load(CONFIG_PATH.read_text())
    del config["species"]["rat"]["time"]["source"]
    path = tmp_path / "comparisons.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(NeuroplastInputError) as e:
        load_comparisons(path)
    assert (e.value.file, e.value.field, e.value.value) == (str(path), "species.rat.time.source", None)


def test_comparison_naming_an_unknown_entry_or_readout_is_refused(tmp_path):
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["entries"]["nobody2099_made_up"] = config["entries"]["milak2016_mpfc_glx_gaba_surge"]
    path = tmp_path / "comparisons.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(NeuroplastInputError) as e:
        load_comparisons(path)
    assert (e.value.field, e.value.value) == ("entries", "nobody2099_made_up")
    config["entries"].pop("nobody2099_made_up")
    config["entries"]["haile2014_plasma_bdnf_240min"]["responders"]["readout"] = "serum_bdnf"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(NeuroplastInputError) as e:
        load_comparisons(path)
    assert (e.value.field, e.value.value) == ("entries.haile2014_plasma_bdnf_240min.responders.readout", "serum_bdnf")


def test_published_numbers_come_from_the_evidence_file():
    # oracle: milak2016's value and SE as the evidence file states them (37.8 ± 7.5), the interval ± 1.96 SE
    c = next(c for c in load_comparisons() if c.id == "milak2016_mpfc_glx_gaba_surge")
    p = c.points[0]
    assert p.published == 37.8 and p.t_h == pytest.approx(26.0 / 60.0)
    assert (p.lo, p.hi) == pytest.approx((37.8 - 1.959964 * 7.5, 37.8 + 1.959964 * 7.5))


# ---- the comparison and the CLI ------------------------------------------------------------------------


def test_no_drug_means_no_observed_change(model):
    # oracle: no drug -> no drug effect (the saline arm of the ketamine-vs-saline volume comparison, alone)
    c = next(c for c in load_comparisons() if c.id == "scirep2024_ketamine_hippocampal_volume_1_10d")
    import dataclasses

    saline = dataclasses.replace(c, arms={"saline iv 40 min": c.arms["saline iv 40 min"]}, contrast=None,
                                 points=tuple(dataclasses.replace(p, arm="saline iv 40 min") for p in c.points[:1]))  # fmt: skip
    s = simulate_entry(saline, model)
    # the untreated patient's volume falls slowly (4.4 %/year, G04): under 0.05 % in the 2-day window
    assert abs(s.values[0]) < 0.05


def _small_split(tmp_path, keep):
    data = yaml.safe_load(SPLIT_PATH.read_text())
    for eid in list(data["entries"]):
        if eid not in keep:
            data["entries"][eid] = {"use": "unused", "reason": "left out of this test"}
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["entries"] = {k: v for k, v in config["entries"].items() if k in keep}
    split_path, config_path = tmp_path / "split.yaml", tmp_path / "comparisons.yaml"
    split_path.write_text(yaml.safe_dump(data, sort_keys=False))
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return split_path, config_path


def test_cli_writes_one_figure_per_family_and_rows_of_the_shape(tmp_path):
    keep = ("milak2016_mpfc_glx_gaba_surge", "taylor2012_no_glx_change_during_infusion",
            "aleksandrova2020_hippocampal_ltp_rescue_timing")  # fmt: skip
    split_path, config_path = _small_split(tmp_path, keep)
    figs, out = tmp_path / "figs", tmp_path / "rows.json"
    r = invoke("validate", "--mechanism", "--figures", figs, "--json", out,
               "--mechanism-split", split_path, "--mechanism-config", config_path)  # fmt: skip
    assert r.exit_code == 0, (r.stderr, r.exception)
    assert sorted(p.name for p in figs.iterdir()) == ["ltp.png", "mrs_glx.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in figs.iterdir())
    got = json.loads(out.read_text())
    assert len(got) == 1 + 1 + 3  # one row per compared point
    for row in got:
        assert set(row) == ROW_KEYS
        assert row["kind"] in ("mechanism_fitted", "mechanism_held_out")
        assert isinstance(row["simulated"], float) and np.isfinite(row["simulated"])
        assert row["inside"] in (True, False, None)
    assert {r["kind"] for r in got} == {"mechanism_fitted", "mechanism_held_out"}


def test_cli_bad_mechanism_input_exits_2_with_one_line(tmp_path):
    path = _bad_split(tmp_path, lambda d: d["entries"].update(
        {"nobody2099_made_up": {"use": "held_out", "family": "ltp", "reason": "x"}}))  # fmt: skip
    figs = tmp_path / "figs"
    r = invoke("validate", "--mechanism", "--figures", figs, "--mechanism-split", path)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "nobody2099_made_up" in lines[0] and "entries" in lines[0]
    assert not figs.exists()


@pytest.mark.slow
def test_every_compared_entry_simulates_to_a_finite_value(model):
    from neuroplast.mechanism import simulate_entries

    got = rows(simulate_entries(model))
    assert len(got) == sum(len(c.points) for c in load_comparisons())
    assert all(set(r) == ROW_KEYS for r in got)
    assert all(r["simulated"] is None or np.isfinite(r["simulated"]) for r in got)


def test_docs_embed_every_family_figure():
    doc = (Path(__file__).parents[1] / "docs" / "validation.md").read_text()
    families = {c.family for c in load_comparisons()}
    for f in families:
        assert f"figures/mechanism/{f}.png" in doc, f
        assert (Path(__file__).parents[1] / "docs" / "figures" / "mechanism" / f"{f}.png").exists(), f


def test_evidence_copy_matches_the_shared_file():
    # oracle: the shared evidence folder, where it is checked out beside this repository
    from neuroplast.evidence import HERE

    shared = Path(__file__).parents[2] / "shared" / "evidence" / "mechanistic_timecourses.yaml"
    if not shared.exists():
        pytest.skip("no shared evidence folder beside this checkout")
    assert (HERE / "mechanistic_timecourses.yaml").read_bytes() == shared.read_bytes()
