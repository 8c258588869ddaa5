"""``latency_explorer(store)``: an ipywidgets UI over the profiler.

Pick a service or views, modes, batch sizes, iterations and concurrency (and, with "served log", production
latency from the served-feature log beside the lab figures); Run. Progress updates live, the results
table and plot are replaced in place, and every run is kept so any two can be compared. The explorer only drives
:func:`fsnb.notebook.profiler.profile`; it measures nothing itself.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from fsnb.notebook.profiler import DEFAULT_BATCH_SIZES, MODES, profile

if TYPE_CHECKING:
    from fsnb.notebook.report import LatencyReport
    from fsnb.store import Store

__all__ = ["LatencyExplorer", "latency_explorer"]

_VIEWS = "(feature views…)"


def latency_explorer(store: Store, **defaults: Any) -> LatencyExplorer:
    """An interactive latency explorer for ``store`` (display it as a notebook cell's last expression).

    ``defaults`` preset the controls: ``features`` (service name), ``modes``, ``batch_sizes``, ``iterations``,
    ``warmup``, ``concurrency``, ``duration_s``, ``server_url``, ``served`` (``True``: the last hour of the
    served log; a ``(since, until)`` window or a served-log DataFrame; ticks the "served log" box).
    """
    return LatencyExplorer(store, **defaults)


class LatencyExplorer:
    """The explorer's widgets and the runs made with them; ``run()`` is what the Run button does."""

    def __init__(
        self,
        store: Store,
        *,
        features: str | None = None,
        modes: list[str] | None = None,
        batch_sizes: list[int] | None = None,
        iterations: int = 200,
        warmup: int = 30,
        concurrency: int = 10,
        duration_s: float = 5.0,
        server_url: str | None = None,
        served: Any = None,
    ) -> None:
        import ipywidgets as w

        self.store = store
        self.server_url = server_url
        #: what the "served log" box reads: the last hour, or the window / DataFrame given as ``served``
        self.served_source: Any = True if served is None or isinstance(served, bool) else served
        self.runs: list[tuple[str, LatencyReport]] = []
        snap = store.snapshot()
        services = sorted(snap.feature_services, key=lambda n: (not snap.feature_services[n].precompute_online, n))
        views = sorted(snap.feature_views)
        options = [*services, _VIEWS] if services else [_VIEWS]
        self.features = w.Dropdown(options=options, value=features if features in options else options[0],
                                   description="features")
        self.views = w.SelectMultiple(options=views, value=tuple(views[:1]), description="views", rows=4)
        self.modes = {m: w.Checkbox(value=(m in (modes or MODES)), description=m, indent=False,
                                    layout=w.Layout(width="110px")) for m in MODES}
        self.batch_sizes = w.Text(value=", ".join(str(b) for b in (batch_sizes or DEFAULT_BATCH_SIZES)),
                                  description="batch sizes")
        self.iterations = w.BoundedIntText(value=iterations, min=1, max=100_000, description="iterations")
        self.warmup = w.BoundedIntText(value=warmup, min=0, max=10_000, description="warm-up")
        self.concurrency = w.IntSlider(value=concurrency, min=1, max=64, description="concurrency")
        self.duration = w.BoundedFloatText(value=duration_s, min=0, max=600, step=1, description="rps secs")
        self.served = w.Checkbox(value=served is not None and served is not False, indent=False,
                                 description="served log (" + ("last hour" if self.served_source is True
                                                               else "given window") + ")")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="", layout=w.Layout(width="300px"))
        self.status = w.Label(value="ready")
        self.table = w.HTML(value="<i>press Run to profile</i>")
        self.plot = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.baseline = w.Dropdown(options=[], description="compare to")
        self.comparison = w.HTML(value="")
        self.run_button.on_click(lambda _: self.run())
        self.baseline.observe(lambda _: self._show_comparison(), names="value")
        self.features.observe(lambda _: self._sync_views(), names="value")
        self._sync_views()
        row = w.HBox
        self.widget = w.VBox(
            [
                row([self.features, self.views]),
                row(list(self.modes.values())),
                row([self.batch_sizes, self.iterations, self.warmup]),
                row([self.concurrency, self.duration, self.served]),
                row([self.run_button, self.progress, self.status]),
                self.table,
                self.plot,
                row([self.baseline]),
                self.comparison,
            ],
            layout=w.Layout(border="1px solid #ddd", padding="6px"),
        )
        self.widget.add_class("fsnb-latency-explorer")

    # ------------------------------------------------------------------------------------------------- run

    def selected_features(self) -> Any:
        """What the profiler will read: the chosen service name, or every feature of the chosen views."""
        if self.features.value != _VIEWS:
            return self.features.value
        snap = self.store.snapshot()
        refs = [f"{v}:{f.name}" for v in self.views.value for f in snap.get_feature_view(v).features]
        if not refs:
            raise ValueError("pick at least one feature view")
        return refs

    def options(self) -> dict[str, Any]:
        sizes = [int(x) for x in self.batch_sizes.value.replace(",", " ").split()]
        return {
            "modes": [m for m, box in self.modes.items() if box.value],
            "batch_sizes": sizes,
            "iterations": self.iterations.value,
            "warmup": self.warmup.value,
            "concurrency": self.concurrency.value,
            "duration_s": self.duration.value,
            "server_url": self.server_url,
            "served": self.served_source if self.served.value else None,
        }

    def run(self) -> LatencyReport | None:
        """Profile with the current settings; update progress, table, plot and the list of runs."""
        self.run_button.disabled = True
        try:
            opts = self.options()
            features = self.selected_features()
            if not opts["modes"]:
                raise ValueError("pick at least one mode")
            self.progress.value = 0
            self.status.value = "starting…"
            report = profile(self.store, features, progress=self._on_progress, **opts)
        except Exception as err:
            self.status.value = f"failed: {type(err).__name__}: {err}"
            return None
        finally:
            self.run_button.disabled = False
        label = f"run {len(self.runs) + 1}: {report.meta.get('features')} ({', '.join(opts['modes'])})"
        self.runs.append((label, report))
        self.status.value = f"done: {label}"
        self.table.value = report._repr_html_()
        self.plot.value = _png(report)
        self.baseline.options = [lbl for lbl, _ in self.runs[:-1]]
        self.baseline.value = self.runs[-2][0] if len(self.runs) > 1 else None
        self._show_comparison()
        return report

    def _on_progress(self, done: int, total: int, label: str) -> None:
        self.progress.max = total
        self.progress.value = done
        self.status.value = f"{done}/{total} {label}"

    def _show_comparison(self) -> None:
        if not self.runs or self.baseline.value is None:
            self.comparison.value = ""
            return
        base = dict(self.runs)[self.baseline.value]
        latest_label, latest = self.runs[-1]
        cmp = latest.compare(base)
        if cmp.empty:
            self.comparison.value = "<i>no case in common with the chosen run</i>"
            return
        rows = "".join(
            f"<tr><td>{r.mode}</td><td>{r.batch}</td><td>{r.p50_baseline:.3f}</td><td>{r.p50:.3f}</td>"
            f"<td>{_ratio(r.p50_ratio)}</td><td>{r.p99_baseline:.3f}</td><td>{r.p99:.3f}</td>"
            f"<td>{_ratio(r.p99_ratio)}</td></tr>"
            for r in cmp.itertuples()
        )
        self.comparison.value = (
            f"<b>{latest_label}</b> vs <b>{self.baseline.value}</b> (ratio &lt; 1: faster now)"
            "<table><tr><th>mode</th><th>batch</th><th>p50 before</th><th>p50 now</th><th>ratio</th>"
            f"<th>p99 before</th><th>p99 now</th><th>ratio</th></tr>{rows}</table>"
        )

    def _sync_views(self) -> None:
        self.views.disabled = self.features.value != _VIEWS

    # ----------------------------------------------------------------------------------------------- display

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"LatencyExplorer({len(self.runs)} runs; display it in a notebook)"


def _ratio(v: float) -> str:
    if v is None or math.isnan(v):
        return "-"
    color = "#2a7" if v < 0.95 else ("#c33" if v > 1.05 else "#555")
    return f"<span style='color:{color}'>{v:.2f}x</span>"


def _png(report: LatencyReport) -> bytes:
    fig = report.plot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()
