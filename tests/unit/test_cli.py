"""The ``fsnb`` command, run as a real subprocess on a small feature repo of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.test_registry import write_transactions

DEFINITIONS = """
from datetime import timedelta

import fsnb
from entities import customer

source = fsnb.ParquetSource("data/transactions.parquet", name="transactions", created_timestamp_column="created")
transaction_stats = fsnb.FeatureView(
    "transaction_stats",
    entities=[customer],
    schema=[fsnb.Field("txn_count_7d", fsnb.{dtype}), fsnb.Field("avg_amount", fsnb.Float64)],
    source=source,
    ttl=timedelta(days=2),
)
scoring = fsnb.FeatureService("scoring", [transaction_stats])
"""

ENTITIES = """
import fsnb

customer = fsnb.Entity("customer", join_keys={"customer_id": fsnb.Int64})
"""


def fsnb_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSNB_")}
    return subprocess.run(
        [sys.executable, "-m", "fsnb.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def write_repo(path: Path, dtype: str = "Int64") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    write_transactions(path / "data" / "transactions.parquet")
    (path / "fsnb.yaml").write_text("project: clitest\n")
    (path / "entities.py").write_text(textwrap.dedent(ENTITIES))
    (path / "features.py").write_text(textwrap.dedent(DEFINITIONS).replace("{dtype}", dtype))
    (path / "_helpers.py").write_text("raise RuntimeError('files starting with _ are not imported')\n")
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo")


def test_apply_plan_ls_describe_round_trip(repo: Path) -> None:
    applied = fsnb_cli("apply", cwd=repo)
    assert applied.returncode == 0, applied.stderr
    for line in ("+ entity customer", "+ data_source transactions", "+ feature_view transaction_stats",
                 "+ feature_service scoring", "Registry version 0 -> 1."):
        assert line in applied.stdout

    planned = fsnb_cli("plan", cwd=repo)
    assert planned.returncode == 0 and planned.stdout.strip() == "No changes."
    again = fsnb_cli("apply", cwd=repo)
    assert again.returncode == 0 and again.stdout.startswith("No changes.")

    listed = fsnb_cli("ls", cwd=repo)
    assert listed.returncode == 0
    rows = [line.split()[:2] for line in listed.stdout.splitlines()]
    assert ["entity", "customer"] in rows and ["feature_view", "transaction_stats"] in rows
    assert ["feature_service", "scoring"] in rows

    described = fsnb_cli("--repo", str(repo), "describe", "transaction_stats", cwd=repo.parent)
    assert described.returncode == 0
    assert '"txn_count_7d"' in described.stdout and "feature_view transaction_stats" in described.stdout


def test_plan_after_editing_a_dtype_reports_exactly_that(repo: Path) -> None:
    assert fsnb_cli("apply", cwd=repo).returncode == 0
    write_repo(repo, dtype="Float64")
    planned = fsnb_cli("-r", str(repo), "plan", cwd=repo.parent)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.strip().splitlines() == [
        "Changed:",
        "  ~ feature_view transaction_stats: feature txn_count_7d dtype int64 -> float64",
        "  ~ feature_service scoring: view transaction_stats feature txn_count_7d dtype int64 -> float64",
    ]


def test_apply_prune_removes_undefined_objects(repo: Path) -> None:
    assert fsnb_cli("apply", cwd=repo).returncode == 0
    service = 'scoring = fsnb.FeatureService("scoring", [transaction_stats])'
    text = (repo / "features.py").read_text().replace(service, "")
    (repo / "features.py").write_text(text)
    assert "No changes." in fsnb_cli("apply", cwd=repo).stdout
    pruned = fsnb_cli("apply", "--prune", cwd=repo)
    assert "- feature_service scoring" in pruned.stdout
    assert "scoring" not in fsnb_cli("ls", "services", cwd=repo).stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["bogus"], ["invalid choice", "bogus"]),
        (["describe"], ["required", "name"]),
        (["--repo", "/no/such/folder", "ls"], ["/no/such/folder", "does not exist"]),
        (["describe", "ghost"], ["ghost", "clitest"]),
    ],
)
def test_bad_input_is_one_line_on_stderr(repo: Path, args: list[str], words: list[str]) -> None:
    assert_one_line_error(fsnb_cli(*args, cwd=repo), *words)


def test_bad_definitions_are_one_line_naming_object_and_column(repo: Path) -> None:
    write_repo(repo, dtype="String")
    assert_one_line_error(fsnb_cli("apply", cwd=repo), "transaction_stats", "txn_count_7d", "string")
    (repo / "features.py").write_text("import fsnb\nx = fsnb.Entity('bad name!')\n")
    assert_one_line_error(fsnb_cli("plan", cwd=repo), "features.py:2", "bad name!")


def test_bad_config_is_one_line_naming_key_and_file(repo: Path) -> None:
    (repo / "fsnb.yaml").write_text("project: clitest\nregistri: x.db\n")
    assert_one_line_error(fsnb_cli("ls", cwd=repo), "registri", "fsnb.yaml")


def test_debug_shows_the_traceback(repo: Path) -> None:
    result = fsnb_cli("--debug", "describe", "ghost", cwd=repo)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_doctor_reports_each_part(repo: Path) -> None:
    result = fsnb_cli("doctor", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("config", "registry", "online", "offline", "packages"):
        assert any(line.startswith("ok") and part in line for line in result.stdout.splitlines()), part
    (repo / "fsnb.yaml").write_text("project: clitest\nonline_store: redis://127.0.0.1:1/0\n")
    failed = fsnb_cli("doctor", "--timeout", "1", cwd=repo)
    assert failed.returncode != 0
    assert any(line.startswith("FAIL") and "online" in line for line in failed.stdout.splitlines())


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = fsnb_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for name in ("apply", "plan", "ls", "describe", "doctor"):
        assert name in result.stdout


def test_the_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "fsnb"
    if not script.exists():
        pytest.skip("fsnb is not installed as a console script in this environment")
    done = subprocess.run([str(script), "ls"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "No objects in project 'default'" in done.stdout


def test_main_returns_exit_status_in_process(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fsnb.cli import main

    assert main(["--repo", str(repo / "missing"), "ls"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["bogus"]) == 2
