"""The served OpenAPI document matches the routes the engine really has."""
from __future__ import annotations

import re

from core import settings
from hotline.app import Engine
from web import openapi


def test_every_api_route_is_documented_with_its_roles_and_parameters(tmp_path):
    s = settings.load(env={}, home=str(tmp_path), asterisk_root=str(tmp_path / "root"))
    app = Engine(s, phones=False).http
    doc = openapi.document(app)
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource.canonical.startswith("/api/") and r.method != "HEAD"
              and r.resource.canonical != "/api/v1/openapi.json"}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == routes
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["x-roles"], f"{method} {path} has no roles"
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path))
    # every declared query parameter and body belongs to a real route
    assert set(openapi.QUERY) <= {p for _, p in routes}
    assert set(openapi.BODY) <= {(m.upper(), p) for m, p in routes}
