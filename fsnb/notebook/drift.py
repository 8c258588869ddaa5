"""Feature drift between a reference (a training set, or served logs) and current traffic (served logs).

Per feature: PSI (over the reference's deciles for numbers, over categories for text and booleans), the
Kolmogorov-Smirnov statistic (numbers), the category shift (total variation distance between the category
frequencies), null and NOT_FOUND rates, mean and quantiles, and both histograms overlaid (inline SVG in the
notebook). Features come worst first.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError, ParityError

if TYPE_CHECKING:
    import pandas as pd

    from fsnb.store import Store

__all__ = ["DEFAULT_THRESHOLDS", "DriftReport", "drift_report"]

#: a feature drifts when a measure exceeds its threshold (rates: the absolute change from reference to current).
DEFAULT_THRESHOLDS = {"psi": 0.2, "ks": 0.2, "category_shift": 0.2, "null_rate": 0.05, "not_found_rate": 0.05}
#: categories shown and compared one by one; the rest are pooled as "(other)".
TOP_CATEGORIES = 20
_EPS = 1e-4
COLUMNS = ["feature", "kind", "drifted", "psi", "ks", "category_shift", "null_rate_ref", "null_rate_cur",
           "not_found_rate_ref", "not_found_rate_cur", "mean_ref", "mean_cur", "p50_ref", "p50_cur", "p90_ref",
           "p90_cur", "rows_ref", "rows_cur"]


@dataclass
class FeatureDrift:
    """The drift measures of one feature, with the histograms behind them."""

    feature: str
    kind: str
    stats: dict[str, Any]
    #: bin labels and the reference's / current's share of values per bin.
    bins: list[str] = field(default_factory=list)
    ref_hist: list[float] = field(default_factory=list)
    cur_hist: list[float] = field(default_factory=list)

    def exceeded(self, thresholds: dict[str, float]) -> list[str]:
        """The measures above their threshold, e.g. ``["psi 0.41 > 0.2"]``."""
        out = []
        for name in ("psi", "ks", "category_shift"):
            v = self.stats.get(name)
            if v is not None and not math.isnan(v) and name in thresholds and v > thresholds[name]:
                out.append(f"{name} {v:.3f} > {thresholds[name]:g}")
        for name in ("null_rate", "not_found_rate"):
            a, b = self.stats.get(f"{name}_ref"), self.stats.get(f"{name}_cur")
            if a is None or b is None or math.isnan(a) or math.isnan(b) or name not in thresholds:
                continue
            if abs(b - a) > thresholds[name]:
                out.append(f"{name} {a:.1%} → {b:.1%}")
        return out

    @property
    def score(self) -> float:
        vals = [self.stats.get(k) for k in ("psi", "ks", "category_shift")]
        nums = [v for v in vals if v is not None and not math.isnan(v)]
        return max(nums, default=0.0)


class DriftReport:
    """Result of :func:`drift_report`: ``to_df()`` (one row per feature, worst first), ``assert_ok(thresholds)``,
    an HTML repr with the overlaid histograms."""

    def __init__(self, features: list[FeatureDrift], meta: dict[str, Any],
                 thresholds: dict[str, float] | None = None) -> None:
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.features = sorted(features, key=lambda f: (not f.exceeded(self.thresholds), -f.score, f.feature))
        self.meta = meta

    def drifted(self, thresholds: dict[str, float] | None = None) -> list[FeatureDrift]:
        limits = {**self.thresholds, **(thresholds or {})}
        return [f for f in self.features if f.exceeded(limits)]

    def to_df(self) -> pd.DataFrame:
        """One row per feature, worst first: the measures of :data:`COLUMNS`."""
        import pandas as pd

        rows = [{"feature": f.feature, "kind": f.kind, "drifted": bool(f.exceeded(self.thresholds)), **f.stats}
                for f in self.features]
        return pd.DataFrame(rows, columns=COLUMNS)

    def assert_ok(self, thresholds: dict[str, float] | None = None) -> None:
        """Raise :class:`~fsnb.errors.ParityError` naming every feature over a threshold (``thresholds`` override
        :data:`DEFAULT_THRESHOLDS`, e.g. ``{"psi": 0.1}``)."""
        limits = {**self.thresholds, **(thresholds or {})}
        bad = self.drifted(limits)
        if not self.features:
            raise ParityError("drift report compared nothing: the reference or current data has no rows")
        if bad:
            lines = [f"{len(bad)} of {len(self.features)} features drifted ({self.meta.get('features', '')}):"]
            lines += [f"  {f.feature}: {', '.join(f.exceeded(limits))}" for f in bad[:20]]
            raise ParityError("\n".join(lines))

    def __repr__(self) -> str:
        return f"DriftReport({len(self.features)} features, drifted={[f.feature for f in self.drifted()]})"

    def _repr_html_(self) -> str:
        e = html.escape
        bad = self.drifted()
        color = "#c33" if bad else "#2a7"
        head = (f"<b>DriftReport</b> · <span style='color:{color};font-weight:bold'>{len(bad)} of "
                f"{len(self.features)} features drifted</span> · {e(str(self.meta.get('features', '')))} · "
                f"reference {self.meta.get('rows_ref', 0):,} rows ({e(str(self.meta.get('reference', '')))}), "
                f"current {self.meta.get('rows_cur', 0):,} rows ({e(str(self.meta.get('current', '')))})")
        rows = []
        for f in self.features:
            s = f.stats
            why = ", ".join(f.exceeded(self.thresholds)) or "ok"
            rows.append(
                f"<tr><td><b>{e(f.feature)}</b><br><span style='color:{'#c33' if why != 'ok' else '#2a7'}'>"
                f"{e(why)}</span></td><td>{_fmt(s.get('psi'))}</td><td>{_fmt(s.get('ks'))}</td>"
                f"<td>{_fmt(s.get('category_shift'))}</td>"
                f"<td>{_pct(s.get('null_rate_ref'))} → {_pct(s.get('null_rate_cur'))}</td>"
                f"<td>{_pct(s.get('not_found_rate_ref'))} → {_pct(s.get('not_found_rate_cur'))}</td>"
                f"<td>{_fmt(s.get('mean_ref'))} → {_fmt(s.get('mean_cur'))}</td><td>{_svg(f)}</td></tr>"
            )
        style = ("<style>.fsnb-drift th,.fsnb-drift td{text-align:left!important;vertical-align:middle;"
                 "padding:1px 8px 1px 0}</style>")
        legend = ("<div style='color:#666'>histograms: <span style='color:#888'>■ reference</span> "
                  "<span style='color:#e67e22'>■ current</span>; thresholds "
                  + e(", ".join(f"{k} {v:g}" for k, v in self.thresholds.items())) + "</div>")
        return (f"{style}<div class='fsnb-drift'>{head}{legend}<table><tr><th>feature (worst first)</th><th>PSI</th>"
                f"<th>KS</th><th>category shift</th><th>null rate</th><th>NOT_FOUND rate</th><th>mean</th>"
                f"<th>histograms</th></tr>{''.join(rows)}</table></div>")


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else html.escape(str(v))


def _pct(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"


def _svg(f: FeatureDrift, width: int = 220, height: int = 50) -> str:
    """The two histograms overlaid: reference grey, current orange, same bins."""
    n = len(f.bins)
    if not n:
        return ""
    top = max([*f.ref_hist, *f.cur_hist, 1e-9])
    w = width / n
    bars = []
    for i, label in enumerate(f.bins):
        for share, fill, inset in ((f.ref_hist[i], "#999", 0.0), (f.cur_hist[i], "#e67e22", 0.25)):
            h = share / top * (height - 2)
            bars.append(f"<rect x='{i * w + inset * w:.1f}' y='{height - h:.1f}' width='{w * 0.75:.1f}' "
                        f"height='{h:.1f}' fill='{fill}' fill-opacity='0.7'><title>{html.escape(label)}: "
                        f"{share:.1%}</title></rect>")
    return (f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
            f"<line x1='0' y1='{height}' x2='{width}' y2='{height}' stroke='#ccc'/>{''.join(bars)}</svg>")


# ---------------------------------------------------------------------------------------------- measures


def drift_report(
    store: Store,
    features: Any,
    *,
    reference: Any,
    current: Any,
    bins: int = 10,
    thresholds: dict[str, float] | None = None,
) -> DriftReport:
    """Drift of each feature of ``features`` from ``reference`` to ``current``.

    ``reference``: a training set (``get_historical_features(...).to_df()``, full or short feature names), a
    served-log DataFrame, or a ``(since, until)`` window of the served log; ``current``: the same forms (usually
    served logs). ``bins`` reference quantiles bin the numbers for PSI; ``thresholds`` override
    :data:`DEFAULT_THRESHOLDS`.

    >>> store.drift_report("realtime_scoring", reference=train_df, current=(monday, now)).assert_ok()
    """
    from fsnb.requests import FeatureRequest

    if bins < 2:
        raise ConfigError(f"bins must be at least 2, got {bins}")
    request = FeatureRequest.resolve(store.snapshot(), features, full_feature_names=True)
    ref, ref_label = _frame(store, features, reference, "reference")
    cur, cur_label = _frame(store, features, current, "current")
    out = []
    for full, ref_name in zip(request.output_names, request.refs):
        short = ref_name.split(":", 1)[1]
        a, b = _column(ref, full, short), _column(cur, full, short)
        if a is None or b is None:
            continue
        out.append(_measure(full, a, b, _status(ref, full), _status(cur, full), bins))
    meta = {"features": getattr(request.service, "name", None) or ", ".join(request.refs[:4]),
            "reference": ref_label, "current": cur_label, "rows_ref": len(ref), "rows_cur": len(cur)}
    return DriftReport(out, meta, thresholds)


def _frame(store: Store, features: Any, given: Any, what: str) -> tuple[pd.DataFrame, str]:
    import pandas as pd

    if isinstance(given, pd.DataFrame):
        return given, "served log" if "request_id" in given.columns else "DataFrame"
    if isinstance(given, (tuple, list)) and len(given) == 2:
        log = store.served_log(features, given[0], given[1])
        return log, f"served log {given[0]} … {given[1]}"
    raise ConfigError(f"{what} must be a DataFrame (a training set or a served log) or a (since, until) window of "
                      f"the served log, got {type(given).__name__}")


def _column(frame: pd.DataFrame, full: str, short: str) -> pd.Series | None:
    if full in frame.columns:
        return frame[full]
    if short in frame.columns:
        return frame[short]
    return None


def _status(frame: pd.DataFrame, full: str) -> pd.Series | None:
    col = full + "__status"
    return frame[col] if col in frame.columns else None


def _measure(name: str, a: pd.Series, b: pd.Series, sa: pd.Series | None, sb: pd.Series | None,
             bins: int) -> FeatureDrift:
    import numpy as np
    import pandas as pd

    stats: dict[str, Any] = {
        "null_rate_ref": float(a.isna().mean()) if len(a) else math.nan,
        "null_rate_cur": float(b.isna().mean()) if len(b) else math.nan,
        "not_found_rate_ref": float((sa == "NOT_FOUND").mean()) if sa is not None and len(sa) else math.nan,
        "not_found_rate_cur": float((sb == "NOT_FOUND").mean()) if sb is not None and len(sb) else math.nan,
        "rows_ref": len(a), "rows_cur": len(b),
        "psi": math.nan, "ks": math.nan, "category_shift": math.nan,
        "mean_ref": math.nan, "mean_cur": math.nan, "p50_ref": math.nan, "p50_cur": math.nan,
        "p90_ref": math.nan, "p90_cur": math.nan,
    }
    a, b = a.dropna(), b.dropna()
    numeric = (pd.api.types.is_numeric_dtype(a.dtype) and not pd.api.types.is_bool_dtype(a.dtype)
               and pd.api.types.is_numeric_dtype(b.dtype) and not pd.api.types.is_bool_dtype(b.dtype))
    if numeric:
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        x, y = x[~np.isnan(x)], y[~np.isnan(y)]
        if len(x) and len(y):
            stats.update(mean_ref=float(x.mean()), mean_cur=float(y.mean()),
                         p50_ref=float(np.quantile(x, 0.5)), p50_cur=float(np.quantile(y, 0.5)),
                         p90_ref=float(np.quantile(x, 0.9)), p90_cur=float(np.quantile(y, 0.9)),
                         psi=_psi_numeric(x, y, bins), ks=_ks(x, y))
            labels, hx, hy = _plot_hist(x, y)
            return FeatureDrift(name, "numeric", stats, labels, hx, hy)
        return FeatureDrift(name, "numeric", stats)
    if any(isinstance(v, (list, dict, np.ndarray)) for v in a.head(5)):
        return FeatureDrift(name, "other", stats)  # lists and maps: only the null and NOT_FOUND rates
    ca, cb = Counter(map(str, a)), Counter(map(str, b))
    top = [k for k, _ in (ca + cb).most_common(TOP_CATEGORIES)]
    labels = [*top, "(other)"] if len(ca.keys() | cb.keys()) > len(top) else top
    p = _shares(ca, top, labels)
    q = _shares(cb, top, labels)
    if p and q and sum(p) and sum(q):
        stats["psi"] = _psi(p, q)
        stats["category_shift"] = 0.5 * sum(abs(i - j) for i, j in zip(p, q))
    return FeatureDrift(name, "category", stats, labels, p, q)


def _shares(counts: Counter[str], top: list[str], labels: list[str]) -> list[float]:
    total = sum(counts.values())
    if not total:
        return [0.0] * len(labels)
    out = [counts.get(k, 0) / total for k in top]
    if len(labels) > len(top):
        out.append(1.0 - sum(out))
    return out


def _psi(p: list[float], q: list[float]) -> float:
    return float(sum((j - i) * math.log(max(j, _EPS) / max(i, _EPS)) for i, j in zip(p, q)))


def _psi_numeric(x: Any, y: Any, bins: int) -> float:
    """PSI over the reference's quantile bins (open-ended first and last bins)."""
    import numpy as np

    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1))[1:-1])
    ix = np.searchsorted(edges, x, side="right")
    iy = np.searchsorted(edges, y, side="right")
    k = len(edges) + 1
    p = np.bincount(ix, minlength=k) / len(x)
    q = np.bincount(iy, minlength=k) / len(y)
    return _psi(p.tolist(), q.tolist())


def _ks(x: Any, y: Any) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    import numpy as np

    xs, ys = np.sort(x), np.sort(y)
    grid = np.concatenate([xs, ys])
    fx = np.searchsorted(xs, grid, side="right") / len(xs)
    fy = np.searchsorted(ys, grid, side="right") / len(ys)
    return float(np.max(np.abs(fx - fy)))


def _plot_hist(x: Any, y: Any, n: int = 20) -> tuple[list[str], list[float], list[float]]:
    """Equal-width bins over both samples' 1st-99th percentile range, for the picture."""
    import numpy as np

    both = np.concatenate([x, y])
    lo, hi = (float(v) for v in np.quantile(both, [0.01, 0.99]))
    if hi <= lo:
        lo, hi = float(both.min()), float(both.max()) + 1e-9
    edges = np.linspace(lo, hi, n + 1)
    hx = np.histogram(np.clip(x, lo, hi), edges)[0] / len(x)
    hy = np.histogram(np.clip(y, lo, hi), edges)[0] / len(y)
    labels = [f"{edges[i]:.3g} - {edges[i + 1]:.3g}" for i in range(n)]
    return labels, hx.tolist(), hy.tolist()
