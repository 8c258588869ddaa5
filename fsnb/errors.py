"""The fsnb exception tree.

FsnbError
├── ConfigError(ValueError)                 bad fsnb.yaml, env var or keyword option
├── DefinitionError(ValueError)             an Entity / FeatureView / FeatureService that cannot be built
│   └── SchemaMismatchError                 a definition that does not fit its real source
├── RegistryError                           the registry cannot be read or written
│   ├── ObjectNotFoundError(KeyError)       no entity / view / service / source of that name
│   │   ├── EntityNotFoundError
│   │   ├── FeatureViewNotFoundError
│   │   ├── FeatureServiceNotFoundError
│   │   └── FeatureNotFoundError
│   └── ConcurrentApplyError                another apply won the race and the retry budget ran out
├── RequestError(ValueError)                an online / offline request that is wrong before any I/O
│   ├── EmptyRequestError
│   ├── MissingJoinKeyError
│   ├── ExtraJoinKeyError
│   ├── MissingRequestDataError             request data an on-demand view needs is missing or of the wrong type
│   ├── TransformError                      an on-demand view's function raised or returned what it did not declare
│   ├── JoinKeyTypeError(TypeError)
│   ├── TooManyRowsError
│   ├── RequestTooLargeError                413: a request body over the server's byte limit
│   ├── UnsupportedMediaTypeError           415: a request body that is not sent as JSON
│   └── RequestTimeoutError(TimeoutError)   408: a request's headers or body came too slowly
├── DataValidationError(ValueError)         a DataFrame written / pushed that does not fit a view's schema
├── OnlineStoreError                        the online store failed (connection, timeout, protocol)
│   ├── OnlineStoreUnavailableError(ConnectionError)
│   └── UnsupportedCapabilityError(NotImplementedError)
├── VectorsNotBuiltError                    precomputed vectors are missing or stale for a FeatureService
├── OfflineStoreError                       DuckDB could not read a source or run a query
├── MaterializationError
├── ServerError                             the feature server answered with an error it could not map
│   └── AuthError(PermissionError)          401: no or unknown credential
│       └── ForbiddenError                  403: the credential lacks the scope
├── ParityError(AssertionError)             ParityReport.assert_ok() found mismatches
└── RepoExistsError(FileExistsError)        fsnb init into a non-empty folder without --force

Errors of the libraries underneath (redis-py, SQLAlchemy, DuckDB, requests) are translated into this tree at
one place per part, with the original kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConcurrentApplyError",
    "ConfigError",
    "DataValidationError",
    "DefinitionError",
    "EmptyRequestError",
    "EntityNotFoundError",
    "ExtraJoinKeyError",
    "FeatureNotFoundError",
    "FeatureServiceNotFoundError",
    "FeatureViewNotFoundError",
    "ForbiddenError",
    "FsnbError",
    "JoinKeyTypeError",
    "MaterializationError",
    "MissingJoinKeyError",
    "MissingRequestDataError",
    "ObjectNotFoundError",
    "OfflineStoreError",
    "OnlineStoreError",
    "OnlineStoreUnavailableError",
    "ParityError",
    "RegistryError",
    "RepoExistsError",
    "RequestError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "SchemaMismatchError",
    "ServerError",
    "TooManyRowsError",
    "TransformError",
    "UnsupportedCapabilityError",
    "UnsupportedMediaTypeError",
    "VectorsNotBuiltError",
]


class FsnbError(Exception):
    """Base of every error fsnb raises on purpose."""

    #: HTTP status the feature server answers with for this error.
    http_status: int = 500

    def __str__(self) -> str:  # KeyError subclasses would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(FsnbError, ValueError):
    http_status = 500


class DefinitionError(FsnbError, ValueError):
    http_status = 400


class SchemaMismatchError(DefinitionError):
    pass


class RegistryError(FsnbError):
    http_status = 503


class ObjectNotFoundError(RegistryError, KeyError):
    http_status = 404


class EntityNotFoundError(ObjectNotFoundError):
    pass


class FeatureViewNotFoundError(ObjectNotFoundError):
    pass


class FeatureServiceNotFoundError(ObjectNotFoundError):
    pass


class FeatureNotFoundError(ObjectNotFoundError):
    pass


class ConcurrentApplyError(RegistryError):
    http_status = 409


class RequestError(FsnbError, ValueError):
    http_status = 400


class EmptyRequestError(RequestError):
    pass


class MissingJoinKeyError(RequestError):
    http_status = 422


class ExtraJoinKeyError(RequestError):
    http_status = 422


class MissingRequestDataError(RequestError):
    """Request data an on-demand view needs is missing from the entity rows (or entity_df), or does not fit."""

    http_status = 422


class TransformError(RequestError):
    """An on-demand view's function raised, or returned columns or values its schema does not declare."""

    http_status = 422


class JoinKeyTypeError(RequestError, TypeError):
    http_status = 422


class TooManyRowsError(RequestError):
    http_status = 413


class RequestTooLargeError(RequestError):
    """A request body larger than the feature server takes (``feature_server.max_body_bytes``)."""

    http_status = 413


class UnsupportedMediaTypeError(RequestError):
    """A feature-server request body not sent as ``Content-Type: application/json``."""

    http_status = 415


class RequestTimeoutError(RequestError, TimeoutError):
    """A request whose headers or body did not arrive within the feature server's read timeouts."""

    http_status = 408


class DataValidationError(FsnbError, ValueError):
    http_status = 422


class OnlineStoreError(FsnbError):
    http_status = 503


class OnlineStoreUnavailableError(OnlineStoreError, ConnectionError):
    pass


class UnsupportedCapabilityError(OnlineStoreError, NotImplementedError):
    http_status = 501


class VectorsNotBuiltError(FsnbError):
    http_status = 409


class OfflineStoreError(FsnbError):
    http_status = 500


class MaterializationError(FsnbError):
    pass


class ServerError(FsnbError):
    http_status = 502


class AuthError(ServerError, PermissionError):
    http_status = 401


class ParityError(FsnbError, AssertionError):
    pass


class ForbiddenError(AuthError):
    """Authenticated, but the credential lacks the scope the endpoint needs (e.g. ``write`` for a push)."""

    http_status = 403


class RepoExistsError(FsnbError, FileExistsError):
    """``fsnb init`` was pointed at a folder that is not empty (pass ``--force`` to overwrite)."""

    http_status = 409
