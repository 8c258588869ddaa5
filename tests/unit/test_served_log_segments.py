"""Spooled served reads to Parquet: every type survives JSON and Arrow bodies alike, a segment converted twice is
in the dataset once, damage is refused or counted (never half-read), and the shipper process converts what the
server left when its master goes away."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fsnb import wire
from fsnb.served_log.convert import write_segment
from fsnb.served_log.frames import Layout, frame, read_segment, segment_header
from fsnb.server.log_shipper import Shipper, ship_pending

T1 = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REQUEST_US = int(datetime(2026, 3, 3, 9, 0, tzinfo=UTC).timestamp() * 1e6)

COLUMNS: list[tuple[str, str, list[Any], list[str], list[Any]]] = [
    ("user_id", "int64", [1, 2], ["PRESENT", "PRESENT"], [None, None]),
    ("score", "float64", [math.inf, float("nan")], ["PRESENT", "PRESENT"], [T1, T1]),
    ("name", "string", ["ada", None], ["PRESENT", "NOT_FOUND"], [T1, None]),
    ("blob", "bytes", [b"\x00\xff", None], ["PRESENT", "NULL_VALUE"], [T2, T2]),
    ("doc", "json", [{"a": [1, 2]}, None], ["PRESENT", "NULL_VALUE"], [T2, T2]),
    ("seen", "unix_timestamp", [T2, None], ["PRESENT", "NULL_VALUE"], [T2, T2]),
    ("amounts", "array<float64>", [[1.5, -math.inf], []], ["PRESENT", "PRESENT"], [T2, T2]),
    ("flag", "bool", [True, None], ["PRESENT", "NOT_FOUND"], [T2, None]),
]
LAYOUT = Layout("svc", ("v1__score", "v1__name", "v2__blob", "v2__doc", "v2__seen", "v2__amounts", "v3__flag"),
                (False, False, False, False, False, False, False),
                ("v1", "v1", "v2", "v2", "v2", "v2", "v3"), (("paid", "float64"),))


class _Response:
    """What the wire encoders read of an online response."""

    join_keys = ("user_id",)
    feature_names = [c[0] for c in COLUMNS]


def _segment(*frames: bytes, layout: Layout = LAYOUT) -> bytes:
    return segment_header({7: layout}, worker=4242) + b"".join(frames)


def _frame(body: bytes, *, arrow: bool = False, rid: bytes = b"r-1", request: bytes = b'{"paid":[9.5,null]}',
           at: int = REQUEST_US) -> bytes:
    return frame(7, at, 1234, "rest", arrow, rid, body, request)


def _read(root: Path) -> list[dict[str, Any]]:
    files = sorted(root.glob("service=svc/date=*/*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def _nan_free(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()} for r in rows]


def test_json_and_arrow_bodies_give_the_same_rows_with_every_type(tmp_path: Path) -> None:
    json_body = wire.encode_json(_Response(), COLUMNS)
    arrow_body = wire.encode_arrow(_Response(), COLUMNS)
    for name, body, arrow in (("json", json_body, False), ("arrow", arrow_body, True)):
        assert write_segment(_segment(_frame(body, arrow=arrow)), tmp_path / name, "seg-1") == 1
    rows = _read(tmp_path / "json")
    assert _nan_free(rows) == _nan_free(_read(tmp_path / "arrow"))
    first, second = rows
    assert (first["request_id"], first["duration_us"], first["mode"], first["worker"], first["row"]) == \
        ("r-1", 1234, "rest", 4242, 0)
    assert first["request_time"] == datetime(2026, 3, 3, 9, 0, tzinfo=UTC) and second["row"] == 1
    assert [first["user_id"], second["user_id"]] == [1, 2]
    assert first["v1__score"] == math.inf and math.isnan(second["v1__score"])
    assert (first["v1__name"], second["v1__name"], second["v1__name__status"]) == ("ada", None, "NOT_FOUND")
    assert (first["v2__blob"], first["v2__doc"], first["v2__seen"]) == (b"\x00\xff", '{"a": [1, 2]}', T2)
    assert first["v2__amounts"] == [1.5, -math.inf] and second["v2__amounts"] == []
    assert (first["v3__flag"], second["v3__flag__status"]) == (True, "NOT_FOUND")
    # one event time per view; a row with none (NOT_FOUND) has null
    assert (first["v1__event_timestamp"], second["v1__event_timestamp"]) == (T1, T1)
    assert (first["v3__event_timestamp"], second["v3__event_timestamp"]) == (T2, None)
    assert (first["paid"], second["paid"]) == (9.5, None)  # the request data of on-demand views
    assert (tmp_path / "json" / "service=svc" / "date=2026-03-03" / "part-seg-1.parquet").is_file()


def test_a_segment_converted_twice_is_in_the_dataset_once(tmp_path: Path) -> None:
    body = wire.encode_json(_Response(), COLUMNS)
    data = _segment(*(_frame(body, rid=b"r-%d" % i) for i in range(300)))
    write_segment(data, tmp_path, "seg-9")
    write_segment(data, tmp_path, "seg-9")  # a shipper that died before deleting the segment
    rows = _read(tmp_path)
    assert len(rows) == 600 and len({r["request_id"] for r in rows}) == 300


def test_reads_of_another_day_go_to_that_day(tmp_path: Path) -> None:
    body = wire.encode_json(_Response(), COLUMNS)
    next_day = REQUEST_US + 86_400_000_000
    write_segment(_segment(_frame(body), _frame(body, rid=b"r-2", at=next_day)), tmp_path, "s")
    days = sorted(p.name for p in (tmp_path / "service=svc").iterdir())
    assert days == ["date=2026-03-03", "date=2026-03-04"]


def test_a_damaged_segment_is_refused_and_an_undecodable_read_is_counted(tmp_path: Path) -> None:
    body = wire.encode_json(_Response(), COLUMNS)
    whole = _segment(_frame(body), _frame(body, rid=b"r-2"))
    with pytest.raises(ValueError, match="cut short"):
        list(read_segment(whole[:-10]))
    with pytest.raises(ValueError, match="header is damaged"):
        read_segment(b'{"version": 2}\n')
    with pytest.raises(ValueError, match="format version"):
        list(read_segment(b'{"version": 1, "worker": 1, "layouts": {}}\n'))
    lost: list[tuple[int, str]] = []
    bad = _segment(_frame(body), _frame(b'{"metadata": not json', rid=b"r-2"), _frame(body, rid=b"r-3"))
    assert write_segment(bad, tmp_path, "s", on_lost=lambda n, why: lost.append((n, why))) == 2
    assert [n for n, _ in lost] == [1] and "could not be decoded" in lost[0][1]
    assert sorted({r["request_id"] for r in _read(tmp_path)}) == ["r-1", "r-3"]


def test_ship_pending_converts_segments_and_sets_damaged_ones_aside(tmp_path: Path) -> None:
    spool, root = tmp_path / "spool", tmp_path / "log"
    spool.mkdir()
    body = wire.encode_json(_Response(), COLUMNS)
    (spool / "100-a-1.seg").write_bytes(_segment(_frame(body)))
    (spool / "100-a-2.seg").write_bytes(_segment(_frame(body, rid=b"r-2"), _frame(body, rid=b"r-3"))[:-5])
    (spool / "100-a-3.seg").write_bytes(b'{"version": 2, "worker": 1}\n' + _frame(body, rid=b"r-4"))
    counted: dict[str, int] = {}
    assert ship_pending(spool, root, lambda outcome, n: counted.__setitem__(outcome, counted.get(outcome, 0) + n)) == 2
    # the cut-short segment gave the read before the damage; the one with a damaged header is set aside whole
    assert counted == {"written": 2, "dropped": 2}
    assert not list(spool.glob("*.seg")) and [p.name for p in (spool / "damaged").iterdir()] == ["100-a-3.seg"]
    assert sorted({r["request_id"] for r in _read(root)}) == ["r-1", "r-2"]


def test_the_shipper_converts_what_is_left_when_its_master_closes_the_pipe(tmp_path: Path) -> None:
    spool, root = tmp_path / "spool", tmp_path / "log"
    shipper = Shipper(spool, root, interval=3600.0, retention_days=0)  # never on its own timer in this test
    shipper.start()
    try:
        body = wire.encode_json(_Response(), COLUMNS)
        (spool / "200-b-1.seg").write_bytes(_segment(_frame(body)))
    finally:
        shipper.stop(timeout=60)
    assert not list(spool.glob("*.seg"))
    assert [r["request_id"] for r in _read(root)] == ["r-1", "r-1"]
