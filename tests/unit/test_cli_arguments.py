"""Command-line input that cannot work is refused with one clear message, never "unexpected ..."."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_cli import assert_one_line_error, fsnb_cli, write_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo")


def test_serve_refuses_a_port_out_of_range(repo: Path) -> None:
    result = fsnb_cli("serve", "--port", "99999", cwd=repo)
    assert result.returncode != 0 and "99999 is not a port: give 0-65535" in result.stderr
    assert "unexpected" not in result.stderr and "Starting gunicorn" not in result.stderr
    (repo / "fsnb.yaml").write_text("project: clitest\nfeature_server: {port: 70000}\n")
    assert_one_line_error(fsnb_cli("serve", cwd=repo), "feature_server.port is 70000", "0-65535")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("empty.csv", b"", ["empty.csv cannot be read as CSV"]),
    ("header_only.csv", b"customer_id,event_timestamp\n", ["holds no rows"]),
    ("garbage.parquet", b"not parquet at all\n", ["garbage.parquet cannot be read as Parquet"]),
])
def test_push_of_an_unreadable_or_empty_file_is_one_clear_line(repo: Path, name: str, content: bytes,
                                                                words: list[str]) -> None:
    (repo / name).write_bytes(content)
    result = fsnb_cli("push", "anything", name, cwd=repo)
    assert_one_line_error(result, *words)
    assert "unexpected" not in result.stderr


@pytest.mark.parametrize("views", ["", ",,", " , "])
def test_materialize_views_naming_nothing_is_an_error_not_every_view(repo: Path, views: str) -> None:
    assert fsnb_cli("apply", cwd=repo).returncode == 0
    result = fsnb_cli("materialize", "2020-01-01", "2020-01-02", "--views", views, cwd=repo)
    assert_one_line_error(result, "names no feature view")


def test_bench_refuses_a_negative_parity_count(repo: Path) -> None:
    result = fsnb_cli("bench", "--parity", "-3", cwd=repo)
    assert result.returncode != 0 and "-3 is negative" in result.stderr


def test_a_definitions_file_calling_sys_exit_fails_apply(repo: Path) -> None:
    (repo / "zz_exit.py").write_text("import sys\nsys.exit(0)\n")
    assert_one_line_error(fsnb_cli("apply", cwd=repo), "zz_exit.py called sys.exit(0)")
    assert not (repo / ".fsnb" / "registry.db").exists()
