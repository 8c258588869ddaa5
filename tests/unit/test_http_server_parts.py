"""Server parts without servers: auth, error mapping both ways, wire formats, worker count."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from fsnb import errors as E
from fsnb.config import AuthConfig
from fsnb.server.auth import READ, WRITE, TokenAuth, build_auth
from fsnb.server.errors import error_payload
from fsnb.wire import error_from_body


def test_no_auth_means_no_authenticator() -> None:
    assert build_auth(AuthConfig()) is None


def test_token_auth_scopes_and_header_forms() -> None:
    auth = TokenAuth({"r-token": ["read"], "w-token": ["read", "write"]})
    auth.check({b"authorization": b"Bearer r-token"}, READ)
    auth.check({b"x-api-key": b"w-token"}, WRITE)
    with pytest.raises(E.ForbiddenError) as forbidden:
        auth.check({b"authorization": b"Bearer r-token"}, WRITE)
    assert forbidden.value.http_status == 403
    for headers in ({}, {b"authorization": b"Bearer nope"}, {b"authorization": b"Basic r-token"},
                    {b"authorization": b"Bearer "}):
        with pytest.raises(E.AuthError) as denied:
            auth.check(headers, READ)
        assert type(denied.value) is E.AuthError and denied.value.http_status == 401
        assert "r-token" not in str(denied.value) and "w-token" not in str(denied.value)
    assert "token" in repr(auth) and "r-token" not in repr(auth)


def test_token_auth_rejects_bad_config() -> None:
    with pytest.raises(E.ConfigError):
        TokenAuth({"t": ["admin"]})
    with pytest.raises(E.ConfigError):
        TokenAuth({})
    with pytest.raises(E.ConfigError):
        build_auth(AuthConfig(type="token"))


def test_token_names_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSNB_TEST_TOKEN", "from-env")
    auth = build_auth(AuthConfig(type="token", tokens={"${FSNB_TEST_TOKEN}": ["read"]}))
    assert auth is not None
    auth.check({b"authorization": b"Bearer from-env"}, READ)


ALL_ERRORS = [
    cls for _, cls in inspect.getmembers(E, inspect.isclass) if issubclass(cls, E.FsnbError)
]


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_fsnb_error_round_trips_over_the_wire(cls: type[E.FsnbError]) -> None:
    status, body = error_payload(cls("something went wrong"))
    assert status == cls.http_status
    assert body == {"error": cls.__name__, "detail": "something went wrong"}
    back = error_from_body(status, body)
    assert type(back) is cls
    assert str(back) == "something went wrong"


def test_client_mistakes_are_never_500() -> None:
    for cls in (E.RequestError, E.MissingJoinKeyError, E.JoinKeyTypeError, E.TooManyRowsError,
                E.FeatureViewNotFoundError, E.FeatureNotFoundError, E.FeatureServiceNotFoundError,
                E.DataValidationError, E.EmptyRequestError, E.AuthError, E.ForbiddenError):
        assert 400 <= cls.http_status < 500, cls


def test_library_errors_are_translated_and_bugs_hidden() -> None:
    import redis

    from fsnb.online.configs import RedisConfig
    from fsnb.online.redis import RedisOnlineStore

    online = RedisOnlineStore(RedisConfig(url="redis://127.0.0.1:1/0"))  # the server's store maps redis-py errors
    status, body = error_payload(redis.ConnectionError("Connection refused"), online)
    assert status == 503 and body["error"] == "OnlineStoreUnavailableError"
    assert "127.0.0.1:1" in body["detail"]
    status, body = error_payload(ConnectionRefusedError("nope"))
    assert status == 503
    status, body = error_payload(ZeroDivisionError("secret internals"))
    assert status == 500
    assert body["error"] == "InternalServerError" and "secret" not in body["detail"]


def test_unknown_error_names_and_gateway_pages() -> None:
    assert type(error_from_body(418, {"error": "Teapot", "detail": "short"})) is E.ServerError
    assert type(error_from_body(502, "<html>bad gateway</html>")) is E.OnlineStoreUnavailableError
    assert type(error_from_body(500, {"error": "InternalServerError", "detail": "x"})) is E.ServerError
    assert type(error_from_body(400, {"error": "dumps", "detail": "x"})) is E.ServerError  # not a class


class _FakeResponse:
    """The two attributes the wire encoders read, from plain columns."""

    def __init__(self, columns: list[tuple[str, str, list, list, list]], join_keys: list[str]) -> None:
        self._columns = columns
        self.join_keys = join_keys
        self.feature_names = [c[0] for c in columns]
        self.dtypes = {c[0]: c[1] for c in columns}

    def iter_columns(self):  # type: ignore[no-untyped-def]
        for name, _, values, statuses, ts in self._columns:
            yield name, values, statuses, ts


T = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
COLUMNS = [
    ("customer_id", "int64", [1, 2], ["PRESENT", "PRESENT"], [None, None]),
    ("score", "float64", [0.5, None], ["PRESENT", "NOT_FOUND"], [T, None]),
    ("blob", "bytes", [b"\x00\xff", None], ["PRESENT", "NULL_VALUE"], [T, T]),
    ("seen", "unix_timestamp", [T, None], ["PRESENT", "OUTSIDE_MAX_AGE"], [T, T]),
    ("tags", "array<string>", [["a", "b"], None], ["PRESENT", "NOT_FOUND"], [T, None]),
    ("attrs", "map<float64>", [{"x": 1.5}, None], ["PRESENT", "NOT_FOUND"], [T, None]),
    ("doc", "json", [{"k": [1, 2]}, None], ["PRESENT", "NOT_FOUND"], [T, None]),
]


@pytest.mark.parametrize("fmt", ["json", "arrow"])
def test_wire_formats_round_trip_typed_columns(fmt: str) -> None:
    from fsnb import wire

    response = _FakeResponse(COLUMNS, ["customer_id"])
    if fmt == "json":
        body = wire.encode_json(response)
        assert b'"2024-05-01T12:30:15.123456Z"' in body  # RFC 3339, UTC, Z
        cols, keys = wire.decode_json(body)
    else:
        cols, keys = wire.decode_arrow(wire.encode_arrow(response))
    assert keys == 1
    assert cols == [tuple(c) for c in COLUMNS]


def test_resolve_workers() -> None:
    import os

    from fsnb.server.runner import resolve_workers

    assert resolve_workers(-1) == 2 * (os.cpu_count() or 1) + 1
    assert resolve_workers(3) == 3
    with pytest.raises(E.ConfigError):
        resolve_workers(-5)
