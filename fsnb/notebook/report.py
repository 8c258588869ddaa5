"""``LatencyReport``: what the profiler measured, as a table, a stage breakdown, a plot, a comparison and JSON.

A report holds the raw samples (nanoseconds) of every case — one access mode at one batch size — so every
statistic is recomputed from data, two runs can be compared, and a saved report (``to_json``) loses nothing.
With ``profile(..., served=...)`` it also carries production latency from the served-feature log (``served``),
shown beside the lab figures as ``served:<mode>`` rows.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fsnb.notebook.stats import LatencySummary, stage_means, summarize

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["STAGES", "CaseResult", "LatencyReport", "Throughput"]

#: Stages of an in-process read, in order: the five the read path reports, then building the output (timed here).
STAGES = ("plan", "encode_keys", "round_trip", "decode", "assemble", "transform", "frame", "client", "network",
          "server", "server_online")
#: Columns of :meth:`LatencyReport.to_df` (latencies in milliseconds, rps in requests per second).
COLUMNS = ("mode", "batch", "status", "p50", "p95", "p99", "mean", "max", "rps", "errors", "n", "gc_ms", "gc_full",
           "reason")
FORMAT_VERSION = 1
#: What a report says of production latency when the served log it was given had no reads.
_HOW_TO_LOG = "log reads with Store(log_served=True), or feature_server.logging for `fsnb serve`"


@dataclass
class Throughput:
    """The throughput phase of one mode: ``concurrency`` workers calling for ``duration_s`` seconds."""

    mode: str
    batch: int
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    #: ``threads`` or ``asyncio tasks``: what the concurrent workers were.
    workers: str = "threads"
    #: CPU seconds this (client) process used during the phase.
    client_cpu_s: float = math.nan
    first_error: str = ""
    #: CPU seconds the feature server used during the phase (rest / remote, when the profiler could tell).
    server_cpu_s: float = math.nan

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else math.nan


@dataclass
class CaseResult:
    """One access mode at one batch size: timed samples, per-stage samples, or why it was skipped."""

    mode: str
    batch: int
    samples_ns: list[int] = field(default_factory=list)
    #: stage name → one duration per timed call (in-process modes only).
    stages_ns: dict[str, list[int]] = field(default_factory=dict)
    #: ``ok``, ``skipped`` (mode not available here) or ``error`` (the calls failed).
    status: str = "ok"
    reason: str = ""
    #: garbage-collector pauses during the timed calls: total ns, and how many were full (generation 2).
    gc_pause_ns: int = 0
    gc_full: int = 0

    @property
    def summary(self) -> LatencySummary:
        return summarize(self.samples_ns)

    def stage_breakdown(self) -> dict[str, float]:
        """Mean ms per stage, plus ``other`` = mean total - sum of stages (time no stage accounts for)."""
        if not self.stages_ns or not self.samples_ns:
            return {}
        means = stage_means({s: v for s, v in self.stages_ns.items() if v})
        total = self.summary.mean
        ordered = {s: means[s] for s in STAGES if s in means}
        ordered.update({s: m for s, m in means.items() if s not in ordered})
        ordered["other"] = total - sum(ordered.values())
        return ordered

    @property
    def stage_coverage(self) -> float:
        """Sum of the stages' means ÷ the mean measured total (1.0 = the stages explain every nanosecond)."""
        b = self.stage_breakdown()
        if not b:
            return math.nan
        total = self.summary.mean
        return (total - b["other"]) / total if total else math.nan


class LatencyReport:
    """Latency of online reads per access mode and batch size, measured by :func:`fsnb.notebook.profiler.profile`.

    ``to_df()`` gives one row per case (milliseconds); ``stages_df()`` the stage breakdown of in-process modes;
    ``plot()`` a figure; ``compare(baseline)`` ratios against another report; ``to_json()`` / ``from_json()``
    round-trip everything, raw samples included. ``served`` is production latency from the served-feature log
    (:func:`fsnb.notebook.production_latency.served_latency`; empty when the log had no reads), or None.
    """

    def __init__(
        self,
        cases: Iterable[CaseResult] = (),
        throughput: Iterable[Throughput] = (),
        meta: dict[str, Any] | None = None,
        served: pd.DataFrame | None = None,
    ) -> None:
        self.cases: list[CaseResult] = list(cases)
        self.throughput: list[Throughput] = list(throughput)
        self.meta: dict[str, Any] = dict(meta or {})
        self.served: pd.DataFrame | None = served

    # ----------------------------------------------------------------------------------------------- access

    @property
    def modes(self) -> list[str]:
        return list(dict.fromkeys(c.mode for c in self.cases))

    @property
    def batch_sizes(self) -> list[int]:
        return sorted({c.batch for c in self.cases})

    def case(self, mode: str, batch: int) -> CaseResult:
        for c in self.cases:
            if c.mode == mode and c.batch == batch:
                return c
        raise KeyError(f"no case for mode {mode!r} at batch {batch}")

    def skipped(self) -> dict[str, str]:
        """Mode → reason, for every mode that was not measured (skipped or failed)."""
        return {c.mode: c.reason for c in self.cases if c.status != "ok"}

    def _throughput_for(self, mode: str, batch: int) -> Throughput | None:
        for t in self.throughput:
            if t.mode == mode and t.batch == batch:
                return t
        return None

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per case, with the columns of :meth:`to_df`."""
        out = []
        for c in self.cases:
            s = c.summary
            t = self._throughput_for(c.mode, c.batch)
            out.append(
                {
                    "mode": c.mode,
                    "batch": c.batch,
                    "status": c.status,
                    **s.as_dict(),
                    "rps": t.rps if t else math.nan,
                    "errors": t.errors if t else 0,
                    "n": s.count,
                    "gc_ms": c.gc_pause_ns / 1e6,
                    "gc_full": c.gc_full,
                    "reason": c.reason,
                }
            )
        return out

    def served_rows(self) -> list[dict[str, Any]]:
        """Production latency as :meth:`to_df` rows: mode ``served:<mode>``, batch = rows per request, n = requests."""
        if self.served is None:
            return []
        return [
            {"mode": f"served:{r['mode']}", "batch": int(r["rows"]), "status": "ok", "p50": r["p50_ms"],
             "p95": r["p95_ms"], "p99": r["p99_ms"], "mean": r["mean_ms"], "max": r["max_ms"], "rps": math.nan,
             "errors": 0, "n": int(r["requests"]), "gc_ms": math.nan, "gc_full": 0, "reason": ""}
            for r in self.served.to_dict("records")
        ]

    def to_df(self) -> pd.DataFrame:
        """One row per case: mode, batch, status, p50, p95, p99, mean, max (ms), rps, errors, n, reason.

        ``gc_ms`` is the garbage collector's total pause during the case's timed calls and ``gc_full`` its full
        collections: when p99 jumps far above p50, look there first. Production latency from the served log
        follows as ``served:<mode>`` rows (batch = rows per request, n = requests).
        """
        import pandas as pd

        df = pd.DataFrame(self.rows() + self.served_rows(), columns=list(COLUMNS))
        df.attrs["unit"] = "ms"
        return df

    def stages_df(self) -> pd.DataFrame:
        """Stage breakdown of in-process cases: mode, batch, stage, mean_ms, share (of the mean total)."""
        import pandas as pd

        rows = []
        for c in self.cases:
            total = c.summary.mean
            for stage, ms in c.stage_breakdown().items():
                rows.append({"mode": c.mode, "batch": c.batch, "stage": stage, "mean_ms": ms,
                             "share": ms / total if total else math.nan})
        return pd.DataFrame(rows, columns=["mode", "batch", "stage", "mean_ms", "share"])

    # ------------------------------------------------------------------------------------------- compare

    def compare(self, baseline: LatencyReport) -> pd.DataFrame:
        """Ratios of this report to ``baseline`` per (mode, batch): ``p50_ratio`` < 1 means this one is faster.

        >>> after.compare(before)[["mode", "batch", "p50_ratio", "p99_ratio"]]
        """
        import pandas as pd

        mine = {(r["mode"], r["batch"]): r for r in self.rows() if r["status"] == "ok"}
        base = {(r["mode"], r["batch"]): r for r in baseline.rows() if r["status"] == "ok"}
        rows = []
        for key in [k for k in mine if k in base]:
            a, b = mine[key], base[key]
            row: dict[str, Any] = {"mode": key[0], "batch": key[1]}
            for m in ("p50", "p95", "p99", "mean", "rps"):
                row[f"{m}_baseline"] = b[m]
                row[m] = a[m]
                row[f"{m}_ratio"] = a[m] / b[m] if b[m] and not math.isnan(b[m]) else math.nan
            rows.append(row)
        cols = ["mode", "batch"] + [
            f"{m}{suffix}" for m in ("p50", "p95", "p99", "mean", "rps") for suffix in ("_baseline", "", "_ratio")
        ]
        return pd.DataFrame(rows, columns=cols)

    # ----------------------------------------------------------------------------------------------- plot

    def plot(self, *, batch: int | None = None, figsize: tuple[float, float] = (11.0, 4.0)) -> Figure:
        """Latency distribution per mode (at ``batch``, default the smallest) and p50/p99 by batch size.

        Returns a matplotlib ``Figure`` (shown inline in a notebook).
        """
        from matplotlib.ticker import FuncFormatter

        fig = _figure_class()(figsize=figsize, layout="constrained")
        ax_dist, ax_batch = fig.subplots(1, 2)
        ok = [c for c in self.cases if c.status == "ok" and c.samples_ns]
        batches = sorted({c.batch for c in ok})
        at = batch if batch is not None else (batches[0] if batches else 1)
        dist = [c for c in ok if c.batch == at]
        if dist:
            ax_dist.boxplot(
                [[s / 1e6 for s in c.samples_ns] for c in dist],
                tick_labels=[c.mode for c in dist],
                showfliers=True,
                flierprops={"markersize": 2, "alpha": 0.4},
            )
            ax_dist.set_yscale("log")
        ax_dist.set_title(f"latency per mode, batch {at}")
        ax_dist.set_ylabel("ms (log)")
        for mode in dict.fromkeys(c.mode for c in ok):
            cs = sorted((c for c in ok if c.mode == mode), key=lambda c: c.batch)
            xs = [c.batch for c in cs]
            line = ax_batch.plot(xs, [c.summary.p50 for c in cs], marker="o", label=f"{mode} p50")[0]
            ax_batch.plot(xs, [c.summary.p99 for c in cs], marker="x", linestyle="--", color=line.get_color(),
                          label=f"{mode} p99")
        served = self.served_rows()
        for mode in dict.fromkeys(r["mode"] for r in served):
            rs = sorted((r for r in served if r["mode"] == mode), key=lambda r: r["batch"])
            xs = [r["batch"] for r in rs]
            line = ax_batch.plot(xs, [r["p50"] for r in rs], marker="s", linestyle=":", label=f"{mode} p50")[0]
            ax_batch.plot(xs, [r["p99"] for r in rs], marker="^", linestyle=":", color=line.get_color(),
                          label=f"{mode} p99")
        if ok or served:
            ax_batch.set_xscale("log")
            ax_batch.set_yscale("log")
            ax_batch.legend(fontsize="small", ncols=2)
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        minor = FuncFormatter(lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 5)
                              else "")
        for ax in (ax_dist, ax_batch):
            if ax.get_yscale() == "log":
                ax.yaxis.set_major_formatter(plain)
                ax.yaxis.set_minor_formatter(minor)
        if ax_batch.get_xscale() == "log":
            ax_batch.xaxis.set_major_formatter(plain)
        ax_batch.set_title("percentiles by batch size")
        ax_batch.set_xlabel("batch size (rows)")
        ax_batch.set_ylabel("ms (log)")
        notes = []
        skipped = self.skipped()
        if skipped:
            notes.append("not measured: " + "; ".join(f"{m} ({r})" for m, r in skipped.items()))
        if served:
            notes.append("served: production latency from the served log (dotted)")
        elif self.served is not None:
            notes.append(self._served_empty_text())
        if notes:
            fig.supxlabel("\n".join(notes), fontsize="small")
        return fig

    # -------------------------------------------------------------------------------------------- serialise

    def to_json(self, path: str | None = None) -> str:
        """Everything, raw samples included, as JSON (also written to ``path`` when given)."""
        doc = {
            "format_version": FORMAT_VERSION,
            "meta": self.meta,
            "cases": [asdict(c) for c in self.cases],
            "throughput": [asdict(t) for t in self.throughput],
        }
        if self.served is not None:
            doc["served"] = [
                {k: (None if _missing(v) else v.isoformat() if k in ("since", "until") else v) for k, v in r.items()}
                for r in self.served.to_dict("records")
            ]
        text = json.dumps(doc, default=str)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, text: str) -> LatencyReport:
        """Read back :meth:`to_json` output (the text, or a path to a file holding it)."""
        if not text.lstrip().startswith("{"):
            with open(text) as f:
                text = f.read()
        doc = json.loads(text)
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported LatencyReport format {doc.get('format_version')!r}")
        served = None
        if doc.get("served") is not None:
            import pandas as pd

            from fsnb.notebook.production_latency import SERVED_COLUMNS

            served = pd.DataFrame(doc["served"], columns=list(SERVED_COLUMNS)).astype({"rows": "int64",
                                                                                        "requests": "int64"})
            for col in ("since", "until"):
                served[col] = pd.to_datetime(served[col], utc=True, format="ISO8601")
        return cls(
            [CaseResult(**c) for c in doc["cases"]],
            [Throughput(**t) for t in doc["throughput"]],
            doc.get("meta", {}),
            served,
        )

    # ---------------------------------------------------------------------------------------------- reprs

    def to_text(self) -> str:
        """A fixed-width table (what ``fsnb bench`` prints)."""
        head = ["mode", "batch", "p50", "p95", "p99", "mean", "max", "rps", "note"]
        lines = [head]
        shown: set[tuple[str, str]] = set()
        for r in self.rows():
            if r["status"] != "ok":
                same = {(x.status, x.reason) for x in self.cases if x.mode == r["mode"]}
                if len(same) == 1:  # a mode skipped at every batch size: one line
                    if (r["mode"], "all") not in shown:
                        shown.add((r["mode"], "all"))
                        lines.append([r["mode"], "all", *["-"] * 6, f"{r['status']}: {r['reason']}"])
                    continue
                lines.append([r["mode"], str(r["batch"]), *["-"] * 6, f"{r['status']}: {r['reason']}"])
                continue
            notes = [f"{r['errors']} errors"] if r["errors"] else []
            if r["gc_full"]:
                notes.append(f"{r['gc_full']} full GC ({r['gc_ms']:.1f} ms of GC pauses)")
            note = "; ".join(notes)
            lines.append([r["mode"], str(r["batch"]), *(_ms(r[k]) for k in ("p50", "p95", "p99", "mean", "max")),
                          _num(r["rps"]), note])
        widths = [max(len(row[i]) for row in lines) for i in range(len(head) - 1)]
        out = []
        for row in lines:
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, len(head) - 1)]
            out.append("  ".join([*cells, row[-1]]).rstrip())
        out.insert(1, "  ".join("-" * w for w in widths))
        breakdown = self._stages_text()
        text = "\n".join(out) + ("\n\n" + self._measured_text() + (f"; {breakdown}" if breakdown else ""))
        if self.throughput:
            parts = []
            for t in self.throughput:
                cpu = f"client CPU {t.client_cpu_s:.1f} s"
                if not math.isnan(t.server_cpu_s):
                    cpu += f", server CPU {t.server_cpu_s:.1f} s"
                parts.append(f"{t.mode} {_num(t.rps)} req/s ({cpu})")
            t0 = self.throughput[0]
            text += (f"\nthroughput at batch {t0.batch}, {t0.concurrency} concurrent workers for "
                     f"{t0.duration_s:.1f} s: " + "; ".join(parts))
        served = self._served_text()
        return text + ("\n\n" + served if served else "")

    def _served_label(self) -> str:
        return str(self.meta.get("served") or "served log")

    def _served_empty_text(self) -> str:
        return f"production ({self._served_label()}): no reads were logged; {_HOW_TO_LOG}"

    def _served_text(self) -> str:
        """The production section: one line per (mode, rows per request) of the served log."""
        if self.served is None:
            return ""
        rows = self.served_rows()
        if not rows:
            return self._served_empty_text()
        head = ["mode", "rows", "p50", "p95", "p99", "mean", "max", "requests"]
        lines = [head] + [[r["mode"], str(r["batch"]), *(_ms(r[k]) for k in ("p50", "p95", "p99", "mean", "max")),
                           f"{r['n']:,}"] for r in rows]
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        out = ["  ".join([row[0].ljust(widths[0]), *(row[i].rjust(widths[i]) for i in range(1, len(head)))])
               for row in lines]
        out.insert(1, "  ".join("-" * w for w in widths))
        return (f"production ({self._served_label()}), ms per logged request (read path or server handler, "
                "no client or network time):\n" + "\n".join(out))

    def _measured_text(self) -> str:
        """What the latencies are: the unit, what was read, from where, until what came out, over how many calls."""
        m = self.meta
        parts = []
        if m.get("features"):
            parts.append(str(m["features"]))
        if m.get("online_store"):
            parts.append(f"{m['online_store']} online store")
        if m.get("output"):
            parts.append(f"timed from call to {m['output']}")
        if m.get("iterations"):
            parts.append(f"{m.get('warmup', '?')} warm-up + {m['iterations']} timed calls per case")
        return "latency in ms" + (": " + ", ".join(parts) if parts else "")

    def _stages_text(self) -> str:
        parts = []
        for c in self.cases:
            b = c.stage_breakdown()
            if b and c.batch == min(x.batch for x in self.cases if x.mode == c.mode):
                shares = ", ".join(f"{s} {v / c.summary.mean:.0%}" for s, v in b.items())
                parts.append(f"{c.mode} @ {c.batch}: {shares}")
        return "stages (mean share) " + " | ".join(parts) if parts else ""

    def __repr__(self) -> str:
        return f"LatencyReport({len(self.cases)} cases)\n{self.to_text()}"

    def _repr_html_(self) -> str:
        e = html.escape
        head = "".join(f"<th>{h}</th>" for h in
                       ("mode", "batch", "p50", "p95", "p99", "mean", "max", "rps", "gc ms", "stages (mean ms)"))
        body = []
        for c in self.cases:
            if c.status != "ok":
                body.append(f"<tr style='color:#888'><td>{e(c.mode)}</td><td>{c.batch}</td>"
                            f"<td colspan='8'><i>{e(c.status)}: {e(c.reason)}</i></td></tr>")
                continue
            s = c.summary
            t = self._throughput_for(c.mode, c.batch)
            cells = "".join(f"<td>{_ms(v)}</td>" for v in (s.p50, s.p95, s.p99, s.mean, s.max))
            gc_note = f"{c.gc_pause_ns / 1e6:.1f}" + (f" ({c.gc_full} full)" if c.gc_full else "")
            body.append(f"<tr><td>{e(c.mode)}</td><td>{c.batch}</td>{cells}<td>{_num(t.rps) if t else ''}</td>"
                        f"<td>{gc_note}</td><td>{_stage_bar(c)}</td></tr>")
        meta = self.meta
        title = "LatencyReport"
        if meta.get("features"):
            title += f" · {e(str(meta['features']))}"
        sub = []
        if meta.get("iterations"):
            sub.append(f"{meta.get('warmup', '?')} warm-up + {meta['iterations']} timed calls per case")
        if meta.get("output"):
            sub.append(f"timed until {e(str(meta['output']))}")
        if self.throughput:
            t0 = self.throughput[0]
            sub.append(f"rps: {t0.concurrency} {e(t0.workers)} for {t0.duration_s:.1f} s")
        legend = " ".join(f"<span style='background:{_COLORS[s]};padding:0 4px'>{s}</span>" for s in _COLORS)
        return (
            f"<div class='fsnb-latency-report'><b>{title}</b><div style='color:#666'>{e(' · '.join(sub))} · "
            f"latency in ms</div><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<div style='font-size:smaller'>{legend}</div>{self._served_html()}</div>"
        )

    def _served_html(self) -> str:
        """The production section of the HTML repr (empty when the report has no served log)."""
        e = html.escape
        if self.served is None:
            return ""
        rows = self.served_rows()
        title = f"<b>production</b> ({e(self._served_label())})"
        if not rows:
            return (f"<div class='fsnb-served-latency' style='margin-top:6px'>{title}: <i>no reads were logged; "
                    f"{e(_HOW_TO_LOG)}</i></div>")
        head = "".join(f"<th>{h}</th>" for h in ("mode", "rows", "p50", "p95", "p99", "mean", "max", "requests"))
        body = "".join(
            f"<tr><td>{e(r['mode'])}</td><td>{r['batch']}</td>"
            + "".join(f"<td>{_ms(r[k])}</td>" for k in ("p50", "p95", "p99", "mean", "max"))
            + f"<td>{r['n']:,}</td></tr>"
            for r in rows
        )
        return (f"<div class='fsnb-served-latency' style='margin-top:6px'>{title} · ms per logged request "
                "(read path or server handler, no client or network time)"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _figure_class() -> type:
    """A matplotlib Figure that shows itself as PNG in any notebook, with or without pyplot / ``%matplotlib``."""
    from matplotlib.figure import Figure

    class ReportFigure(Figure):
        def _repr_png_(self) -> bytes:
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=90)
            return buf.getvalue()

    return ReportFigure


_COLORS = {
    "plan": "#c6dbef", "encode_keys": "#9ecae1", "round_trip": "#fdae6b", "decode": "#a1d99b",
    "assemble": "#74c476", "frame": "#bcbddc", "other": "#e0e0e0",
}


def _stage_bar(c: CaseResult) -> str:
    b = c.stage_breakdown()
    if not b:
        return ""
    total = sum(max(v, 0.0) for v in b.values()) or 1.0
    segs = "".join(
        f"<span title='{s}: {v:.3f} ms' style='display:inline-block;height:10px;width:{max(v, 0) / total * 160:.1f}px;"
        f"background:{_COLORS.get(s, '#ccc')}'></span>"
        for s, v in b.items()
    )
    return f"<span style='white-space:nowrap'>{segs}</span>"


def _missing(v: Any) -> bool:
    """NaT / NaN / None."""
    return v is None or v != v


def _ms(v: float) -> str:
    if v is None or math.isnan(v):
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _num(v: float) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:,.0f}"
