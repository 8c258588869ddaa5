"""Building precomputed vectors (the format is in :mod:`fsnb.online.vector_format`): full builds and the refresh
of the entities a write touched.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from fsnb.definitions import FeatureService, FeatureView
from fsnb.errors import RegistryError, RequestError
from fsnb.online.base import SupportsKeyExpiry, SupportsScan, SupportsVectors, require
from fsnb.online.codec import ROW_FORMAT_VERSION, SegmentsCodec
from fsnb.online.keys import (
    KEY_FORMAT_VERSION,
    decode_entity_key,
    hash_key_prefix,
    marker_key,
    vector_key_prefix,
)
from fsnb.online.vector_format import vector_codec, vector_head
from fsnb.online.writes import codec_for, codec_for_fields
from fsnb.requests import stored_service

if TYPE_CHECKING:
    from fsnb._parts import StoreParts
    from fsnb.registry.snapshot import RegistrySnapshot

__all__ = ["build_vectors", "refresh_vectors", "vector_marker"]

_SID = struct.Struct("<I")


_vector_codecs: dict[tuple[int, ...], SegmentsCodec] = {}


class _Build:
    """What writing one service's vectors needs: per view, the stored row codec and the projection codec."""

    def __init__(self, snapshot: RegistrySnapshot, service: FeatureService) -> None:
        service = stored_service(snapshot, service)  # on-demand views: the stored inputs they read
        self.service = service
        self.views: list[FeatureView] = [snapshot.stored_view(p.name) for p in service.projections]
        keys0 = {f.name for f in self.views[0].entity_columns}
        for v in self.views[1:]:
            if {f.name for f in v.entity_columns} != keys0:
                raise RequestError(
                    f"feature service {service.name!r} mixes views of different entities ({self.views[0].name!r} "
                    f"and {v.name!r}); precompute_online needs one set of join keys"
                )
        self.stored = [codec_for(v) for v in self.views]
        self.proj = [codec_for_fields(p.features) for p in service.projections]
        self.identity = [
            tuple(f.name for f in p.features) == v.feature_names and s.schema_id == c.schema_id
            for p, v, s, c in zip(service.projections, self.views, self.stored, self.proj)
        ]
        self.fields = tuple(v.name.encode() for v in self.views)
        self.head = vector_head(service.fingerprint())
        key = tuple(c.schema_id for c in self.proj) + tuple(len(c.fields) for c in self.proj)
        codec = _vector_codecs.get(key)
        if codec is None:
            codec = _vector_codecs[key] = vector_codec(self.proj)
        self.codec = codec
        self.hash_prefix = hash_key_prefix(snapshot.project)
        self.vector_prefix = vector_key_prefix(snapshot.project, service.name)

    def segments(self, i: int, blobs: list[bytes | None]) -> list[bytes | None]:
        """Projection rows of view ``i`` from its stored rows (None where absent or of another schema)."""
        stored = self.stored[i]
        sid = stored.schema_id
        if self.identity[i]:
            return [
                b if b is not None and len(b) >= stored.width and b[0] == ROW_FORMAT_VERSION
                and _SID.unpack_from(b, 1)[0] == sid else None
                for b in blobs
            ]
        d = stored.decode(blobs)
        idx = [[f.name for f in self.views[i].features].index(f.name) for f in self.service.projections[i].features]
        cols = []
        for fi in idx:
            cols.append((d.values[fi], ~d.valid[fi]))
        rows = self.proj[i].encode_columns(cols, d.ts)
        found = d.found.tolist()
        return [r if ok else None for r, ok in zip(rows, found)]

    def write(self, store: StoreParts, keys: Sequence[bytes]) -> int:
        """Read the views' rows of ``keys`` (one round trip) and write their vectors (one pipeline)."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        hp = self.hash_prefix
        [replies] = store.online.read_hashes([([hp + k for k in keys], self.fields)])
        per_view = [self.segments(i, [r[i] for r in replies]) for i in range(len(self.views))]
        out_keys, out_vals = [], []
        vp = self.vector_prefix
        head = self.head
        join = self.codec.join
        for j, k in enumerate(keys):
            # written even when no view has a row (any more): it then reads NOT_FOUND, as the rows do
            out_keys.append(vp + k)
            out_vals.append(head + join([pv[j] for pv in per_view]))
        if out_keys:
            require(store.online, SupportsVectors, what="precomputed vectors").write_values(out_keys, out_vals)
        return len(out_keys)


def _services_reading(snapshot: RegistrySnapshot, views: Iterable[str]) -> list[FeatureService]:
    names = set(views)
    return [
        s
        for s in snapshot.feature_services.values()
        if s.precompute_online and any(p.name in names for p in stored_service(snapshot, s).projections)
    ]


def refresh_vectors(store: StoreParts, keys: Sequence[bytes], *, views: Iterable[str]) -> int:
    """Rebuild the vectors of every precompute_online service reading any of ``views``, for exactly ``keys``
    (canonical entity keys). Returns the number of vectors written.

    Vectors are written in the layout the last full build marked (or the writer's, before any build): a writer
    whose registry snapshot has another layout (a server worker between registry refreshes) reloads the registry
    first, and writes nothing when its layout still differs, so readers of the marked layout never find an
    entity's vector in another one."""
    if not keys:
        return 0
    snapshot = store.snapshot()
    total = 0
    for service in _services_reading(snapshot, views):
        build: _Build | None = _Build(snapshot, service)
        marker = vector_marker(store, service.name)
        if marker is not None and marker[0] != build.service.fingerprint():  # type: ignore[union-attr]
            build = _marked_build(store, service.name, marker[0])
        if build is None:
            continue
        for start in range(0, len(keys), 5000):
            total += build.write(store, keys[start : start + 5000])
    return total


def _marked_build(store: StoreParts, service: str, fingerprint: str) -> _Build | None:
    """The build of ``service`` as the registry defines it now, if that is the layout ``fingerprint`` marks."""
    registry = getattr(store, "registry", None)
    if registry is None:
        return None
    try:
        fresh = registry.refresh()
    except RegistryError:  # no registry to ask: leave the vectors to the next build
        return None
    current = fresh.feature_services.get(service)
    if current is None or not current.precompute_online:
        return None
    build = _Build(fresh, current)
    return build if build.service.fingerprint() == fingerprint else None


def build_vectors(store: StoreParts, service: FeatureService | str, progress: bool = True) -> int:
    """Rebuild every vector of ``service`` from the rows online (a scan of the project's keys), then mark the
    build. Returns the number of vectors written."""
    snapshot = store.snapshot()
    if isinstance(service, str):
        service = snapshot.get_feature_service(service)
    if not service.precompute_online:
        raise RequestError(
            f"feature service {service.name!r} has precompute_online=False; set it to True and `fsnb apply`"
        )
    build = _Build(snapshot, service)
    # Keys hold their sorted join-key names first: scan only this entity's keys, then drop other entities'
    # keys that merely share the first name (compound keys).
    names = sorted(f.name for f in build.views[0].entity_columns)
    first = names[0].encode()
    scan_prefix = build.hash_prefix + bytes([KEY_FORMAT_VERSION, len(first)]) + first
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc=f"vectors {service.name}", unit=" vectors")
    total = 0
    n = len(build.hash_prefix)
    try:
        online = require(store.online, SupportsScan, what="build_vectors")
        for batch in online.scan_keys(scan_prefix, count=2000):
            keys = [k[n:] for k in batch]
            written = build.write(store, [k for k in keys if list(decode_entity_key(k)) == names])
            total += written
            if bar is not None:
                bar.update(written)
    finally:
        if bar is not None:
            bar.close()
    marker = f"{build.service.fingerprint()}:{time.time_ns() // 1000}".encode()
    _never_expiring(require(store.online, SupportsVectors, what="build_vectors")).write_values(
        [marker_key(snapshot.project, service.name)], [marker]
    )
    return total


def _never_expiring(online: SupportsVectors) -> SupportsVectors:
    """``online`` with key expiry off, for the build marker: it records a build, not data, so it must outlive
    ``key_ttl_seconds`` (expired vectors read as NOT_FOUND; an expired marker would fail every precomputed read).
    A shallow copy sharing the store's connections; the store itself is left as it is."""
    if isinstance(online, SupportsKeyExpiry) and online.key_ttl_seconds:
        import copy

        online = copy.copy(online)
        online.key_ttl_seconds = 0  # type: ignore[attr-defined]
    return online


def vector_marker(store: StoreParts, service: str) -> tuple[str, int] | None:
    """(fingerprint, built at µs) of the last full build of ``service``'s vectors, or None."""
    [raw] = require(store.online, SupportsVectors, what="precomputed vectors").read_values(
        [marker_key(store.project, service)]
    )
    if raw is None:
        return None
    fp, _, at = raw.decode().partition(":")
    return fp, int(at or 0)
