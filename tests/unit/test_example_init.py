"""``fsnb init`` / ``init_repo`` and ``python -m fsnb.examples.banking``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fsnb.commands import init as init_command
from fsnb.errors import FsnbError, RepoExistsError
from fsnb.examples.banking import TEMPLATE_FILES, VIEW_FILES, init_repo, main, template_dir

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    init_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_init_repo_writes_template_and_data(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "bank", customers=50, now=NOW)
    assert repo == tmp_path / "bank"
    for name in TEMPLATE_FILES:
        assert (repo / name).read_bytes() == (template_dir() / name).read_bytes()
    for rel in VIEW_FILES.values():
        assert (repo / rel).is_file()
    assert "data/" in (repo / ".gitignore").read_text()


def test_init_repo_accepts_an_existing_empty_folder(tmp_path: Path) -> None:
    init_repo(tmp_path, customers=10, now=NOW)
    assert (tmp_path / "definitions.py").is_file()


def test_init_repo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RepoExistsError, match="--force"):
        init_repo(tmp_path, customers=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(FileExistsError):  # catchable as the builtin too
        init_repo(tmp_path, customers=10)


def test_init_repo_force_overwrites_its_files_only(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "definitions.py").write_text("# edited\n")
    init_repo(tmp_path, customers=10, now=NOW, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "definitions.py").read_bytes() == (template_dir() / "definitions.py").read_bytes()


def test_init_repo_checks_its_arguments_before_writing(tmp_path: Path) -> None:
    with pytest.raises(FsnbError, match="customers"):
        init_repo(tmp_path / "bank", customers=0)
    with pytest.raises(FsnbError, match="seed"):
        init_repo(tmp_path / "bank", customers=10, seed=-1)
    assert not (tmp_path / "bank").exists()


def test_init_repo_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(RepoExistsError, match="not a folder"):
        init_repo(target, customers=10, force=True)


def test_init_command_defaults() -> None:
    args = _args()
    assert (args.dir, args.customers, args.seed, args.force) == (None, 10_000, 0, False)


def test_init_command_goes_to_banking_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert init_command.run(_args("--customers", "10")) == 0
    assert (tmp_path / "banking" / "definitions.py").is_file()


def test_init_command_creates_repo_and_prints_next_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "my bank"
    assert init_command.run(_args(str(target), "--customers", "20", "--seed", "3")) == 0
    out = capsys.readouterr().out
    assert "fsnb apply" in out and f"cd '{target}'" in out
    assert "data/transaction_stats.parquet" in out
    assert (target / "fsnb.yaml").is_file()


def test_init_command_refuses_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    with pytest.raises(FsnbError, match="not empty"):
        init_command.run(_args(str(tmp_path), "--customers", "10"))
    assert init_command.run(_args(str(tmp_path), "--customers", "10", "--force")) == 0


def test_module_main_generates_into_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--customers", "30", "--now", "2026-03-01T12:00:00+00:00"]) == 0
    assert "30 customers" in capsys.readouterr().out
    for rel in VIEW_FILES.values():
        assert (tmp_path / rel).is_file()


def test_module_main_rejects_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_a_new_repo_applies_at_once(tmp_path: Path) -> None:
    import fsnb
    from fsnb.registry.repo import load_definitions

    repo = init_repo(tmp_path / "bank", customers=20, now=NOW)
    objects = load_definitions(repo)
    with fsnb.Store(repo) as store:
        assert store.project == "banking"
        assert store.config.online_store.type == "sqlite"
        store.apply(objects)
        assert {v.name for v in store.list_feature_views()} == set(VIEW_FILES)
        assert store.get_feature_service("realtime_scoring").precompute_online
        assert not store.plan(objects).has_changes
    assert (repo / ".fsnb" / "registry.db").is_file()
