"""The materialize, materialize-incremental and push subcommands parse what their help promises."""

from __future__ import annotations

import pytest

from fsnb.cli import build_parser


def test_materialize_arguments():
    args = build_parser().parse_args(["materialize", "2024-01-01", "now", "--views", "a, b", "--no-progress"])
    from fsnb.commands.materialize import views_of

    assert (args.start, args.end, args.no_progress) == ("2024-01-01", "now", True)
    assert views_of(args) == ["a", "b"]


def test_materialize_incremental_arguments():
    args = build_parser().parse_args(["materialize-incremental", "now"])
    from fsnb.commands.materialize import views_of

    assert args.end == "now" and views_of(args) is None and not args.no_progress


def test_push_arguments(capsys):
    args = build_parser().parse_args(["push", "src", "rows.parquet", "--to", "online_and_offline"])
    assert (args.source, args.file, args.to) == ("src", "rows.parquet", "online_and_offline")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["push", "src", "rows.parquet", "--to", "nowhere"])
    assert "invalid choice" in capsys.readouterr().err


def test_time_parsing():
    from datetime import UTC, datetime, timedelta, timezone

    from fsnb._time import to_utc
    from fsnb.errors import RequestError

    assert to_utc("2024-01-01") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc("2024-01-01T02:00:00+02:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc(datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(2024, 1, 1, tzinfo=UTC)
    assert abs(to_utc("now") - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(RequestError, match="ISO-8601"):
        to_utc("yesterday")
