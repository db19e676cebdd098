"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Paths, path parameters and the roles come from the routes themselves (a route added without
its entry here still appears, with its roles); query parameters and bodies are declared
below. tests/unit/test_openapi.py checks the two stay in step."""
from __future__ import annotations

import re

from aiohttp import web

from core import contract

STR = {"type": "string"}
INT = {"type": "integer"}
ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": {"type": "string", "description": "stable error id"}, "message": STR}}
PERIOD = [("from", STR, "ISO date/time (Asia/Shanghai when no offset) or epoch seconds"),
          ("to", STR, "as from; default now")]

QUERY: dict[str, list[tuple[str, dict, str]]] = {
    "/api/v1/tickets": [("caller", STR, "exact caller number"), ("dialed", STR, "number dialled"),
                        ("linkedid", STR, "call id"), ("limit", {**INT, "minimum": 1, "maximum": 1000}, "page size"),
                        ("offset", {**INT, "minimum": 0}, "items to skip"),
                        ("q", {"type": "string", "maxLength": 200}, "words of subject, description or address")],
    "/api/v1/catalogue/suggest": [("text", {"type": "string", "maxLength": 20000}, "the citizen's words")],
    "/api/v1/tickets/similar": [("caller", STR, "the caller's number"), ("address", STR, "where the matter is"),
                                ("subject", STR, "the matter in a few words"),
                                ("exclude", STR, "linkedid of the call itself")],
    "/api/v1/callbacks": [("department", STR, "department code"),
                          ("limit", {**INT, "minimum": 1, "maximum": 1000}, "page size")],
    "/api/v1/audit": [("attachment", INT, "attachment id"), ("limit", {**INT, "minimum": 1, "maximum": 1000}, "")],
    "/api/v1/followups": [("limit", {**INT, "minimum": 1, "maximum": 1000}, "page size"),
                          ("offset", {**INT, "minimum": 0}, "items to skip")],
    "/api/v1/departments/{code}/overdue": [("warnings", {"type": "string", "enum": ["0", "1"]},
                                            "1: also tickets close to their deadline")],
    "/api/v1/reports/kpi": PERIOD + [("interval", {"type": "string", "enum": ["900", "1800", "3600", "86400"]}, ""),
                                     ("group_by", STR, "comma list of department, language, agent, queue"),
                                     ("format", {"type": "string", "enum": ["json", "csv"]}, "")],
    "/api/v1/reports/staffing": PERIOD + [("target_sl", {"type": "number"}, "e.g. 0.8"),
                                          ("target_s", {"type": "number"}, "e.g. 15"),
                                          ("interval", {"type": "string", "enum": ["900", "1800", "3600"]}, "")],
    "/api/v1/reports/queue_log": PERIOD,
    "/api/v1/reports/digest": PERIOD + [("format", {"type": "string", "enum": ["json", "csv"]}, "")],
    "/api/v1/priority_callers": [("limit", {**INT, "minimum": 1, "maximum": 1000}, "page size"),
                                 ("offset", {**INT, "minimum": 0}, "items to skip")],
    "/api/v1/kb": [("q", STR, "question in Chinese or English"), ("department", STR, "department code"),
                   ("limit", {**INT, "minimum": 1, "maximum": 50}, "")],
}

# the work order's fields (tickets/content.py)
WORK_ORDER = {"subject": {"type": "string", "maxLength": 200}, "description": {"type": "string", "maxLength": 20000},
              "address": {"type": "string", "maxLength": 500}, "district": {"type": "string", "maxLength": 64},
              "street": {"type": "string", "maxLength": 64}, "contact_name": {"type": "string", "maxLength": 64},
              "callback_number": {"type": "string", "pattern": "^[+]?[0-9]{3,20}$"},
              "confidential": {"type": "boolean"},
              "urgency": {"type": "string", "enum": ["emergency", "urgent", "normal"]},
              "channel": {"type": "string", "enum": ["phone", "voicemail", "fax"]}}

BODY: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/attachments/{id}/hold"): {"type": "object", "required": ["hold"],
                                                "properties": {"hold": {"type": "boolean"}},
                                                "additionalProperties": False},
    ("POST", "/api/v1/tickets/{id}/actions/{action}"): {"type": "object",
                                                        "description": "the action's arguments"},
    ("POST", "/api/v1/agents/{id}/{op}"): {"type": "object", "properties": {"reason": STR},
                                           "additionalProperties": False},
    ("POST", "/api/v1/agents"): {
        "type": "object", "required": ["id"], "additionalProperties": False,
        "properties": {"id": {"type": "string", "pattern": "^[0-9]{3,8}$"}, "name": STR,
                       "line": {"type": "string", "enum": ["sip", "local-talk", "local-ring", "local-brief"]},
                       "skills": {"type": "array", "items": {"type": "string",
                                                             "description": "department:language:level"}}}},
    ("PATCH", "/api/v1/agents/{id}"): {
        "type": "object", "additionalProperties": False,
        "properties": {"name": STR, "version": INT,
                       "line": {"type": "string", "enum": ["sip", "local-talk", "local-ring", "local-brief"]},
                       "skills": {"type": "array", "items": STR}}},
    ("PUT", "/api/v1/priority_callers/{number}"): {
        "type": "object", "required": ["reason"], "additionalProperties": False,
        "properties": {"reason": {"type": "string", "enum": ["elderly", "disabled"]}, "note": STR}},
    ("POST", "/api/v1/kb"): {"type": "object", "required": ["department", "question", "answer"],
                             "additionalProperties": False,
                             "properties": {"department": STR, "question": STR, "answer": STR, "keywords": STR,
                                            "ivr_key": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
                                            "language": {"type": "string", "enum": list(contract.LANGUAGES)}}},
    ("PATCH", "/api/v1/tickets/{id}"): {"type": "object", "additionalProperties": False,
                                        "properties": {**WORK_ORDER, "version": INT}},
    ("PUT", "/api/v1/calls/{linkedid}/draft"): {"type": "object", "additionalProperties": False,
                                                "properties": {**WORK_ORDER, "merge_into": {**INT, "minimum": 1}}},
    ("POST", "/api/v1/calls/{linkedid}/transfer"): {
        "type": "object", "required": ["to"], "additionalProperties": False,
        "properties": {"to": STR, "mode": {"type": "string", "enum": ["blind", "conference"]}}},
    ("POST", "/api/v1/calls/{linkedid}/spy"): {
        "type": "object", "required": ["mode", "line"], "additionalProperties": False,
        "properties": {"mode": {"type": "string", "enum": ["listen", "whisper", "barge"]},
                       "line": {"type": "string", "pattern": "^[0-9]{3,8}$"}}},
}

PATH_PARAMS = {"id": INT, "action": STR, "code": STR, "op": {"type": "string",
                                                             "enum": ["login", "logout", "pause", "unpause",
                                                                      "ready", "done"]},
               "linkedid": STR, "number": {"type": "string", "pattern": "^[+]?[0-9]{3,20}$"}}


def document(app: web.Application) -> dict:
    paths: dict[str, dict] = {}
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith("/api/") or route.method == "HEAD" or path == "/api/v1/openapi.json":
            continue
        roles = sorted(getattr(route.handler, "roles", ()) or ())
        params = [{"name": n, "in": "path", "required": True, "schema": PATH_PARAMS.get(n, STR)}
                  for n in re.findall(r"{(\w+)}", path)]
        params += [{"name": n, "in": "query", "required": False, "schema": schema, "description": d}
                   for n, schema, d in QUERY.get(path, [])]
        op = {
            "summary": (route.handler.__doc__ or route.handler.__name__).strip().splitlines()[0],
            "description": f"Roles: {', '.join(roles)}.",
            "x-roles": roles,
            "parameters": params,
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "OK"},
                **{code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                   for code, text in (("400", "bad request"), ("401", "no or unknown token"),
                                      ("403", "role not allowed"), ("404", "not found"),
                                      ("409", "state conflict"))},
            },
        }
        body = BODY.get((route.method, path))
        if body is not None:
            op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "hotline 12345 API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": dict(sorted(paths.items())),
    }


async def serve(request: web.Request) -> web.Response:
    """The API's own description: public, like any published API document."""
    return web.json_response(document(request.app))


serve.public = True  # type: ignore[attr-defined]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", serve)
