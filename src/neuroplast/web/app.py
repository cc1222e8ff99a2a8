"""The FastAPI app: JSON API under ``/api``, pages at ``/``, ``/trials``, ``/forecast``, ``/about``.

Errors are JSON ``{"detail": one line, "field", "value", "file"}``: 400 for input the library
rejects (the same message as the CLI), 422 for a body of the wrong shape (not UTF-8, not JSON,
nested too deeply, a number that is not finite, a missing or unknown key, a wrong type), 413 for
a body above the size limit, 429 when the trial queue is full, 404 for an unknown job, 501 when
forecasting is not installed. The server keeps serving after every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import ipaddress
import json
import math
import reprlib
import tomllib
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import DISCLAIMER, __version__
from .._errors import NeuroplastInputError
from ..engine import configure
from ..trials import parse_spec
from ..trials.spec import MAX_SEED, ArmSpec, Name
from . import forecast as forecast_adapter
from . import library
from .jobs import Busy, JobManager

STATIC = Path(__file__).parent / "static"  # CSS and JS, served as files
PAGE_DIR = Path(__file__).parent / "pages"  # layout.html and each page's body, put together at start-up
PAGES = {  # path -> (body in pages/, title, scripts); each page is pages/layout.html around its body
    "/": ("explorer", "Explorer", ("/vendor/plotly.min.js", "/static/common.js", "/static/explorer.js")),
    "/trials": ("trials", "Trials", ("/vendor/plotly.min.js", "/static/common.js", "/static/trials.js")),
    "/forecast": ("forecast", "Forecast", ("/vendor/plotly.min.js", "/static/common.js", "/static/forecast.js")),
    "/about": ("about", "About", ("/static/common.js", "/static/about.js")),
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'"
)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-request limits of one server (``neuroplast serve`` flags)."""

    max_patients: int = 4000  # patients per trial, all arms together
    max_body_bytes: int = 256 * 1024  # request body, uploads included
    trial_timeout_s: float = 600.0  # run time of one trial
    simulate_timeout_s: float = 120.0  # run time of one /api/simulate (first call compiles: ~10 s)
    max_days: float = 365.0  # simulated days of one /api/simulate
    max_doses: int = 400  # doses of one /api/simulate protocol
    max_queued: int = 4  # trials queued or running at once
    keep_jobs: int = 16  # finished trials kept for download
    max_depth: int = 32  # nesting levels of a JSON body or an uploaded TOML (a trial spec needs 6)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- request and response shapes (they make the OpenAPI schema) -------------------------------


class Error(BaseModel):
    detail: str = Field(description="one line naming the field and the value")
    field: str | None = None
    value: Any = None
    file: str | None = None


class Patient(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    population: str = Field(
        default="trd", description="cohort preset (GET /api/options); its typical patient is simulated"
    )
    weight_kg: float = Field(default=70.0, ge=20, le=250, description="body weight, kg")
    age_y: float = Field(default=45.0, ge=18, le=100, description="age, years")
    female: bool = False
    baseline_madrs: float | None = Field(
        default=None, ge=0, le=60, description="baseline MADRS (default: the preset's mean)"
    )


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    protocol: ArmSpec = Field(description="one arm in the shape of the trial TOML's [[arm]] (docs/trial-format.md)")
    patient: Patient = Patient()
    days: float | None = Field(None, gt=0, description="days to simulate (default: last dose + 14 d)")
    allow_high_dose: bool = Field(False, description="simulate doses above the safety ceilings")


class Readout(BaseModel):
    unit: str
    label: str
    group: str
    values: list[float | None]


class Group(BaseModel):
    key: str
    title: str
    readouts: list[str]


class DoseOut(BaseModel):
    time_h: float
    duration_h: float
    drug: str
    route: str
    amount: float
    unit: str


class SimulateResponse(BaseModel):
    times_h: list[float | None] = Field(description="hours from the first dose")
    readouts: dict[str, Readout]
    groups: list[Group]
    status: str = Field(description="the solve's result code (ok, solver_failed, non_finite)")
    doses: list[DoseOut]
    days: float
    patient: dict[str, Any]
    disclaimer: str


class TrialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    example: str | None = Field(None, description="a shipped example's name (GET /api/options)")
    toml: str | None = Field(None, description="the text of a trial TOML file (docs/trial-format.md)")
    filename: Name | None = Field(None, description="the uploaded file's name, for messages")
    spec: dict[str, Any] | None = Field(None, description="a trial spec as JSON, in the TOML's shape")
    n_per_arm: int | None = Field(None, ge=1, le=1_000_000, description="override the spec's n_per_arm")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="override the spec's seed")
    allow_high_dose: bool = False


class TrialCreated(BaseModel):
    id: str
    status_url: str


class TrialStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    done: int
    total: int
    fraction: float
    message: str
    error: str | None
    trial: dict[str, Any]
    summary: dict[str, Any] | None = Field(description="summary.json (docs/outputs.md) when done")
    published: list[dict[str, Any]] | None = Field(description="published points with CIs, simulated beside them")
    downloads: dict[str, str]


class ForecastStatus(BaseModel):
    available: bool
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "input the library rejects"},
    422: {"model": Error, "description": "a body of the wrong shape"},
    413: {"model": Error, "description": "body above the size limit"},
}


_SHORT = reprlib.Repr()  # a value echoed in an error: bounded, whatever the user sent
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 120
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxtuple = 3, 6, 6, 6


class _Text:
    """A value's text, shown as it is in an error's line (``repr`` without quotes)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Written(float):
    """A number of a JSON body that is not finite (``NaN``, ``Infinity``, ``1e400``), with its text as written."""

    text = ""

    def __repr__(self) -> str:
        return self.text


def _shown(value: Any) -> Any:
    """``value`` for an error's line: short scalars as they are, anything else cut to a bounded text."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int) and abs(value) < 10**60:
        return value
    if isinstance(value, str) and len(value) <= 120:
        return value
    return _Text(_SHORT.repr(value))


def _jsonable(value: Any) -> Any:
    """``value`` for an error's JSON body: a JSON scalar, or its text (non-finite numbers, bytes, containers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return repr(value)


def _error(status: int, exc: NeuroplastInputError | None = None, detail: str | None = None) -> JSONResponse:
    value = None
    if exc is not None:
        value, field = _shown(exc.value), _cut(exc.field)
        if value is not exc.value or field is not exc.field:  # a long or odd value or key: named cut short
            exc = copy.copy(exc)
            exc.value, exc.field = value, field
    if not detail:
        assert exc is not None, "_error needs an exception or a detail"
        detail = exc.one_line()
    body = {
        "detail": _one_line(detail),
        "field": _valid(getattr(exc, "field", None)),
        "value": _valid(_jsonable(value)),
        "file": _valid(getattr(exc, "file", None)),
    }
    return JSONResponse(body, status_code=status)


def _cut(text: str | None, keep: int = 200) -> str | None:
    return text if text is None or len(text) <= keep else f"{text[: keep // 2]}...{text[-keep // 2 :]}"


def _valid(value: Any) -> Any:
    """A string as valid Unicode (a lone surrogate escaped), so the JSON answer can be encoded; else ``value``."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _one_line(text: str) -> str:
    """One line of valid Unicode: whitespace runs (newlines included) as one space, lone surrogates escaped."""
    return _valid(" ".join(str(text).split()))


def _field(loc) -> str | None:
    """A location (keys and indices) as the API names fields: ``protocol.dose[0].amount``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or None


def check_tree(data: Any, max_depth: int, *, file: str | None = None) -> None:
    """Refuse what no field of this API takes, before any model sees it: nesting deeper than ``max_depth``,
    numbers that are not finite, strings that are not valid Unicode (a lone surrogate escape such as ``\\ud800``).

    About 0.4 µs a value: a body of the largest size allowed is checked in tens of milliseconds."""
    try:
        found = _problem(data, 1, max_depth)
    except RecursionError:  # a max_depth above what Python's stack holds
        found = ((), _deep(max_depth), None)
    if found is not None:
        loc, message, value = found
        raise NeuroplastInputError(message, field=_field(loc) or "body", value=value, file=file)


def _deep(max_depth: int) -> str:
    return f"nested deeper than this server's limit of {max_depth} levels"


_NOT_FINITE = "a number must be finite (not NaN or infinite; a double ends near 1.8e308)"
_NOT_UNICODE = "a string is not valid Unicode (a lone surrogate escape such as \\ud800)"


def _unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem(node: Any, depth: int, max_depth: int) -> tuple[tuple, str, Any] | None:
    """The first value under ``node`` that :func:`check_tree` refuses: (its location, the message, the value)."""
    kind = type(node)
    if kind is dict:
        items: Any = node.items()
    elif kind is list:
        items = enumerate(node)
    elif kind is str:
        return None if _unicode(node) else ((), _NOT_UNICODE, None)
    elif isinstance(node, float) and not math.isfinite(node):
        return ((), _NOT_FINITE, node)
    else:
        return None
    if depth > max_depth:  # ``depth``: the containers around ``node`` and ``node`` itself
        return ((), _deep(max_depth), None)
    for key, value in items:  # scalars checked in the loop: a call per value would double the time
        if type(key) is str and not _unicode(key):
            return ((key,), _NOT_UNICODE, None)
        kind = type(value)
        if kind is dict or kind is list:
            if depth == max_depth:
                return ((key,), _deep(max_depth), None)
            if value:
                found = _problem(value, depth + 1, max_depth)
                if found is not None:
                    return ((key, *found[0]), found[1], found[2])
        elif kind is str:
            if not _unicode(value):
                return ((key,), _NOT_UNICODE, None)
        elif (kind is float or kind is _Written) and not math.isfinite(value):
            return ((key,), _NOT_FINITE, value)
    return None


class BadBody(HTTPException):
    """A body refused while it is read, before the endpoint's model (FastAPI lets an HTTPException through)."""

    def __init__(self, error: NeuroplastInputError, status: int = 422):
        super().__init__(status, error.one_line())
        self.error = error


class StrictJSONRequest(Request):
    """A request whose JSON body is UTF-8, nested at most ``Limits.max_depth`` deep, with finite numbers and valid
    strings; anything else is refused with one line naming where (422)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            max_depth = self.app.state.limits.max_depth
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadBody(
                    NeuroplastInputError(
                        f"the body is not UTF-8 text (byte 0x{body[exc.start]:02x} at position {exc.start})",
                        field="body",
                    )
                ) from None

            def number(literal: str) -> float:
                x = float(literal)
                if math.isfinite(x):
                    return x
                written = _Written(x)
                written.text = literal
                return written

            try:
                data = json.loads(text, parse_float=number, parse_constant=number)
            except json.JSONDecodeError:
                raise  # FastAPI answers it as invalid JSON (the handler below words it)
            except RecursionError:
                raise BadBody(NeuroplastInputError(_deep(max_depth), field="body")) from None
            except ValueError as exc:  # an integer of more than 4300 digits
                raise BadBody(NeuroplastInputError(f"the body is not valid JSON ({exc})", field="body")) from None
            try:
                check_tree(data, max_depth)
            except NeuroplastInputError as exc:
                raise BadBody(exc) from None
            self._json = data
        return self._json


class StrictJSONRoute(APIRoute):
    """A route that reads its body with :class:`StrictJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


# --- the app --------------------------------------------------------------------------------


def create_app(limits: Limits = Limits()) -> BodyLimit:
    """The web app. Tunes the process for the engines first (:func:`neuroplast.engine.configure`)."""

    configure()
    jobs = JobManager(timeout_s=limits.trial_timeout_s, max_queued=limits.max_queued, keep=limits.keep_jobs)
    sims = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuroplast-simulate")
    forecasts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuroplast-forecast")  # minutes: own queue

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        jobs.close()
        sims.shutdown(wait=False, cancel_futures=True)
        forecasts.shutdown(wait=False, cancel_futures=True)

    # max_body_size: FastAPI's own limit, counted as the body streams in (413 above it)
    # no /docs or /redoc: FastAPI's interactive docs load their scripts from a CDN; /openapi.json stays
    app = FastAPI(
        title="neuroplast",
        version=__version__,
        lifespan=lifespan,
        max_body_size=limits.max_body_bytes,
        docs_url=None,
        redoc_url=None,
        description=f"JSON API of the neuroplast web app. {DISCLAIMER}",
    )
    app.state.limits, app.state.jobs = limits, jobs
    api = APIRouter(prefix="/api", responses=ERRORS, route_class=StrictJSONRoute)

    @app.exception_handler(NeuroplastInputError)
    async def _bad_input(request, exc: NeuroplastInputError):
        return _error(400, exc)

    @app.exception_handler(RequestValidationError)
    async def _bad_shape(request, exc: RequestValidationError):
        err = exc.errors()[0]
        if err.get("type") == "json_invalid":
            return _error(
                422,
                detail=f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')} "
                f"at character {err.get('loc', ('', '?'))[-1]})",
            )
        loc = tuple(err.get("loc", ()))
        field = (_field(loc[1:]) or "body") if loc[:1] == ("body",) else _field(loc)
        value = err.get("input")
        if isinstance(value, dict):  # a missing key's "input" is the object around it: not the user's value
            value = None
        return _error(422, NeuroplastInputError(err.get("msg", "invalid request"), field=field, value=value))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        if exc.status_code == 413:  # a streamed body that passed its size only as it arrived
            return _error(413, detail=too_large(limits.max_body_bytes))
        if isinstance(exc, BadBody):
            return _error(exc.status_code, exc.error)
        return JSONResponse(
            {"detail": _one_line(str(exc.detail)), "field": None, "value": None, "file": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    # -- API --
    @api.get("/options", summary="Drugs, routes, populations, therapies, examples and read-outs of this build")
    def get_options() -> dict[str, Any]:
        return library.options()

    @api.get("/about", summary="What the model is, its sources, and the disclaimer")
    def get_about() -> dict[str, Any]:
        return library.about()

    @api.post(
        "/simulate",
        response_model=SimulateResponse,
        responses={503: {"model": Error, "description": "run-time limit reached"}},
        summary="One typical patient under one arm: every scale's trajectory",
    )
    async def post_simulate(req: SimulateRequest):
        arm = req.protocol.model_dump(exclude_none=True)
        fut = sims.submit(
            library.simulate_one,
            arm,
            req.patient.model_dump(),
            days=req.days,
            allow_high_dose=req.allow_high_dose,
            max_days=limits.max_days,
            max_doses=limits.max_doses,
        )
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), limits.simulate_timeout_s)
        except TimeoutError:
            return _error(
                503,
                detail=f"the simulation did not finish within this server's limit of "
                f"{limits.simulate_timeout_s:g} s; try fewer days or doses",
            )

    @api.post(
        "/trials",
        status_code=202,
        response_model=TrialCreated,
        responses={429: {"model": Error, "description": "the trial queue is full"}},
        summary="Start an in-silico trial (a shipped example, an uploaded TOML or a JSON spec)",
    )
    def post_trial(req: TrialRequest):

        given = [k for k in ("example", "toml", "spec") if getattr(req, k) is not None]
        if len(given) != 1:
            raise NeuroplastInputError(
                "give exactly one of 'example', 'toml' or 'spec'", field="body", value=", ".join(given) or None
            )
        text: str | None
        if req.example is not None:
            files = library.example_files()
            if req.example not in files:
                raise NeuroplastInputError(
                    f"unknown example; known: {', '.join(files)}", field="example", value=req.example
                )
            name, text = files[req.example].name, files[req.example].read_text()
        else:
            name, text = (req.filename or "uploaded.toml"), req.toml
        if req.spec is not None:
            name, data = "spec", req.spec
        else:
            assert text is not None  # exactly one of example, toml and spec was given
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise NeuroplastInputError(f"malformed TOML: {exc}", file=name) from None
            except RecursionError:
                raise NeuroplastInputError("malformed TOML: nested too deeply", file=name) from None
            except ValueError as exc:  # an integer of more than 4300 digits
                raise NeuroplastInputError(f"malformed TOML: {exc}", file=name) from None
            check_tree(data, limits.max_depth, file=name)
        spec = parse_spec(data, file=name, allow_high_dose=req.allow_high_dose)
        n = req.n_per_arm or spec.trial.n_per_arm
        total = n * len(spec.arm)
        if total > limits.max_patients:
            raise NeuroplastInputError(
                f"{len(spec.arm)} arms x {n} patients = {total}, above this server's limit of {limits.max_patients} "
                "patients per trial; lower n_per_arm",
                field="n_per_arm",
                value=n,
                file=name,
            )
        # run time and memory grow with the simulated span and the dose count: the same caps as /api/simulate
        regimens = spec.regimens(allow_high_dose=req.allow_high_dose)
        span_h = max(
            [h for _, h in spec.timepoints_h()]
            + [r.last_dose_h + (spec.follow_up_h() or 0.0) for r in regimens.values()]
        )
        if span_h > limits.max_days * 24.0:
            raise NeuroplastInputError(
                f"the trial spans {span_h / 24.0:g} days (last timepoint or last dose + follow_up), "
                f"above this server's limit of {limits.max_days:g} days",
                field="trial.endpoints",
                file=name,
            )
        for arm_name, r in regimens.items():
            if len(r.events) > limits.max_doses:
                raise NeuroplastInputError(
                    f"{len(r.events)} doses are more than this server's limit of {limits.max_doses}",
                    field=f"arm '{arm_name}'.dose",
                    file=name,
                )
        seed = spec.trial.seed if req.seed is None else req.seed
        if seed < 0:
            raise NeuroplastInputError("the seed must not be negative", field="trial.seed", value=seed, file=name)
        try:
            job = jobs.submit(spec, n_per_arm=n, seed=seed, allow_high_dose=req.allow_high_dose)
        except Busy as exc:
            return _error(429, detail=str(exc))
        return {"id": job.id, "status_url": f"/api/trials/{job.id}"}

    def _job(jid: str):
        job = jobs.get(jid)
        if job is None:
            raise HTTPException(
                404, f"no trial with id {jid!r} on this server (finished trials are kept {limits.keep_jobs} at a time)"
            )
        return job

    def _finished(jid: str):
        job = _job(jid)
        if job.state != "done":
            raise HTTPException(409, f"trial {jid!r} is {job.state}, not done")
        return job

    @api.get(
        "/trials/{jid}",
        response_model=TrialStatus,
        responses={404: {"model": Error}},
        summary="A trial's progress; when done, its summary.json and published points",
    )
    def get_trial(jid: str):
        return _job(jid).status()

    @api.get(
        "/trials/{jid}/summary.json",
        responses={404: {"model": Error}, 409: {"model": Error}},
        response_class=FileResponse,
        summary="Download summary.json (docs/outputs.md)",
    )
    def get_summary(jid: str):
        job = _finished(jid)
        return FileResponse(job.dir / "summary.json", media_type="application/json", filename="summary.json")

    @api.get(
        "/trials/{jid}/report.html",
        responses={404: {"model": Error}, 409: {"model": Error}},
        response_class=FileResponse,
        summary="The trial's self-contained HTML report",
    )
    def get_report(jid: str):
        job = _finished(jid)
        return FileResponse(job.dir / "report.html", media_type="text/html")

    @api.get("/forecast", response_model=ForecastStatus, summary="Whether this build can forecast")
    def get_forecast_status():
        return forecast_adapter.status()

    @api.post(
        "/forecast",
        responses={501: {"model": Error, "description": "forecasting is not installed"}},
        summary="Forecast one patient's scores from their history (when forecasting is installed)",
    )
    async def post_forecast(body: forecast_adapter.ForecastRequest):
        st = forecast_adapter.status()
        if not st["available"]:
            return _error(501, detail=st["message"])
        fut = forecasts.submit(forecast_adapter.run, body)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), limits.trial_timeout_s)
        except TimeoutError:
            return _error(503, detail=f"the forecast did not finish within {limits.trial_timeout_s:g} s")

    app.include_router(api)

    # -- pages and assets (no CDN: plotly.js comes from the installed plotly package) --
    layout = (PAGE_DIR / "layout.html").read_text(encoding="utf-8")
    for path, (body, title, scripts) in PAGES.items():
        html = (
            layout.replace("{title}", title)
            .replace("{scripts}", "\n".join(f'<script src="{src}" defer></script>' for src in scripts))
            .replace("{body}", (PAGE_DIR / f"{body}.html").read_text(encoding="utf-8"))
        )
        app.add_api_route(path, (lambda html=html: HTMLResponse(html)), methods=["GET"], include_in_schema=False)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(plotly_path(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return BodyLimit(app, limits.max_body_bytes)


def plotly_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def too_large(limit: int) -> str:
    return f"the request body is larger than this server's limit of {limit} bytes"


class BodyLimit:
    """ASGI wrapper: a declared Content-Length above the limit gets a JSON 413 before any byte is read.

    Bodies without a length (chunked) are counted as they stream in by FastAPI's own
    ``max_body_size``; its 413 gets the same JSON message from the app's handler.
    """

    def __init__(self, app: FastAPI, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def __getattr__(self, name: str) -> Any:  # the wrapped app's attributes (state, openapi, routes ...)
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                body = {"detail": too_large(self.max_bytes), "field": "body", "value": int(length), "file": None}
                return await JSONResponse(body, status_code=413)(scope, receive, send)
        return await self.app(scope, receive, send)
