"""Every endpoint names its dependencies by type (``api.deps``): no ``= Depends(...)`` default,
and the services it uses typed as ``Services``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

from fastapi.params import Depends
from fastapi.routing import APIRoute

import api
from api.services import Services
from api.web import routes as web_routes


def _endpoints(tmp_path=None):
    # every api/routes_*.py module, so a new one is held to the rule without being listed here
    names = sorted(m.name for m in pkgutil.iter_modules(api.__path__) if m.name.startswith("routes_"))
    routers = [importlib.import_module(f"api.{n}").router for n in names] + [web_routes.router]
    assert {"routes_logs", "routes_grants", "routes_access_log"} <= set(names)
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 30  # the app's routes, not an empty list
    return routes


def test_no_endpoint_takes_an_untyped_dependency(tmp_path):
    untyped = [f"{r.path} {r.endpoint.__name__}({name})" for r in _endpoints(tmp_path)
               for name, p in inspect.signature(r.endpoint).parameters.items() if isinstance(p.default, Depends)]
    assert untyped == []


def test_every_endpoint_that_uses_the_services_types_them(tmp_path):
    using = 0
    for r in _endpoints(tmp_path):
        hints = typing.get_type_hints(r.endpoint, include_extras=True)
        if "svc" in inspect.signature(r.endpoint).parameters:
            using += 1
            hint = hints.get("svc")
            assert typing.get_origin(hint) is typing.Annotated, r.path
            assert typing.get_args(hint)[0] is Services, r.path
    assert using > 30
