"""Precomputed vectors of ``FeatureService(precompute_online=True)``: one blob per entity, read with one GET.

Vector format 1: ``u8 version | 8-byte service fingerprint | fixed part of each view's row | one JSON array``:
each view contributes the fixed part of a packed row over the service's projection of it (header with its own
event time, null bitmap, fixed-width values; all zeros when the entity has no row in that view), in service order,
then the variable values of every view follow as one JSON array. N vectors decode with one ``np.frombuffer`` and
one ``json.loads``. A marker value per service (``<fingerprint>:<built at, µs>``) records the last full build;
reads fetch it in the same round trip and raise :class:`fsnb.errors.VectorsNotBuiltError` when it is missing or
names another fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence

from fsnb.online.codec import RowCodec, SegmentsCodec

__all__ = ["VECTOR_FORMAT_VERSION", "VECTOR_HEADER", "rebuild_hint", "vector_codec", "vector_head"]

VECTOR_FORMAT_VERSION = 1
#: version byte + 8-byte service fingerprint
VECTOR_HEADER = 9


def rebuild_hint(service: str) -> str:
    return f"run `fsnb materialize ...` or `store.build_vectors({service!r})` to rebuild them"


def vector_head(fingerprint: str) -> bytes:
    """The first bytes of every vector of a service with this fingerprint."""
    return bytes([VECTOR_FORMAT_VERSION]) + bytes.fromhex(fingerprint)


def vector_codec(codecs: Sequence[RowCodec]) -> SegmentsCodec:
    """The codec of a vector body: the services' projection codecs, one segment each."""
    return SegmentsCodec(codecs, header=VECTOR_HEADER)
