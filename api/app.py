"""The FastAPI app, built by ``create_app(settings)`` (no import-time globals).

    dpl serve [--host 127.0.0.1] [--port 8000] [--workers N]

Parties call it with ``Authorization: Bearer KEY``, or sign in to the web UI at ``/`` (``api.web``);
OpenAPI at ``/docs``; ``/health`` reports
the database, the chain and the anchoring backlog. With ``DPL_ANCHOR_INTERVAL`` > 0 each
worker runs the anchoring loop; only the anchoring leader's anchors (one process among all
the workers and ``dpl serve`` processes on the database, by a database lock: ``api.background``). With ``DPL_WEBHOOKS_INTERVAL``
> 0 (default 10 s) each worker runs webhook delivery passes; leased claims send each once.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders

from api import errors, routes_admin, routes_directory, routes_logs, routes_pledges, routes_profiles, routes_webhooks
from api import routes_access_log, routes_applications, routes_grants, routes_warnings
from api.background import AnchoringLoop, MonitorLoop, WebhookLoop
from api.edge import Edge
from api.web import routes as web_routes
from api.services import Services
from ledger.settings import Settings


def create_app(settings: Settings | None = None, *, anchoring: bool | None = None,
               webhooks: bool | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = Services.open(settings)
        app.state.services = svc
        svc.loop = None
        run_loop = settings.anchor_interval > 0 if anchoring is None else anchoring
        if run_loop:
            svc.loop = AnchoringLoop(svc, settings.anchor_interval)
            svc.loop.start()
        svc.webhook_loop = None
        if settings.webhooks_interval > 0 if webhooks is None else webhooks:
            svc.webhook_loop = WebhookLoop(svc, settings.webhooks_interval or 10.0)
            svc.webhook_loop.start()
        svc.monitor_loop = MonitorLoop(svc, settings.monitor_interval) if settings.monitor_interval > 0 else None
        if svc.monitor_loop:
            svc.monitor_loop.start()
        try:
            yield
        finally:
            if svc.monitor_loop:
                svc.monitor_loop.stop()
            if svc.webhook_loop:
                svc.webhook_loop.stop()
            if svc.loop:
                svc.loop.stop()
            svc.close()

    app = FastAPI(title="data-pledge-ledger", version="1",
                  description="Verifiable production logs pledged as loan collateral. "
                              "Authenticate with `Authorization: Bearer KEY`.",
                  lifespan=lifespan, docs_url=None, redoc_url=None,
                  # no redirect built from the Host header a caller sends (a forged Host would be echoed)
                  redirect_slashes=False)
    errors.install(app)

    @app.get("/docs", include_in_schema=False)
    def docs():
        # Swagger UI from our own static files: no CDN (the machines may have no internet)
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="data-pledge-ledger API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    routers = [routes_logs.router, routes_pledges.router, routes_profiles.router, routes_admin.router,
               routes_directory.router, routes_warnings.router, routes_webhooks.router, routes_grants.router,
               routes_access_log.router, routes_applications.router, web_routes.router]
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web_routes.STATIC_DIR), name="static")
    if settings.publish_dir is not None:
        # DPL_PUBLISH_DIR: the published checkpoints and tiles (docs/TILES.md), public by design
        # (hashes and signed notes only), served as static files for a demo or a small deployment;
        # any static server or CDN serves the same directory.
        app.mount("/tiles", StaticFiles(directory=settings.publish_dir, check_dir=False), name="tiles")

    # Limits and authentication before any route reads a body (api.edge); the routes in the
    # order the router tries them.
    routes = [r for r in app.router.routes if isinstance(r, APIRoute)] + [r for rt in routers for r in rt.routes]
    app.add_middleware(Edge, routes=routes)
    app.add_middleware(NoStoreForApi)  # outside the edge: its refusals are not cached either
    return app


class NoStoreForApi:
    """``Cache-Control: no-store`` on every /v1 answer: they carry a party's data (read with a
    key or a session cookie), not for any cache. Plain ASGI: streams pass through."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)

        async def send_no_store(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_no_store)


def app_from_env() -> FastAPI:
    """For uvicorn workers (``api.app:app_from_env`` as a factory)."""
    return create_app()
