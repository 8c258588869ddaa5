"""The tuning part of ``fsnb doctor``: its flags, its table, ``--fix`` and ``--json``."""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

from fsnb.tuning import Finding

_MARK = {"ok": "ok", "info": "info", "warn": "WARN", "critical": "CRIT"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("tuning (live Redis, registry, workers)")
    g.add_argument("--fix", action="store_true",
                   help="apply the safe Redis runtime settings with CONFIG SET (shown first), then check again")
    g.add_argument("--json", action="store_true", help="print one JSON document (for CI) instead of tables")
    g.add_argument("--no-tuning", action="store_true", help="only check that the parts answer")


def table(findings: Sequence[Finding], width: int | None = None) -> str:
    """Findings as a fixed-width table: status, check, current, recommended, and the reason under each row."""
    width = width or max(80, min(160, shutil.get_terminal_size((120, 20)).columns))
    head = ("", "check", "current", "recommended")
    rows = [(_MARK[f.severity], f"{f.area} {f.check}", f.current, f.recommended) for f in findings]
    w = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    lines = [f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]:<{w[2]}}  {head[3]}"]
    for f, r in zip(findings, rows):
        lines.append(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
        if f.severity != "ok":
            lines.extend(textwrap.wrap(f.reason, width - w[0] - 4, initial_indent=" " * (w[0] + 2) + "why: ",
                                       subsequent_indent=" " * (w[0] + 7)))
    return "\n".join(lines)


def run(args: argparse.Namespace, config: Any, checks: list[dict[str, Any]]) -> int:
    """Run the tuning checks (and ``--fix``); print a table or, with ``--json``, the whole report. Returns the
    number of critical findings left."""
    from fsnb.store import Store
    from fsnb.tuning import apply_fixes, tuning_findings

    out: dict[str, Any] = {"checks": checks}
    findings: list[Finding] = []
    if config is not None and not args.no_tuning:
        with Store(config=config) as store:
            findings = tuning_findings(store)
            fixable = [f for f in findings if f.fix is not None]
            if args.fix and fixable:
                if not args.json:
                    print("\nApplying safe runtime settings:")
                    for f in fixable:
                        print(f"  {f.target}: CONFIG SET {f.fix[0]} {f.fix[1]!r}  (was {f.current})")  # type: ignore[index]
                fixed = apply_fixes(store, fixable)
                out["fixed"] = [f.to_dict() for f in fixed]
                findings = tuning_findings(store)
                if not args.json:
                    print("Runtime settings are lost on restart: put them in redis.conf (or the provider's "
                          "parameter group) too.")
    critical = sum(f.severity == "critical" for f in findings)
    if args.json:
        out["findings"] = [f.to_dict() for f in findings]
        out["critical"] = critical
        out["ok"] = critical == 0 and all(c["ok"] for c in checks)
        print(json.dumps(out, indent=2))
    elif findings:
        print("\nTuning:")
        print(table(findings))
        fixable = [f for f in findings if f.fix is not None]
        if fixable and not args.fix:
            print(f"{len(fixable)} setting(s) can be fixed at runtime: run `fsnb doctor --fix`.")
        if critical:
            print(f"{critical} critical tuning finding(s).")
    return critical
