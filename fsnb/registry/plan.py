"""What an apply adds, changes and removes: ``ApplyPlan``, computed from stored and desired specs."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND_LABELS", "ApplyPlan", "PlanItem", "diff_plan", "diff_specs"]

#: definition kind → the word users see.
KIND_LABELS = {
    "entity": "entity",
    "source": "data_source",
    "feature_view": "feature_view",
    "on_demand_feature_view": "on_demand_feature_view",
    "feature_service": "feature_service",
}
_KIND_ORDER = {k: i for i, k in enumerate(KIND_LABELS)}

# list-valued spec keys whose items are named records: key → (item label, the item's name key)
_NAMED_LISTS = {
    "features": ("feature", "name"),
    "join_keys": ("join key", "name"),
    "entity_columns": ("entity column", "name"),
}
_SKIP = frozenset({"kind", "entity_join_keys", "udf_hash"})  # derived from other keys; their changes show there


@dataclass(frozen=True)
class PlanItem:
    """One object an apply touches: ``action`` is ``add``, ``change`` or ``remove``."""

    action: str
    kind: str
    name: str
    #: for changes: what changed, one line per field (``feature txn_count_7d dtype int64 -> float64``).
    changes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def __str__(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        head = f"{sign} {self.label} {self.name}"
        if not self.changes:
            return head
        if len(self.changes) == 1:
            return f"{head}: {self.changes[0]}"
        return head + ":" + "".join(f"\n      {c}" for c in self.changes)


@dataclass(frozen=True)
class ApplyPlan:
    """The difference between the registry and a set of definitions.

    ``str(plan)`` is the CLI's text form, ``plan.to_df()`` a DataFrame, and notebooks show an HTML table.
    ``version_before`` is the registry version the plan was computed against; ``version_after`` is set once
    an apply wrote it (and equals ``version_before`` when there was nothing to write).
    """

    project: str
    items: tuple[PlanItem, ...] = ()
    unchanged: tuple[tuple[str, str], ...] = ()
    version_before: int = 0
    version_after: int | None = None
    applied: bool = False

    @property
    def added(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == "add"]

    @property
    def changed(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == "change"]

    @property
    def removed(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == "remove"]

    @property
    def has_changes(self) -> bool:
        return bool(self.items)

    def __bool__(self) -> bool:
        return self.has_changes

    def to_df(self) -> pd.DataFrame:
        """One row per added / changed / removed object: action, kind, name, changes."""
        import pandas as pd

        return pd.DataFrame(
            {
                "action": [i.action for i in self.items],
                "kind": [i.label for i in self.items],
                "name": [i.name for i in self.items],
                "changes": ["; ".join(i.changes) for i in self.items],
            },
            columns=["action", "kind", "name", "changes"],
        )

    def __str__(self) -> str:
        if not self.items:
            return "No changes."
        lines: list[str] = []
        for title, items in (("Added", self.added), ("Changed", self.changed), ("Removed", self.removed)):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {i}" for i in items)
        if self.applied and self.version_after is not None:
            lines.append(f"Registry version {self.version_before} -> {self.version_after}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ApplyPlan(project={self.project!r}, added={len(self.added)}, changed={len(self.changed)}, "
            f"removed={len(self.removed)}, unchanged={len(self.unchanged)}, applied={self.applied})"
        )

    def _repr_html_(self) -> str:
        state = "applied" if self.applied else "plan"
        head = f"<b>ApplyPlan</b> ({state}, project {html.escape(self.project)})"
        if not self.items:
            return f"<div>{head}: no changes ({len(self.unchanged)} objects up to date)</div>"
        colour = {"add": "#1a7f37", "change": "#9a6700", "remove": "#cf222e"}
        rows = "".join(
            f"<tr><td style='color:{colour[i.action]}'>{i.action}</td><td>{html.escape(i.label)}</td>"
            f"<td>{html.escape(i.name)}</td><td style='text-align:left'>"
            f"{'<br>'.join(html.escape(c) for c in i.changes)}</td></tr>"
            for i in self.items
        )
        return (
            f"<div>{head}<table><tr><th>action</th><th>kind</th><th>name</th><th>changes</th></tr>"
            f"{rows}</table></div>"
        )


def diff_plan(
    project: str,
    current: Mapping[tuple[str, str], Mapping[str, Any]],
    desired: Mapping[tuple[str, str], Mapping[str, Any]],
    *,
    prune: bool,
    version: int,
) -> ApplyPlan:
    """The plan turning ``current`` into ``desired`` (both keyed by (kind, name) → spec)."""
    items: list[PlanItem] = []
    unchanged: list[tuple[str, str]] = []
    for key in sorted(desired, key=_order):
        kind, name = key
        if key not in current:
            items.append(PlanItem("add", kind, name))
        elif current[key] != desired[key]:
            items.append(PlanItem("change", kind, name, tuple(diff_specs(current[key], desired[key])) or ("spec",)))
        else:
            unchanged.append(key)
    if prune:
        items.extend(PlanItem("remove", k, n) for k, n in sorted(current, key=_order) if (k, n) not in desired)
    return ApplyPlan(project=project, items=tuple(items), unchanged=tuple(unchanged), version_before=version)


def _order(key: tuple[str, str]) -> tuple[int, str]:
    return (_KIND_ORDER.get(key[0], 99), key[1])


def diff_specs(old: Any, new: Any, path: str = "") -> list[str]:
    """Human-readable differences between two specs, one line per changed leaf."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for k in list(old) + [k for k in new if k not in old]:
            if k in _SKIP:
                continue
            sub = f"{path} {k}".strip() if path else str(k)
            if k not in new:
                out.append(f"{sub} removed (was {_fmt(old[k])})")
            elif k not in old:
                out.append(f"{sub} added: {_fmt(new[k])}")
            elif k == "udf_source" and old[k] != new[k]:
                out.append(f"function {new.get('udf_name', '')} changed (hash {old.get('udf_hash')} -> "
                           f"{new.get('udf_hash')})")
            elif k in ("features", "sources") and _is_projection_list(old[k]) and _is_projection_list(new[k]):
                out.extend(_diff_named(old[k], new[k], path, "view", "view"))
            elif k in _NAMED_LISTS and isinstance(old[k], list) and isinstance(new[k], list):
                out.extend(_diff_named(old[k], new[k], path, *_NAMED_LISTS[k]))
            else:
                out.extend(diff_specs(old[k], new[k], sub))
        return out
    if old != new:
        return [f"{path or 'value'} {_fmt(old)} -> {_fmt(new)}"]
    return []


def _is_projection_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(i, Mapping) and "view" in i for i in v)


def _diff_named(old: list[Any], new: list[Any], path: str, label: str, key: str) -> list[str]:
    if not all(isinstance(i, Mapping) and key in i for i in old + new):
        return diff_specs(old, new, f"{path} {label}s".strip()) if old != new else []
    o = {i[key]: i for i in old}
    n = {i[key]: i for i in new}
    prefix = f"{path} {label}".strip()
    out: list[str] = []
    for name in o:
        if name not in n:
            out.append(f"{prefix} {name} removed")
    for name, spec in n.items():
        if name not in o:
            dtype = f" ({spec['dtype']})" if "dtype" in spec else ""
            out.append(f"{prefix} {name} added{dtype}")
        elif o[name] != spec:
            inner = {k: v for k, v in spec.items() if k != key}
            was = {k: v for k, v in o[name].items() if k != key}
            out.extend(diff_specs(was, inner, f"{prefix} {name}"))
    common_old = [x for x in o if x in n]
    common_new = [x for x in n if x in o]
    if common_old != common_new:
        out.append(f"{prefix} order {', '.join(common_old)} -> {', '.join(common_new)}")
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value if value else "''"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)
