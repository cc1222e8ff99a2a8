import os
from pathlib import Path

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.engine import kernels

# As the CLI does (cli._setup): float64, XLA's CPU options, the allocator, Equinox's checks as NaN; and the CLI's
# kernel store, so the tests of every worker and the CLI processes they start compile each kernel once between them.
npl.engine.configure()
kernels.use_cache(os.environ.get("NEUROPLAST_CACHE", str(Path.home() / ".cache" / "neuroplast" / "jax")))


@pytest.fixture(scope="session")
def model():
    return npl.default_model()


@pytest.fixture(scope="session")
def single_infusion():
    return npl.build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}])


def one_patient(model, **kw):
    return npl.typical_patient(model.values, **kw)


def pk_of(sim_model, i=0):
    """Patient i's ketamine PK module with scalar leaves (for the closed form)."""
    import jax

    return jax.tree_util.tree_map(lambda x: np.asarray(x)[i], sim_model.ketamine)
