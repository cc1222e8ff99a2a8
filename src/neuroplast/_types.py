"""Array annotations shared by the scales (jaxtyping). A leaf holds one patient's value (a scalar) or a
cohort's (a leading patient axis): ``*patients`` allows either."""

from jaxtyping import Array, Float

PerPatient = Float[Array, "*patients"]
"""One number per patient."""

PerRoute = Float[Array, "*patients routes"]
"""One number per route of administration (:data:`neuroplast.catalog.ROUTE_CODES`) per patient."""

PerCode = Float[Array, "*patients codes"]
"""One number per event code (:data:`neuroplast.catalog.DRUG_CODES`) per patient."""

PerSpecies = Float[Array, "*patients species"]
"""One number per oral-antidepressant species (:data:`neuroplast.catalog.ORAL_SPECIES`) per patient."""

PerKind = Float[Array, "*patients kinds"]
"""One number per session kind (:data:`neuroplast.catalog.KINDS`) per patient."""
