"""Review fixes (notebook-docs area): report labels, README command table, architecture map."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from fsnb.notebook.report import CaseResult, LatencyReport

ROOT = Path(__file__).resolve().parents[2]


def test_text_report_says_what_was_timed_where_and_how_often() -> None:
    meta = {"features": "realtime_scoring", "online_store": "redis", "output": "DataFrame (to_df)",
            "warmup": 30, "iterations": 200}
    text = LatencyReport([CaseResult("direct", 1, samples_ns=[100_000, 200_000])], meta=meta).to_text()
    footer = text.splitlines()[-1]
    assert footer.startswith("latency in ms: realtime_scoring, redis online store, "
                             "timed from call to DataFrame (to_df), 30 warm-up + 200 timed calls per case")
    assert text.splitlines()[0].split()[:3] == ["mode", "batch", "p50"]


def test_readme_command_table_lists_every_subcommand() -> None:
    readme = (ROOT / "README.md").read_text()
    names = []
    for path in sorted((ROOT / "fsnb" / "commands").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        names.append(importlib.import_module(f"fsnb.commands.{path.stem}").NAME)
    missing = [n for n in names if not re.search(rf"\| `fsnb {re.escape(n)}\b", readme)]
    assert not missing, f"README's command table lacks {missing}"


def test_architecture_map_names_only_modules_that_exist() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    paths = set(re.findall(r"`(fsnb/[\w/]+\.py)`", doc))
    assert paths, "docs/architecture.md names no module"
    assert not [p for p in sorted(paths) if not (ROOT / p).is_file()]
    assert not (ROOT / "docs" / "TEAM_CONTRACTS.md").exists()
