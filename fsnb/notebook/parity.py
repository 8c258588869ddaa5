"""Training-to-serving parity: does the online store serve what the training set saw?

For a sample of entities, each feature's training-set value as of ``as_of`` (default: each view's
materialization watermark) is compared with the online value read now, per feature and per row. Every mismatch
gets a reason:

- ``value differs``: both sides have a value and they differ (beyond ``tolerance`` for floats);
- ``missing online``: the training set has a value, the online store has no row (``NOT_FOUND``);
- ``online newer than the offline window``: the online row's event time is after ``as_of`` (pushed or written
  online later, so training data cannot have it);
- ``expired by TTL``: the online row is older than the view's TTL now (``OUTSIDE_MAX_AGE``) although the training
  set, as of ``as_of``, still had it;
- ``dtype differs``: the two values are of different kinds (int vs float, text vs number, ...);
- ``precomputed vector disagrees with regular path``: the service's precomputed vector and the per-view rows give
  different values (a vector not rebuilt after a write).
"""

from __future__ import annotations

import dataclasses
import html
import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError, ParityError
from fsnb.notebook.sampling import Target, entity_pool, keys_from, resolve_target, rows_of, sample_keys

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.store import Store

__all__ = [
    "DTYPE_DIFFERS",
    "EXPIRED_BY_TTL",
    "MISSING_ONLINE",
    "ONLINE_NEWER",
    "REASONS",
    "VALUE_DIFFERS",
    "VECTOR_DISAGREES",
    "ParityReport",
    "classify",
    "parity_check",
    "values_equal",
]

VALUE_DIFFERS = "value differs"
MISSING_ONLINE = "missing online"
ONLINE_NEWER = "online newer than the offline window"
EXPIRED_BY_TTL = "expired by TTL"
DTYPE_DIFFERS = "dtype differs"
VECTOR_DISAGREES = "precomputed vector disagrees with regular path"
REASONS = (VALUE_DIFFERS, MISSING_ONLINE, ONLINE_NEWER, EXPIRED_BY_TTL, DTYPE_DIFFERS, VECTOR_DISAGREES)

PARITY_MODES = ("direct", "precomputed", "remote")
#: Rows per online read while collecting values.
CHUNK = 500
MISMATCH_COLUMNS = ["entity", "feature", "mode", "offline_value", "online_value", "reason", "online_status",
                    "online_event_timestamp", "as_of"]


# ------------------------------------------------------------------------------------------------ values


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "bytes"
    if isinstance(v, (datetime, date)):
        return "datetime"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, (list, tuple)):
        return "list"
    return type(v).__name__


def _norm(v: Any) -> Any:
    """Plain Python values: numpy scalars / arrays, pandas timestamps and NA become their Python equivalents."""
    if v is None:
        return None
    mod = type(v).__module__
    if mod.startswith("numpy"):
        v = v.tolist() if hasattr(v, "tolist") else v.item()
    elif mod.startswith("pandas"):
        if hasattr(v, "to_pydatetime"):
            v = v.to_pydatetime()
        elif type(v).__name__ in ("NAType", "NaTType"):
            return None
    if isinstance(v, datetime) and v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    if isinstance(v, tuple):
        v = list(v)
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def values_equal(a: Any, b: Any, tolerance: float = 1e-9) -> bool:
    """Equal as a model would see them: same kind, floats within ``tolerance`` (relative or absolute), NaN = NaN."""
    a, b = _norm(a), _norm(b)
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return False
    if ka == "float":
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    if ka == "list":
        return len(a) == len(b) and all(values_equal(x, y, tolerance) for x, y in zip(a, b))
    if ka == "map":
        return a.keys() == b.keys() and all(values_equal(a[k], b[k], tolerance) for k in a)
    return bool(a == b)


def classify(
    offline: Any,
    online: Any,
    *,
    status: str = "PRESENT",
    online_ts: datetime | None = None,
    as_of: datetime | None = None,
    tolerance: float = 1e-9,
) -> str | None:
    """Why an offline (training-set) value and an online value disagree, or ``None`` when they agree.

    ``status`` is the online read's status for the value (``PRESENT``, ``NULL_VALUE``, ``NOT_FOUND``,
    ``OUTSIDE_MAX_AGE``); ``online_ts`` its event time; ``as_of`` the time the training row was taken at.
    """
    offline, online = _norm(offline), _norm(online)
    if values_equal(offline, online, tolerance):
        return None
    if status == "NOT_FOUND" and offline is not None:
        return MISSING_ONLINE
    if status == "OUTSIDE_MAX_AGE" and offline is not None:
        return EXPIRED_BY_TTL
    ts = _norm(online_ts)
    if online is not None and ts is not None and as_of is not None and ts > _norm(as_of):
        return ONLINE_NEWER
    if offline is not None and online is not None and _kind(offline) != _kind(online):
        return DTYPE_DIFFERS
    return VALUE_DIFFERS


# ------------------------------------------------------------------------------------------------ report


@dataclasses.dataclass(frozen=True)
class FeatureParity:
    """How one feature fared in one mode."""

    feature: str
    view: str
    mode: str
    rows: int
    matches: int
    reasons: dict[str, int]

    @property
    def match_rate(self) -> float:
        return self.matches / self.rows if self.rows else math.nan


class ParityReport:
    """Result of :func:`parity_check`: match rates per feature and a table of every mismatch with its reason.

    ``by_feature()`` → match rate per (feature, mode), worst first; ``to_df()`` → the mismatch table;
    ``assert_ok()`` raises :class:`fsnb.errors.ParityError` when anything mismatched.
    """

    def __init__(self, features: list[FeatureParity], mismatches: list[dict[str, Any]], meta: dict[str, Any]):
        self.features = features
        self.mismatches = mismatches
        self.meta = meta

    @property
    def rows_compared(self) -> int:
        return sum(f.rows for f in self.features)

    @property
    def match_rate(self) -> float:
        """Matching (entity, feature, mode) cells ÷ cells compared."""
        n = self.rows_compared
        return sum(f.matches for f in self.features) / n if n else math.nan

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def reason_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.mismatches:
            out[m["reason"]] = out.get(m["reason"], 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def _worst_first(self) -> list[FeatureParity]:
        return sorted(self.features, key=lambda f: (f.match_rate, f.view, f.feature, f.mode))

    def by_feature(self) -> pd.DataFrame:
        """One row per (feature, mode): view, rows, matches, match_rate, the reasons counted; worst first."""
        import pandas as pd

        rows = [
            {"feature": f.feature, "view": f.view, "mode": f.mode, "rows": f.rows, "matches": f.matches,
             "match_rate": f.match_rate,
             "reasons": ", ".join(f"{r} ({n})" for r, n in sorted(f.reasons.items(), key=lambda kv: -kv[1]))}
            for f in self._worst_first()
        ]
        return pd.DataFrame(rows, columns=["feature", "view", "mode", "rows", "matches", "match_rate", "reasons"])

    def to_df(self) -> pd.DataFrame:
        """Every mismatch: entity, feature, mode, offline_value, online_value, reason, online status and time."""
        import pandas as pd

        return pd.DataFrame(self.mismatches, columns=MISMATCH_COLUMNS)

    def assert_ok(self, min_match_rate: float = 1.0) -> None:
        """Raise :class:`~fsnb.errors.ParityError` unless the overall match rate is at least ``min_match_rate``."""
        if self.rows_compared and self.match_rate >= min_match_rate and (min_match_rate < 1.0 or self.ok):
            return
        worst = [f for f in self._worst_first() if f.matches < f.rows][:5]
        lines = [f"training-to-serving parity {self.match_rate:.2%} (< {min_match_rate:.2%}) over "
                 f"{self.meta.get('entities', '?')} entities; reasons: {self.reason_counts()}"]
        lines += [f"  {f.view}:{f.feature} [{f.mode}] {f.match_rate:.1%} — {f.reasons}" for f in worst]
        for m in self.mismatches[:5]:
            lines.append(f"  e.g. {m['entity']} {m['feature']}: offline={m['offline_value']!r} "
                         f"online={m['online_value']!r} ({m['reason']})")
        if not self.rows_compared:
            lines = ["parity check compared nothing: no entities"]
        raise ParityError("\n".join(lines))

    def to_text(self, limit: int = 10) -> str:
        """A plain-text summary: the overall rate, reasons, then features worst first (what ``fsnb bench`` prints)."""
        lines = [f"training-to-serving parity: {self.match_rate:.2%} match over {self.meta.get('entities', '?')} "
                 f"entities ({', '.join(self.meta.get('modes', []))})"]
        if self.mismatches:
            lines.append("mismatches by reason: " + ", ".join(f"{r} {n}" for r, n in self.reason_counts().items()))
            for f in [f for f in self._worst_first() if f.matches < f.rows][:limit]:
                reasons = ", ".join(f"{r} ({n})" for r, n in f.reasons.items())
                lines.append(f"  {f.match_rate:7.2%}  {f.view}:{f.feature} [{f.mode}]  {reasons}")
        else:
            lines.append(f"every feature matches: {len({(f.view, f.feature) for f in self.features})} features, "
                         f"{self.rows_compared:,} values compared")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ParityReport(match_rate={self.match_rate:.2%}, mismatches={len(self.mismatches)}, "
                f"reasons={self.reason_counts()})")

    def _repr_html_(self) -> str:
        e = html.escape
        rate = self.match_rate
        color = "#2a7" if self.ok else ("#d80" if rate >= 0.99 else "#c33")
        head = (f"<b>ParityReport</b> · <span style='color:{color};font-weight:bold'>{rate:.2%} match</span> · "
                f"{self.meta.get('entities', '?')} entities, {len({f.feature for f in self.features})} features"
                f" · modes {', '.join(self.meta.get('modes', []))}")
        as_of = self.meta.get("as_of", {})
        sub = "offline as of: " + ", ".join(f"{v} = {t}" for v, t in as_of.items())
        frows = []
        perfect = [f for f in self.features if f.matches == f.rows]
        for f in [f for f in self._worst_first() if f.matches < f.rows]:
            width = 0 if math.isnan(f.match_rate) else f.match_rate * 100
            bar = (f"<span style='display:inline-block;width:100px;background:#f3d0d0'><span style='display:"
                   f"inline-block;width:{width:.0f}px;background:#8c8;height:10px'></span></span>")
            reasons = ", ".join(f"{r} ({n})" for r, n in f.reasons.items())
            frows.append(f"<tr><td>{e(f.view)}:{e(f.feature)}</td><td>{e(f.mode)}</td><td>{bar} "
                         f"{f.match_rate:.1%}</td><td>{e(reasons)}</td></tr>")
        mrows = "".join(
            f"<tr><td>{e(str(m['entity']))}</td><td>{e(m['feature'])}</td><td>{e(m['mode'])}</td>"
            f"<td>{e(_short(m['offline_value']))}</td><td>{e(_short(m['online_value']))}</td>"
            f"<td>{e(m['reason'])}</td></tr>"
            for m in self.mismatches[:20]
        )
        more = f"<div>… {len(self.mismatches) - 20} more (to_df())</div>" if len(self.mismatches) > 20 else ""
        mismatch_html = (
            "<div style='margin-top:6px'><b>mismatches</b><table><tr><th>entity</th><th>feature</th><th>mode</th>"
            f"<th>offline</th><th>online</th><th>reason</th></tr>{mrows}</table>{more}</div>"
            if self.mismatches else ""
        )
        n_perfect = len({(f.view, f.feature) for f in perfect})
        if frows:
            table = ("<table><tr><th>feature (worst first)</th><th>mode</th><th>match</th><th>reasons</th></tr>"
                     f"{''.join(frows)}</table>")
            n_pairs = len(perfect)
            rest = f"<div>the other {n_pairs} feature/mode pairs match 100%</div>" if perfect else ""
        else:
            table, rest = "", (f"<div>all {n_perfect} features match in every mode "
                               f"({self.rows_compared:,} values compared)</div>")
        style = ("<style>.fsnb-parity-report th,.fsnb-parity-report td{text-align:left!important;"
                 "padding:1px 8px 1px 0}</style>")
        return (f"{style}<div class='fsnb-parity-report'>{head}<div style='color:#666'>{e(sub)}</div>"
                f"{table}{rest}{mismatch_html}</div>")


def _short(v: Any, n: int = 60) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"


# ------------------------------------------------------------------------------------------------- check


def parity_check(
    store: Store,
    features: Any,
    *,
    entities: int | Any = 100,
    as_of: datetime | str | None = None,
    modes: Sequence[str] = ("direct",),
    tolerance: float = 1e-9,
    seed: int = 0,
    server_url: str | None = None,
) -> ParityReport:
    """Compare training-set values (as of ``as_of``) with online values (now), per feature and per entity.

    ``entities`` is a sample size (drawn with ``seed`` from the entities materialized) or the entities themselves
    (a DataFrame of join keys, or a list of keys). ``as_of`` (a datetime, an ISO-8601 string or ``"now"``)
    defaults to each view's materialization watermark.
    ``modes``: ``direct`` (per-view rows), ``precomputed`` (the service's vectors, also checked against the
    regular path), ``remote`` (through the feature server at ``server_url``).

    >>> store.parity_check("realtime_scoring", entities=200, modes=["direct", "precomputed"]).assert_ok()
    """
    bad = [m for m in modes if m not in PARITY_MODES]
    if bad:
        raise ConfigError(f"unknown parity mode(s) {bad}; choose from {list(PARITY_MODES)}")
    target = resolve_target(store, features)
    if "precomputed" in modes and (target.service is None or not target.service.precompute_online):
        raise ConfigError("mode 'precomputed' needs a FeatureService with precompute_online=True")
    keys = _entity_keys(store, target, entities, seed)
    cutoffs = _cutoffs(store, target, as_of)
    offline = _offline_values(store, target, keys, cutoffs)
    online: dict[str, dict[str, tuple[list[Any], list[str], list[Any]]]] = {
        m: _online_values(store, target, keys, m, server_url) for m in dict.fromkeys(("direct", *modes))
    }
    entity_ids = [k[0] if len(k) == 1 else k for k in keys]
    feats: list[FeatureParity] = []
    mismatches: list[dict[str, Any]] = []
    for view in target.views:
        cut = cutoffs[view.name]
        for fname in target.features_of(view.name):
            col = f"{view.name}__{fname}"
            off_vals = offline[col]
            for mode in modes:
                vals, stats, tss = online[mode][col]
                reasons: dict[str, int] = {}
                d_vals, d_stats, _ = online["direct"][col]
                for i, ent in enumerate(entity_ids):
                    o, v = off_vals[i], vals[i]
                    if type(o) is type(v) and o == v and (
                        mode != "precomputed" or (d_vals[i] == v and stats[i] == d_stats[i])
                    ):
                        continue  # the common case, decided without normalising
                    if mode == "precomputed" and (
                        stats[i] != d_stats[i] or not values_equal(vals[i], d_vals[i], tolerance)
                    ):
                        why: str | None = VECTOR_DISAGREES  # the vector is wrong whatever the offline side says
                    else:
                        why = classify(off_vals[i], vals[i], status=stats[i], online_ts=tss[i], as_of=cut,
                                       tolerance=tolerance)
                    if why is None:
                        continue
                    reasons[why] = reasons.get(why, 0) + 1
                    mismatches.append({
                        "entity": ent, "feature": col, "mode": mode, "offline_value": off_vals[i],
                        "online_value": vals[i], "reason": why, "online_status": stats[i],
                        "online_event_timestamp": tss[i], "as_of": cut,
                    })
                feats.append(FeatureParity(fname, view.name, mode, len(keys), len(keys) - sum(reasons.values()),
                                           reasons))
    meta = {
        "features": target.label, "entities": len(keys), "modes": list(modes), "tolerance": tolerance,
        "seed": seed, "as_of": {v: t.isoformat(sep=" ", timespec="seconds") for v, t in cutoffs.items()},
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return ParityReport(feats, mismatches, meta)


def _entity_keys(store: Store, target: Target, entities: Any, seed: int) -> list[tuple[Any, ...]]:
    if isinstance(entities, int) and not isinstance(entities, bool):
        if entities < 1:
            raise ConfigError("entities must be ≥ 1, a DataFrame of join keys, or a list of keys")
        pool = entity_pool(store, target)
        return sample_keys(pool, min(entities, len(pool)) or entities, random.Random(seed))
    return keys_from(entities, target.join_keys)


def _cutoffs(store: Store, target: Target, as_of: datetime | str | None) -> dict[str, datetime]:
    """``as_of`` per view: the argument, else the view's materialization watermark, else now."""
    from fsnb._time import to_utc

    now = datetime.now(UTC)
    if as_of is not None:
        t = to_utc(as_of, what="as_of")
        return {v.name: t for v in target.views}
    out = {}
    for v in target.views:
        wm = store.registry.watermark(v.name)
        out[v.name] = to_utc(wm) if wm is not None else now
    return out


def _offline_values(
    store: Store, target: Target, keys: list[tuple[Any, ...]], cutoffs: dict[str, datetime]
) -> dict[str, list[Any]]:
    """``view__feature`` → training-set values, one per key, as of the view's cutoff (views grouped by cutoff)."""
    import pandas as pd

    groups: dict[datetime, list[str]] = {}
    for v in target.views:
        groups.setdefault(cutoffs[v.name], []).extend(f"{v.name}:{f}" for f in target.features_of(v.name))
    out: dict[str, list[Any]] = {}
    for cut, refs in groups.items():
        frame = pd.DataFrame(rows_of(keys, target.join_keys))
        frame["event_timestamp"] = pd.Timestamp(cut)
        table = store.get_historical_features(frame, refs, full_feature_names=True).to_arrow()
        for ref in refs:
            col = ref.replace(":", "__", 1)
            out[col] = table.column(col).to_pylist()
    return out


def _online_values(
    store: Store, target: Target, keys: list[tuple[Any, ...]], mode: str, server_url: str | None
) -> dict[str, tuple[list[Any], list[str], list[Any]]]:
    """``view__feature`` → (values, statuses, event times), read in chunks through ``mode``."""
    serving = store.serving
    own = None
    if mode == "remote":
        from fsnb.notebook.profiler import resolve_server_url

        url = resolve_server_url(store, server_url)
        if not url:
            raise ConfigError("mode 'remote' needs server_url= (or $FSNB_SERVER_URL)")
        if serving.server_url != url:
            from fsnb.serving.remote import RemoteServing

            serving = own = RemoteServing.at(url)
    features = target.service if target.service is not None else list(target.refs)
    out: dict[str, tuple[list[Any], list[str], list[Any]]] = {}
    try:
        for start in range(0, len(keys), CHUNK):
            rows = rows_of(keys[start:start + CHUNK], target.join_keys)
            resp = serving.read(features, rows, full_feature_names=True,
                                precomputed=(mode == "precomputed") if mode != "remote" else None)
            for name, values, statuses, tss in resp.iter_columns():
                acc = out.setdefault(name, ([], [], []))
                acc[0].extend(values)
                acc[1].extend(getattr(s, "name", s) for s in statuses)
                acc[2].extend(tss)
    finally:
        if own is not None:
            own.close()
    return out
