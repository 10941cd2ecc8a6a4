"""The FastAPI app, built by ``create_app(settings)`` (no import-time globals).

    dpl serve [--host 127.0.0.1] [--port 8000] [--workers N]

Parties call it with ``Authorization: Bearer KEY``; OpenAPI at ``/docs``; ``/health`` reports
the database, the chain and the anchoring backlog. With ``DPL_ANCHOR_INTERVAL`` > 0 each
worker runs the anchoring loop; a lock makes one anchor at a time.
"""

from __future__ import annotations

import html
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api import errors, routes_admin, routes_logs, routes_pledges
from api.background import AnchoringLoop
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing() -> str:
        return _landing(app.state.services)

    return app


def _landing(svc) -> str:
    health = routes_admin.health(svc)
    logs = svc.store.list_logs()
    chain = health.get("chain", {})
    rows = "".join(f"<tr><td>{html.escape(i.stream)}</td><td>{i.size}</td><td><code>0x{i.root.hex()[:16]}…</code></td></tr>"
                   for i in logs[:20])
    chain_line = (f"chain {chain['chain_id']}, block {chain['latest_block']}, registry <code>{chain['registry']}</code>"
                  if chain.get("ok") else f"chain not reachable: {html.escape(str(chain.get('error')))}")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>data-pledge-ledger</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>data-pledge-ledger</h1>
<p>A factory's production data as verifiable loan collateral. API: <a href="/docs">/docs</a> (OpenAPI),
<a href="/health">/health</a>. Call it with <code>Authorization: Bearer KEY</code>
(the demo's keys are in <code>.dpl/demo-keys.json</code>).</p>
<p>Status: <b>{health['status']}</b>; database {health['database'].get('backend', '?')}; {chain_line};
logs behind their anchor: {health.get('anchoring', {}).get('logs_behind', '?')}.</p>
<h2>Logs</h2><table><tr><th>stream</th><th>size</th><th>root</th></tr>{rows or '<tr><td colspan=3>none yet</td></tr>'}</table>
</body></html>"""


def app_from_env() -> FastAPI:
    """For uvicorn workers (``api.app:app_from_env`` as a factory)."""
    return create_app()
