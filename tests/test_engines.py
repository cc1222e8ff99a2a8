"""Engines are objects carrying exactly the settings they honour (oracle: the constructors' own refusals)."""

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.engine import ENGINES, Fast, Kvaerno5, Tsit5, by_name


def test_a_setting_an_engine_does_not_have_is_an_error():
    """Tsit5 has no step-size floor of the fast engine's, the fast engine no max_steps: passing one fails at
    construction instead of being silently ignored (as a string engine with shared settings once did)."""
    with pytest.raises(TypeError):
        Tsit5(min_h=0.01)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Fast(max_steps=10)  # type: ignore[call-arg]
    assert Kvaerno5(rtol=1e-7).rtol == 1e-7 and Fast(rtol=1e-3).rtol == 1e-3


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Tsit5(rtol=0.0), "engine.rtol"),
        (lambda: Tsit5(max_steps=0), "engine.max_steps"),
        (lambda: Tsit5(batch=0), "engine.batch"),
        (lambda: Fast(min_h=-1.0), "engine.min_h"),
        (lambda: Fast(fine_h=100.0), "engine.fine_h"),
    ],
)
def test_bad_settings_name_their_field(make, field):
    with pytest.raises(npl.NeuroplastInputError) as e:
        make()
    assert field in e.value.one_line() and "\n" not in e.value.one_line()


def test_the_front_door_takes_an_engine_object(model, single_infusion):
    """``simulate`` refuses a string where an engine object belongs; the CLI's names map to the objects."""
    cohort = npl.typical_patient(model.values)
    with pytest.raises(npl.NeuroplastInputError, match="engine"):
        npl.simulate(model, single_infusion, cohort, saveat=np.array([0.0, 1.0]), engine="fast")  # type: ignore[arg-type]
    assert set(ENGINES) == {"tsit5", "kvaerno5", "fast"}
    assert isinstance(by_name("fast"), Fast) and isinstance(by_name("tsit5"), Tsit5)
    with pytest.raises(npl.NeuroplastInputError, match="unknown engine"):
        by_name("euler")
