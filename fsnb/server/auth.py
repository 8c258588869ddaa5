"""Feature-server auth: ``no_auth`` (nothing on the request path) or static tokens with ``read`` / ``write`` scopes.

A token is sent as ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``. Every configured token is compared
with :func:`hmac.compare_digest` (all of them, so timing does not tell which one nearly matched). Tokens never
appear in reprs, logs or error bodies.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Iterable, Mapping

from fsnb.config import AuthConfig
from fsnb.errors import AuthError, ConfigError, ForbiddenError

__all__ = ["READ", "WRITE", "TokenAuth", "build_auth"]

READ = "read"
WRITE = "write"
_SCOPES = frozenset({READ, WRITE})


class TokenAuth:
    """Static bearer tokens / API keys, each with a set of scopes."""

    __slots__ = ("_tokens",)

    def __init__(self, tokens: Mapping[str, Iterable[str]]) -> None:
        pairs: list[tuple[bytes, frozenset[str]]] = []
        for i, (token, scopes) in enumerate(tokens.items()):
            scope_set = frozenset(scopes)
            unknown = scope_set - _SCOPES
            if not token:
                raise ConfigError(f"feature_server.auth.tokens: token #{i + 1} is empty")
            if unknown:
                raise ConfigError(
                    f"feature_server.auth.tokens: token #{i + 1} has unknown scope(s) {sorted(unknown)}; "
                    f"use {sorted(_SCOPES)}"
                )
            pairs.append((token.encode(), scope_set))
        if not pairs:
            raise ConfigError("feature_server.auth: type token needs at least one entry in tokens")
        self._tokens = tuple(pairs)

    def check(self, headers: Mapping[bytes, bytes], scope: str) -> None:
        """Raise :class:`AuthError` (401) for a missing / unknown token, :class:`ForbiddenError` (403) without
        ``scope``."""
        presented = _presented(headers)
        if presented is None:
            raise AuthError("missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'")
        granted: frozenset[str] | None = None
        for token, scopes in self._tokens:  # compare with every token: constant time over the set
            if hmac.compare_digest(presented, token):
                granted = scopes
        if granted is None:
            raise AuthError("invalid credentials")
        if scope not in granted:
            raise ForbiddenError(f"this credential lacks the {scope!r} scope")

    def __repr__(self) -> str:
        return f"TokenAuth(<{len(self._tokens)} tokens redacted>)"


def _presented(headers: Mapping[bytes, bytes]) -> bytes | None:
    auth = headers.get(b"authorization")
    if auth is not None:
        scheme, _, value = auth.partition(b" ")
        if scheme.lower() == b"bearer" and value.strip():
            return value.strip()
        return None
    key = headers.get(b"x-api-key")
    return key.strip() if key else None


def build_auth(config: AuthConfig) -> TokenAuth | None:
    """The authenticator for ``config``, or None for ``no_auth`` (then the request path does no auth work)."""
    if config.type == "no_auth":
        return None
    # Token names may be ``${VAR}`` / ``${VAR:-default}`` references: the config loader expands values, not
    # mapping keys, so expand them here.
    return TokenAuth({_expand(t): s for t, s in config.tokens.items()})


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(token: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"feature_server.auth.tokens: environment variable {name} is not set")

    return _ENV_REF.sub(sub, token)
