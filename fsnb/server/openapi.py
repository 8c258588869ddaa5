"""The feature server's OpenAPI document (``GET /openapi.json``) and a self-contained docs page (``GET /docs``)."""

from __future__ import annotations

import functools
import html
from typing import Any

__all__ = ["docs_html", "openapi_spec"]

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string", "example": "FeatureViewNotFoundError"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}
_DF = {
    "type": "object",
    "description": "Column name → list of values (all the same length); timestamps as RFC 3339 text.",
    "additionalProperties": {"type": "array", "items": {}},
    "minProperties": 1,
}
_NAME = {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"}
_KEY_VALUE = {"oneOf": [{"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
                        {"type": "string", "minLength": 1}]}


#: statuses any request may get from the HTTP layer: malformed HTTP, slow or oversized requests, a full worker.
_TRANSPORT = (400, 408, 413, 431, 500, 503)
_POST = (*_TRANSPORT, 401, 403, 404, 415, 422)


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed HTTP or JSON, or a body that is not the request",
        401: "missing or unknown credential",
        403: "the credential lacks the scope",
        404: "unknown feature, view, source or service",
        405: "wrong method (the Allow header lists the right ones)",
        408: "the headers or body came slower than feature_server.header_timeout / body_timeout",
        409: "precomputed vectors not built",
        413: "too many entity rows, or a body over feature_server.max_body_bytes",
        415: "the body was not sent as Content-Type: application/json",
        422: "wrong key types, missing join keys, rows that do not fit the schema",
        431: "request line and headers over feature_server.max_header_bytes",
        500: "a bug (logged by the server; the body never carries a traceback)",
        503: "online store or registry unreachable, or the worker at its connection limit",
    }
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {str(s): {"description": text[s], **ref} for s in sorted(set(statuses))}


@functools.lru_cache(maxsize=1)
def openapi_spec() -> dict[str, Any]:
    from fsnb import __version__

    read_body = {
        "type": "object",
        "properties": {
            "features": {"type": "array", "minItems": 1, "uniqueItems": True,
                         "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$"},
                         "example": ["transaction_stats:txn_count_7d"]},
            "feature_service": {**_NAME, "example": "realtime_scoring"},
            "entities": {
                "type": "object",
                "description": "join key → list of values, every list the same length (one entity row per index)",
                "additionalProperties": {"type": "array", "minItems": 1, "items": _KEY_VALUE},
                "minProperties": 1,
                "example": {"customer_id": [1001, 1002]},
            },
            "full_feature_names": {"type": "boolean", "default": False},
            "precomputed": {"type": "boolean", "nullable": True,
                            "description": "true: read a service's precomputed vectors; false: bypass them"},
        },
        "required": ["entities"],
        "oneOf": [{"required": ["features"]}, {"required": ["feature_service"]}],
    }
    read_response = {
        "type": "object",
        "properties": {
            "metadata": {
                "type": "object",
                "properties": {
                    "feature_names": {"type": "array", "items": {"type": "string"}},
                    "dtypes": {"type": "array", "items": {"type": "string"}},
                },
            },
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "values": {"type": "array", "items": {}},
                        "statuses": {
                            "type": "array",
                            "items": {"enum": ["PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE"]},
                        },
                        "event_timestamps": {"type": "array", "items": {"type": "string", "nullable": True}},
                    },
                },
            },
        },
    }
    ok = {"type": "object", "properties": {"status": {"type": "string"}, "rows": {"type": "integer"}},
          "required": ["status", "rows"]}
    health_ok = {"type": "object", "properties": {"status": {"type": "string"},
                                                  "registry_version": {"type": "integer", "nullable": True}},
                 "required": ["status"]}
    health_down = {"type": "object", "required": ["error", "detail", "status", "problems"], "properties": {
        "error": {"type": "string"}, "detail": {"type": "string"}, "status": {"type": "string"},
        "problems": {"type": "object", "additionalProperties": {"type": "string"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "fsnb feature server", "version": __version__},
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "paths": {
            "/get-online-features": {
                "post": {
                    "summary": "Latest feature values for entity rows (column-major, join keys first).",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": read_body}}},
                    "responses": {
                        "200": {
                            "description": "feature values; Arrow IPC with Accept: application/vnd.apache.arrow.stream",
                            "content": {"application/json": {"schema": read_response}},
                        },
                        **_errors(*_POST, 409),
                    },
                }
            },
            "/push": {
                "post": {
                    "summary": "Push rows to the feature views fed by a push source (needs the write scope).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "push_source_name": _NAME,
                                        "df": _DF,
                                        "to": {"enum": ["online", "offline", "online_and_offline", "both"]},
                                    },
                                    "required": ["push_source_name", "df"],
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "written", "content": {"application/json": {"schema": ok}}},
                                  **_errors(*_POST)},
                }
            },
            "/write-to-online-store": {
                "post": {
                    "summary": "Write rows of one feature view to the online store (needs the write scope).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"feature_view_name": _NAME, "df": _DF},
                                    "required": ["feature_view_name", "df"],
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "written", "content": {"application/json": {"schema": ok}}},
                                  **_errors(*_POST)},
                }
            },
            "/health": {"get": {
                "summary": "200 when the registry and the online store answer, else 503.",
                "responses": {
                    "200": {"description": "healthy", "content": {"application/json": {"schema": health_ok}}},
                    **_errors(*_TRANSPORT),
                    "503": {"description": "a part is down: the error of the first failing part, and every part's",
                            "content": {"application/json": {"schema": health_down}}},
                },
            }},
            "/metrics": {"get": {"summary": "Prometheus metrics of every worker.",
                                 "responses": {"200": {"description": "text exposition format",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}},
                                               **_errors(*_TRANSPORT)}}},
            "/ping": {"get": {"summary": "200 while the worker runs (no dependency checked).",
                              "responses": {"200": {"description": "up", "content": {"application/json": {
                                  "schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
                                  **_errors(*_TRANSPORT)}}},
        },
    }


def docs_html() -> str:
    """A page listing every endpoint from the OpenAPI document (no external assets)."""
    import json

    spec = openapi_spec()
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = ", ".join(op.get("responses", {}))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td><td>{codes}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>fsnb feature server</title></head><body>"
        f"<h1>fsnb feature server {html.escape(spec['info']['version'])}</h1>"
        "<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th><th>statuses</th></tr>"
        + "".join(rows)
        + "</table><p>OpenAPI document: <a href='/openapi.json'>/openapi.json</a></p>"
        f"<details><summary>spec</summary><pre>{html.escape(json.dumps(spec, indent=2))}</pre></details>"
        "</body></html>"
    )
