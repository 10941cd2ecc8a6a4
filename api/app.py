"""The FastAPI app, built by ``create_app(settings)`` (no import-time globals).

    dpl serve [--host 127.0.0.1] [--port 8000] [--workers N]

Parties call it with ``Authorization: Bearer KEY``, or sign in to the web UI at ``/`` (``api.web``);
OpenAPI at ``/docs``; ``/health`` reports
the database, the chain and the anchoring backlog. With ``DPL_ANCHOR_INTERVAL`` > 0 each
worker runs the anchoring loop; a lock makes one anchor at a time.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors, routes_admin, routes_logs, routes_pledges
from api.background import AnchoringLoop
from api.web import routes as web_routes
from api.services import Services
from ledger.settings import Settings


def create_app(settings: Settings | None = None, *, anchoring: bool | None = None) -> FastAPI:
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
        try:
            yield
        finally:
            if svc.loop:
                svc.loop.stop()
            svc.close()

    app = FastAPI(title="data-pledge-ledger", version="1",
                  description="Verifiable production logs pledged as loan collateral. "
                              "Authenticate with `Authorization: Bearer KEY`.",
                  lifespan=lifespan)
    errors.install(app)
    app.include_router(routes_logs.router)
    app.include_router(routes_pledges.router)
    app.include_router(routes_admin.router)

    app.include_router(web_routes.router)
    app.mount("/static", StaticFiles(directory=web_routes.STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """For uvicorn workers (``api.app:app_from_env`` as a factory)."""
    return create_app()
