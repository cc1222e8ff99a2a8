"""The local web app: FastAPI JSON API plus four static pages (Explorer, Trials, Forecast, About).

Thin over the library (STYLE 15): every endpoint validates with the same functions as the CLI
(``trials.parse_spec``, ``build_regimen``), calls one library function and returns JSON. The
pages are plain HTML + JS that talk only to the API; plotly.js is served from the installed
``plotly`` package, never from a CDN. Research and education software, not a medical device.

    from neuroplast.web import create_app, Limits
    app = create_app(Limits(max_patients=2000))
"""

from .app import Limits, create_app, is_loopback

__all__ = ["Limits", "create_app", "is_loopback"]
