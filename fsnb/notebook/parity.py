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
  different values (a vector not rebuilt after a write);
- ``function is not deterministic``: an on-demand view's function gave two different outputs for the same input;
- ``stored by another version of its function``: a ``write_to_online_store`` view's stored value differs from
  what its current function computes from the rows online (the function changed after the rows were written:
  materialize again).

On-demand features are compared like stored ones; their request data is ``request_data`` (or generated from the
declared request fields with ``seed``), the same for the training set and the online reads.
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
from fsnb.notebook.sampling import (
    Target,
    entity_pool,
    keys_from,
    request_data,
    resolve_target,
    rows_of,
    sample_keys,
)

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.store import Store

__all__ = [
    "DTYPE_DIFFERS",
    "EXPIRED_BY_TTL",
    "MATERIALIZATION_LAG",
    "MISSING_ONLINE",
    "NOT_FOUND_SERVED",
    "NOT_DETERMINISTIC",
    "OLD_FUNCTION",
    "ONLINE_NEWER",
    "REASONS",
    "SERVED_EXPIRED",
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
NOT_DETERMINISTIC = "function is not deterministic"
OLD_FUNCTION = "stored by another version of its function"
#: reasons only served logs reveal (``parity_check(..., served=...)``)
MATERIALIZATION_LAG = "served older than offline had (materialization lag)"
NOT_FOUND_SERVED = "served NOT_FOUND while history had a row"
SERVED_EXPIRED = "served while expired"
REASONS = (VALUE_DIFFERS, MISSING_ONLINE, ONLINE_NEWER, EXPIRED_BY_TTL, DTYPE_DIFFERS, VECTOR_DISAGREES,
           NOT_DETERMINISTIC, OLD_FUNCTION, MATERIALIZATION_LAG, NOT_FOUND_SERVED, SERVED_EXPIRED)

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
        """Every mismatch: entity, feature, mode, offline_value, online_value, reason, online status and time
        (from served logs also ``request_id`` and ``lag``: how old the served row was at request time)."""
        import pandas as pd

        return pd.DataFrame(self.mismatches, columns=self.meta.get("columns", MISMATCH_COLUMNS))

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
    request_data: Any = None,
    served: Any = None,
) -> ParityReport:
    """Compare training-set values (as of ``as_of``) with online values (now), per feature and per entity.

    With ``served`` (a ``(since, until)`` window of the served-feature log, or a DataFrame of it) the values
    compared are what was served, each against the training row as of its request time; ``entities``, ``as_of``,
    ``modes`` do not apply. Logs add three reasons: ``served older than offline had (materialization lag)`` (with
    the served row's age in ``lag``), ``served NOT_FOUND while history had a row``, ``served while expired``.

    ``entities`` is a sample size (drawn with ``seed`` from the entities materialized) or the entities themselves
    (a DataFrame of join keys, or a list of keys). ``as_of`` (a datetime, an ISO-8601 string or ``"now"``)
    defaults to each view's materialization watermark.
    ``modes``: ``direct`` (per-view rows), ``precomputed`` (the service's vectors, also checked against the
    regular path), ``remote`` (through the feature server at ``server_url``).
    ``request_data`` (a DataFrame or a dict of lists, cycled over the entities) feeds on-demand views; without it
    values of each declared request field are generated with ``seed``.

    >>> store.parity_check("realtime_scoring", entities=200, modes=["direct", "precomputed"]).assert_ok()
    """
    if served is not None:
        return _served_parity(store, features, served, tolerance)
    bad = [m for m in modes if m not in PARITY_MODES]
    if bad:
        raise ConfigError(f"unknown parity mode(s) {bad}; choose from {list(PARITY_MODES)}")
    target = resolve_target(store, features)
    if "precomputed" in modes and (target.service is None or not target.service.precompute_online):
        raise ConfigError("mode 'precomputed' needs a FeatureService with precompute_online=True")
    keys = _entity_keys(store, target, entities, seed)
    request = _request_data(target, request_data, len(keys), seed)
    cutoffs = _cutoffs(store, target, as_of)
    offline = _offline_values(store, target, keys, cutoffs, request)
    online: dict[str, dict[str, tuple[list[Any], list[str], list[Any]]]] = {
        m: _online_values(store, target, keys, m, server_url, request) for m in dict.fromkeys(("direct", *modes))
    }
    entity_ids = [k[0] if len(k) == 1 else k for k in keys]
    feats: list[FeatureParity] = []
    mismatches: list[dict[str, Any]] = []
    judged = {o.name: _judge_on_demand(store, o, keys, target, request, seed) for o in target.on_demand}
    for view in target.named_views:
        cut = cutoffs[view.name]
        judge = judged.get(view.name)
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
                        if why is not None and judge is not None:
                            why = judge(fname, i, off_vals[i], tolerance) or why
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
        return {v.name: t for v in (*target.named_views, *target.read_views)}
    out = {}
    for v in {w.name: w for w in (*target.views, *target.read_views)}.values():
        wm = store.registry.watermark(v.name)
        out[v.name] = to_utc(wm) if wm is not None else now
    for o in target.on_demand:  # as of the newest of its sources: the online rows it reads are that recent
        out[o.name] = max((out[p.name] for p in o.sources), default=now)
    return out


def _offline_values(
    store: Store, target: Target, keys: list[tuple[Any, ...]], cutoffs: dict[str, datetime],
    request: dict[str, list[Any]],
) -> dict[str, list[Any]]:
    """``view__feature`` → training-set values, one per key, as of the view's cutoff (views grouped by cutoff)."""
    import pandas as pd

    groups: dict[datetime, list[str]] = {}
    for v in target.named_views:
        groups.setdefault(cutoffs[v.name], []).extend(f"{v.name}:{f}" for f in target.features_of(v.name))
    out: dict[str, list[Any]] = {}
    for cut, refs in groups.items():
        frame = pd.DataFrame(rows_of(keys, target.join_keys, request))
        frame["event_timestamp"] = pd.Timestamp(cut)
        table = store.get_historical_features(frame, refs, full_feature_names=True).to_arrow()
        for ref in refs:
            col = ref.replace(":", "__", 1)
            out[col] = table.column(col).to_pylist()
    return out


def _online_values(
    store: Store, target: Target, keys: list[tuple[Any, ...]], mode: str, server_url: str | None,
    request: dict[str, list[Any]],
) -> dict[str, tuple[list[Any], list[str], list[Any]]]:
    """``view__feature`` → (values, statuses, event times), read in chunks through ``mode``."""
    serving = store.serving.unlogged()  # the check's reads are not production traffic
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
            chunk = {name: values[start:start + CHUNK] for name, values in request.items()}
            rows = rows_of(keys[start:start + CHUNK], target.join_keys, chunk)
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


def _request_data(target: Target, given: Any, n: int, seed: int) -> dict[str, list[Any]]:
    """One value per entity of each request field on-demand views take: ``given`` (cycled) or generated."""
    if not target.request_fields:
        return {}
    if given is None:
        return request_data(target.request_fields, n, random.Random(f"{seed}:request"))
    given = given if isinstance(given, dict) else given.to_dict("list")
    columns = {str(k): list(v) for k, v in given.items()}
    missing = [f.name for f in target.request_fields if f.name not in columns]
    if missing:
        raise ConfigError(f"request_data lacks field(s) {missing} that the on-demand views of {target.label} take")
    return {f.name: [columns[f.name][i % len(columns[f.name])] for i in range(n)] for f in target.request_fields}


def _judge_on_demand(
    store: Store, view: Any, keys: list[tuple[Any, ...]], target: Target, request: dict[str, list[Any]], seed: int
) -> Any:
    """A function naming the reason only an on-demand view has for a mismatch (None for the usual reasons):
    a function that is not deterministic, or (for a ``write_to_online_store`` view) values stored by an older
    version of the function."""
    from fsnb.transforms import run, sample_inputs

    inputs = sample_inputs(view, n=5)
    try:
        deterministic = run(view, inputs, 5) == run(view, inputs, 5)
    except Exception:  # a function failing on generated input: its own errors show when it is read
        deterministic = True
    if not deterministic:
        return lambda feature, i, offline, tolerance: NOT_DETERMINISTIC
    if not view.write_to_online_store:
        return None
    refs = [f"{p.name}:{f.name}" for p in view.sources for f in p.features]
    rows = rows_of(keys, target.join_keys)
    online = store.serving.unlogged().read(refs, rows).to_dict()
    fresh = dict(zip(view.feature_names, run(view, {f.name: online[f.name] for f in view.input_fields}, len(keys))))

    def judge(feature: str, i: int, offline: Any, tolerance: float) -> str | None:
        return OLD_FUNCTION if values_equal(fresh[feature][i], offline, tolerance) else None

    return judge


# ------------------------------------------------------------------------------------------ from served logs

SERVED_COLUMNS = [*MISMATCH_COLUMNS, "request_id", "lag"]


def _served_parity(store: Store, features: Any, served: Any, tolerance: float) -> ParityReport:
    """What was served (the log) against the training row as of each request time, per feature and row."""
    import pandas as pd

    from fsnb.served_log import STATUS_SUFFIX, TS_SUFFIX

    target = resolve_target(store, features)
    if isinstance(served, pd.DataFrame):
        log = served
    elif isinstance(served, (tuple, list)) and len(served) == 2:
        log = store.served_log(target.features, served[0], served[1])
    else:
        raise ConfigError("served must be a (since, until) window of the served-feature log or a DataFrame of it "
                          "(store.served_log(...))")
    keys = list(target.join_keys)
    meta: dict[str, Any] = {
        "features": target.label, "entities": len(log), "modes": sorted(set(log["mode"])) if "mode" in log else [],
        "tolerance": tolerance, "served": True, "columns": SERVED_COLUMNS, "not_compared": [],
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if log.empty:
        return ParityReport([], [], meta)
    missing = [k for k in (*keys, "request_time") if k not in log.columns]
    if missing:
        raise ConfigError(f"the served log lacks column(s) {missing}: pass store.served_log({target.label!r}) or "
                          "a window (since, until)")
    log = log.reset_index(drop=True)
    times = pd.to_datetime(log["request_time"], utc=True)
    meta["as_of"] = {"request times": f"{times.min():%Y-%m-%d %H:%M:%S} … {times.max():%Y-%m-%d %H:%M:%S}"}
    compared: list[tuple[Any, str]] = []
    for view in target.named_views:  # an on-demand view: with the request data the log kept
        logged = all(f.name in log.columns for f in getattr(view, "request_fields", ()))
        for fname in target.features_of(view.name):
            col = f"{view.name}__{fname}"
            if logged and col in log.columns and col + STATUS_SUFFIX in log.columns:
                compared.append((view, fname))
            else:
                meta["not_compared"].append(f"{view.name}:{fname}")
    if not compared:
        return ParityReport([], [], meta)
    request = [f.name for f in target.request_fields if f.name in log.columns]
    offline = _as_of(store, log, keys, times, [f"{v.name}:{f}" for v, f in compared], request)
    entity_ids = [tuple(r) if len(keys) != 1 else r[0] for r in log[keys].itertuples(index=False, name=None)]
    request_ids = log["request_id"].tolist() if "request_id" in log else [None] * len(log)
    modes = log["mode"].tolist() if "mode" in log else ["served"] * len(log)
    as_of = [_norm(t) for t in times]
    feats: list[FeatureParity] = []
    mismatches: list[dict[str, Any]] = []
    for view, fname in compared:
        col = f"{view.name}__{fname}"
        statuses = log[col + STATUS_SUFFIX].tolist()
        values = [v if s == "PRESENT" else None for v, s in zip(log[col].tolist(), statuses)]
        ts_col = view.name + TS_SUFFIX  # one event time per view and row
        stamps = [_norm(t) for t in log[ts_col].tolist()] if ts_col in log else [None] * len(log)
        off = offline[col]
        ttl = getattr(view, "ttl", None)
        found: dict[int, str] = {}
        lag_rows: list[int] = []
        for i in range(len(log)):
            why = _served_reason(off[i], values[i], statuses[i], stamps[i], as_of[i], ttl, tolerance)
            if why == VALUE_DIFFERS and stamps[i] is not None:
                lag_rows.append(i)  # an older row than offline had? decided below, as of the served row's time
            elif why is not None:
                found[i] = why
        if lag_rows:
            then = _as_of(store, log.iloc[lag_rows], keys, [stamps[i] for i in lag_rows], [f"{view.name}:{fname}"],
                          request)
            for j, i in enumerate(lag_rows):
                older = values_equal(then[col][j], values[i], tolerance)
                found[i] = MATERIALIZATION_LAG if older else VALUE_DIFFERS
        reasons: dict[str, int] = {}
        for i, why in sorted(found.items()):
            reasons[why] = reasons.get(why, 0) + 1
            mismatches.append({
                "entity": entity_ids[i], "feature": col, "mode": modes[i], "offline_value": off[i],
                "online_value": values[i], "reason": why, "online_status": statuses[i],
                "online_event_timestamp": stamps[i], "as_of": as_of[i], "request_id": request_ids[i],
                "lag": (as_of[i] - stamps[i]) if why == MATERIALIZATION_LAG else None,
            })
        feats.append(FeatureParity(fname, view.name, "served", len(log), len(log) - len(found), reasons))
    return ParityReport(feats, mismatches, meta)


def _served_reason(offline: Any, served: Any, status: str, served_ts: datetime | None, request_time: datetime,
                   ttl: Any, tolerance: float) -> str | None:
    """Why a served value differs from the training row as of its request time (None: it does not)."""
    if values_equal(offline, served, tolerance):
        return None
    if status == "NOT_FOUND" and offline is not None:
        return NOT_FOUND_SERVED
    if status == "OUTSIDE_MAX_AGE" and offline is not None:
        return EXPIRED_BY_TTL
    if served_ts is not None and served_ts > request_time:
        return ONLINE_NEWER
    if ttl and served is not None and served_ts is not None and served_ts < request_time - ttl:
        return SERVED_EXPIRED
    if offline is not None and served is not None and _kind(_norm(offline)) != _kind(_norm(served)):
        return DTYPE_DIFFERS
    return VALUE_DIFFERS


def _as_of(store: Store, log: Any, keys: list[str], times: Any, refs: list[str],
           request: list[str]) -> dict[str, list[Any]]:
    """``view__feature`` → the training-set value of each log row's keys (and ``request`` data, for on-demand
    views) as of ``times`` (one per row)."""
    import pandas as pd

    frame = pd.DataFrame({k: log[k].tolist() for k in (*keys, *request)})
    frame["event_timestamp"] = pd.to_datetime(list(times), utc=True)
    table = store.get_historical_features(frame, refs, full_feature_names=True).to_arrow()
    return {ref.replace(":", "__", 1): table.column(ref.replace(":", "__", 1)).to_pylist() for ref in refs}
