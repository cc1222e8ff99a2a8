"""Individual forecasting for clinics: fit the model to one patient's scores, forecast, plan boosters.

    history = neuroplast.io.history.read_history("patient.csv")        # or a FHIR R4 Bundle (.json)
    result = neuroplast.forecast.forecast(history, weeks=8, target=parse_target("PHQ9<10", 0.8))
    result.data                                                        # forecast.json

The posterior is over the patient's latent random effects (:mod:`.patient`) given the scores
(:mod:`.posterior`: MAP + Laplace, or NUTS); forecasts, relapse and plans are in :mod:`.predict`
and :mod:`.plan`; :mod:`.report` writes forecast.json, figures and a one-page report.
Research software, not a medical device.
"""

from .patient import Latent, PatientModel, SolverSettings, default_latents
from .plan import Constraints
from .posterior import Posterior, fit_laplace, fit_nuts
from .predict import Target
from .run import ForecastResult, forecast, parse_target

__all__ = [
    "Constraints",
    "ForecastResult",
    "Latent",
    "PatientModel",
    "Posterior",
    "SolverSettings",
    "Target",
    "default_latents",
    "fit_laplace",
    "fit_nuts",
    "forecast",
    "parse_target",
]
