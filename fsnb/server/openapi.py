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
}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed body",
        401: "missing or unknown credential",
        403: "the credential lacks the scope",
        404: "unknown feature, view, source or service",
        409: "precomputed vectors not built",
        413: "too many entity rows",
        422: "wrong key types, missing join keys, rows that do not fit the schema",
        503: "online store or registry unreachable",
    }
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {str(s): {"description": text[s], **ref} for s in statuses}


@functools.lru_cache(maxsize=1)
def openapi_spec() -> dict[str, Any]:
    from fsnb import __version__

    read_body = {
        "type": "object",
        "properties": {
            "features": {"type": "array", "items": {"type": "string"}, "example": ["transaction_stats:txn_count_7d"]},
            "feature_service": {"type": "string", "example": "realtime_scoring"},
            "entities": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {}},
                "example": {"customer_id": [1001, 1002]},
            },
            "full_feature_names": {"type": "boolean", "default": False},
        },
        "required": ["entities"],
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
    ok = {"type": "object", "properties": {"status": {"type": "string"}, "rows": {"type": "integer"}}}
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
                    "requestBody": {"content": {"application/json": {"schema": read_body}}},
                    "responses": {
                        "200": {
                            "description": "feature values; Arrow IPC with Accept: application/vnd.apache.arrow.stream",
                            "content": {"application/json": {"schema": read_response}},
                        },
                        **_errors(400, 401, 403, 404, 409, 413, 422, 503),
                    },
                }
            },
            "/push": {
                "post": {
                    "summary": "Push rows to the feature views fed by a push source (needs the write scope).",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "push_source_name": {"type": "string"},
                                        "df": _DF,
                                        "to": {"enum": ["online", "offline", "online_and_offline"]},
                                    },
                                    "required": ["push_source_name", "df"],
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "written", "content": {"application/json": {"schema": ok}}},
                                  **_errors(400, 401, 403, 404, 422, 503)},
                }
            },
            "/write-to-online-store": {
                "post": {
                    "summary": "Write rows of one feature view to the online store (needs the write scope).",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"feature_view_name": {"type": "string"}, "df": _DF},
                                    "required": ["feature_view_name", "df"],
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "written", "content": {"application/json": {"schema": ok}}},
                                  **_errors(400, 401, 403, 404, 422, 503)},
                }
            },
            "/health": {"get": {"summary": "200 when the registry and the online store answer, else 503.",
                                "responses": {"200": {"description": "healthy"}, "503": {
                                    "description": 'not: {"error", "detail", "status", "problems": {part: class}}'}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics of every worker.",
                                 "responses": {"200": {"description": "text exposition format"}}}},
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
