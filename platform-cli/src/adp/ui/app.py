"""The FastAPI app the plugin mounts in Airflow's api-server at ``/adp-sources``: the page
(``GET /``), its data (``GET /api/sources``) and its actions (``POST /api/...``).

Airflow is imported inside the functions that need it, so that loading the plugin in the
scheduler or a worker imports no more than FastAPI and this module."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment as Templates
from jinja2 import FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from adp import pydantic_problems
from adp.operations import AdpError, SourcesReport, UsageError
from adp.operations.releases import environment_sources
from adp.operations.repos import (
    PackageSource,
    ReposConfig,
    RepositorySource,
    age_text,
    redact_url,
)
from adp.ui import actions
from adp.ui.actions import ActionRefused, ActionResult, Caller
from adp.ui.settings import Environment, UiSettings, internal_airflow_url, read_settings

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
PREFIX = "/adp-sources"
ACTION_HEADER = "X-Requested-By"
ACTION_HEADER_VALUE = "adp-dag-sources"
TEMPLATES = Templates(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
)


class CommitChoice(BaseModel):
    sha: str = Field(description="The full commit id (40 hex digits).")


class VersionChoice(BaseModel):
    version: str = Field(description="A release of the package (the page lists them).")


class SourceView(BaseModel):
    """One source as the page (and ``GET /api/sources``) shows it: its data and whether the
    user may act on it."""

    source: RepositorySource | PackageSource
    can_act: bool


class EnvironmentView(BaseModel):
    env: str
    bundle: str
    store: str
    config: str | None = None
    repositories: list[SourceView] = Field(default_factory=list)
    packages: list[SourceView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class PageView(BaseModel):
    user: str
    role_may_act: bool = Field(description="The user may edit DAGs at all.")
    generated_at: datetime
    environments: list[EnvironmentView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


# -- Airflow's authentication and permissions ------------------------------------------------
async def current_user(request: Request) -> Any:
    """The Airflow user of the request (a Bearer token, else the UI's session cookie); 401
    without one, as Airflow's own API answers."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


UserDep = Annotated[Any, Depends(current_user)]


def request_token(request: Request) -> str | None:
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def may_read(user: Any) -> bool:
    from airflow.api_fastapi.app import get_auth_manager

    return bool(get_auth_manager().is_authorized_dag(method="GET", user=user))


def may_edit(user: Any, dag_ids: list[str]) -> bool:
    """The user may edit every DAG of ``dag_ids`` (none: DAGs in general)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.batch_apis import IsAuthorizedDagRequest
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    manager = get_auth_manager()
    if not dag_ids:
        return bool(manager.is_authorized_dag(method="PUT", user=user))
    requests: list[IsAuthorizedDagRequest] = [
        {"method": "PUT", "details": DagDetails(id=dag_id)} for dag_id in dag_ids
    ]
    return bool(manager.batch_is_authorized_dag(requests, user=user))


def user_name(user: Any) -> str:
    return str(user.get_name())


def refuse_unless_allowed(user: Any, source: str, dag_ids: list[str]) -> None:
    if not may_edit(user, dag_ids):
        shown = ", ".join(dag_ids) or "DAGs"
        raise ActionRefused(
            403,
            f"{user_name(user)} may not change {source}: acting on it needs the right to edit "
            f"{shown} (in Airflow's simple auth manager: role User, Op or Admin)",
        )


# -- reading ----------------------------------------------------------------------------------
def environment_view(settings: UiSettings, environment: Environment, user: Any) -> EnvironmentView:
    config = settings.config if settings.config and settings.config.env == environment.env else None
    view = EnvironmentView(
        env=environment.env,
        bundle=environment.bundle,
        store=redact_url(environment.store),
        config=str(config.path) if config else None,
    )
    try:
        report: SourcesReport = environment_sources(
            environment.store, environment.endpoint_url, environment.env, config
        )
    except UsageError as error:
        view.notes.append(f"release store {redact_url(environment.store)}: {error.message}")
        return view
    view.notes.extend(report.notes)
    view.repositories = [
        SourceView(source=r, can_act=may_edit(user, actions.dags_touched(r)))
        for r in report.repositories
    ]
    view.packages = [
        SourceView(source=p, can_act=may_edit(user, actions.dags_touched(p)))
        for p in report.packages
    ]
    return view


def page_view(user: Any) -> PageView:
    settings = read_settings()
    return PageView(
        user=user_name(user),
        role_may_act=may_edit(user, []),
        generated_at=datetime.now(UTC),
        environments=[environment_view(settings, e, user) for e in settings.environments],
        notes=settings.notes,
    )


def short(sha: str | None) -> str:
    return sha[:12] if sha else "none"


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({age_text(value)})"


TEMPLATES.filters["short"] = short
TEMPLATES.filters["when"] = when


# -- the app ----------------------------------------------------------------------------------
def create_app() -> FastAPI:
    app = FastAPI(
        title="DAG sources",
        description="The platform's DAG sources: read and act with Airflow's permissions.",
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(AdpError)
    async def refused(_: Request, error: AdpError) -> JSONResponse:
        return JSONResponse(
            {"detail": actions.detail(error)}, status_code=actions.http_status(error)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        found = pydantic_problems.problems(
            error.errors(), loc=lambda item: tuple(p for p in item.get("loc", ()) if p != "body")
        )
        detail = pydantic_problems.render(found, empty="body")
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> Response:
        try:
            user = await current_user(request)
        except HTTPException as error:
            if error.status_code != 401:
                raise
            from airflow.api_fastapi.app import get_auth_manager

            return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)))
        if not may_read(user):
            return HTMLResponse(
                TEMPLATES.get_template("refused.html.j2").render(user=user_name(user)),
                status_code=403,
            )
        from starlette.concurrency import run_in_threadpool

        view = await run_in_threadpool(page_view, user)
        html = TEMPLATES.get_template("sources.html.j2").render(view=view, prefix=PREFIX)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/api/sources", response_model=PageView)
    def sources(user: UserDep) -> PageView:
        if not may_read(user):
            raise ActionRefused(403, f"{user_name(user)} may not read DAGs")
        return page_view(user)

    def acting(request: Request, user: Any) -> tuple[UiSettings, Caller]:
        if request.headers.get(ACTION_HEADER) != ACTION_HEADER_VALUE:
            raise ActionRefused(
                403,
                f"send '{ACTION_HEADER}: {ACTION_HEADER_VALUE}' with every action (the page "
                "does; a cross-site form cannot)",
                loc=(ACTION_HEADER,),
            )
        caller = Caller(
            actor=f"{user_name(user)} (Airflow UI)",
            airflow_url=internal_airflow_url(),
            token=request_token(request),
        )
        return read_settings(), caller

    def checked_repository(
        settings: UiSettings, user: Any, name: str, target: str | None
    ) -> ReposConfig:
        actions.repository(settings.config, name)
        assert settings.config is not None
        status = actions.repository_status(settings.config, name)
        refuse_unless_allowed(user, f"repository {name}", actions.dags_touched(status, target))
        return settings.config

    @app.post("/api/repositories/{name}/sync", response_model=ActionResult)
    def sync(name: str, request: Request, user: UserDep) -> ActionResult:
        settings, caller = acting(request, user)
        config = checked_repository(settings, user, name, None)
        result = actions.sync(config, name, caller)
        log.info("DAG sources: %s synced %s: %s", caller.actor, name, result.outcome)
        return result

    @app.post("/api/repositories/{name}/approve", response_model=ActionResult)
    def approve(name: str, choice: CommitChoice, request: Request, user: UserDep) -> ActionResult:
        settings, caller = acting(request, user)
        actions.check_sha(choice.sha)
        config = checked_repository(settings, user, name, choice.sha)
        result = actions.approve(config, name, choice.sha, caller)
        log.info("DAG sources: %s approved %s of %s", caller.actor, choice.sha[:12], name)
        return result

    @app.post("/api/repositories/{name}/rollback", response_model=ActionResult)
    def rollback_repository(
        name: str, choice: CommitChoice, request: Request, user: UserDep
    ) -> ActionResult:
        settings, caller = acting(request, user)
        actions.check_sha(choice.sha)
        config = checked_repository(settings, user, name, choice.sha)
        result = actions.rollback_repository(config, name, choice.sha, caller)
        log.info("DAG sources: %s rolled %s back to %s", caller.actor, name, choice.sha[:12])
        return result

    @app.post("/api/packages/{env}/{name}/rollback", response_model=ActionResult)
    def rollback_package(
        env: str, name: str, choice: VersionChoice, request: Request,
        user: UserDep,
    ) -> ActionResult:  # fmt: skip
        settings, caller = acting(request, user)
        environment = next((e for e in settings.environments if e.env == env), None)
        if environment is None:
            known = ", ".join(e.env for e in settings.environments) or "none"
            raise ActionRefused(
                404, f"no environment {env!r} here (environments: {known})", loc=("env",)
            )
        status = actions.package_status(environment, name)
        refuse_unless_allowed(user, f"package {name}", actions.dags_touched(status, choice.version))
        result = actions.rollback_package(
            environment, settings.config, name, choice.version, caller
        )
        log.info("DAG sources: %s rolled %s/%s back to %s", caller.actor, env, name, choice.version)
        return result

    return app
