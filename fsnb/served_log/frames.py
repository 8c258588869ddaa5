"""The spool format of served reads: one self-contained segment per writer flush, bytes only.

A request appends one frame: a fixed binary header, then the request id, the response body exactly as served
(JSON or Arrow IPC) and the request data of on-demand views (JSON, empty when there is none). Bytes are cheap to
copy and invisible to the garbage collector; decoding them into columns is left to whoever converts the segment
(:mod:`fsnb.served_log.convert`), in another process when the server runs a shipper.

A segment starts with one JSON line describing every :class:`Layout` its frames use, so it converts without the
registry.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["Frame", "Layout", "frame", "layout_of", "read_segment", "segment_header"]

#: bumped when the segment or frame format changes; a segment of another version is refused, never misread.
VERSION = 2

MODES = ("rest", "direct", "async")
_MODE_CODES = {m: i for i, m in enumerate(MODES)}


@dataclass(frozen=True)
class Layout:
    """What the log needs of one request shape beyond its response: the partition name, the full name of every
    feature column, whether its values are left out (a sensitive view), its view, and the request data fields."""

    name: str
    features: tuple[str, ...]
    hidden: tuple[bool, ...]
    views: tuple[str, ...]
    #: (name, dtype name) of the on-demand views' request data, logged as columns of those names.
    request: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "features": list(self.features), "hidden": list(self.hidden),
                "views": list(self.views), "request": [list(r) for r in self.request]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Layout:
        return cls(doc["name"], tuple(doc["features"]), tuple(doc["hidden"]), tuple(doc["views"]),
                   tuple((str(n), str(t)) for n, t in doc.get("request", ())))


class Frame(NamedTuple):
    """One served read, as read back from a segment."""

    layout: Layout
    worker: int
    request_us: int
    duration_us: int
    mode: str
    arrow: bool
    request_id: str
    body: bytes
    request: bytes


#: a frame's fixed header: layout id, request time (µs since the epoch), duration (µs), mode, whether the body is
#: Arrow, then the lengths of the request id, the body and the request data.
_HEAD = struct.Struct("<IqqBBHII")


def frame(layout_id: int, request_us: int, duration_us: int, mode: str, arrow: bool, request_id: bytes,
          body: bytes, request: bytes) -> bytes:
    """One frame (the request path's only formatting work)."""
    head = _HEAD.pack(layout_id, request_us, duration_us, _MODE_CODES[mode], arrow, len(request_id), len(body),
                      len(request))
    return b"".join((head, request_id, body, request))


def layout_of(frame: bytes) -> int:
    """The layout id a frame refers to."""
    return int(_HEAD.unpack_from(frame)[0])


def segment_header(layouts: dict[int, Layout], worker: int) -> bytes:
    """The first line of a segment: the format version, the writing process and the layouts its frames refer to
    by id."""
    doc = {"version": VERSION, "worker": worker, "layouts": {str(i): lay.to_json() for i, lay in layouts.items()}}
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def read_segment(data: bytes) -> Iterator[Frame]:
    """The frames of a segment, in the order they were served. Raises ``ValueError`` on a damaged header (at
    once) or, while iterating, at a damaged frame."""
    layouts, worker, pos = _header(data)
    return _frames(data, layouts, worker, pos)


def _header(data: bytes) -> tuple[dict[int, Layout], int, int]:
    end = data.find(b"\n")
    if end < 0:
        raise ValueError("the segment has no header line")
    doc = json.loads(data[:end])
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        version = doc.get("version") if isinstance(doc, dict) else None
        raise ValueError(f"the segment is format version {version}, this fsnb reads {VERSION}")
    try:
        layouts = {int(i): Layout.from_json(lay) for i, lay in doc["layouts"].items()}
        return layouts, int(doc["worker"]), end + 1
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the segment's header is damaged ({type(exc).__name__}: {exc})") from None


def _frames(data: bytes, layouts: dict[int, Layout], worker: int, pos: int) -> Iterator[Frame]:
    size = len(data)
    unpack = _HEAD.unpack_from
    head = _HEAD.size
    while pos < size:
        if pos + head > size:
            raise ValueError(f"a frame header at byte {pos} is cut short")
        lid, req_us, dur_us, mode, arrow, n_id, n_body, n_req = unpack(data, pos)
        pos += head
        stop = pos + n_id + n_body + n_req
        if stop > size:
            raise ValueError(f"a frame at byte {pos} is cut short")
        layout = layouts.get(lid)
        if layout is None or mode >= len(MODES):
            raise ValueError(f"a frame at byte {pos} is damaged (layout {lid}, mode {mode})")
        rid = data[pos:pos + n_id].decode("latin-1")
        body = data[pos + n_id:pos + n_id + n_body]
        yield Frame(layout, worker, req_us, dur_us, MODES[mode], bool(arrow), rid, body, data[stop - n_req:stop])
        pos = stop
