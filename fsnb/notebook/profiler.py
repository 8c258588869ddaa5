"""The latency profiler: every access mode x batch size, measured the way PERFORMANCE.md says.

Per case: ``warmup`` untimed calls, then ``iterations`` calls timed with ``time.perf_counter_ns`` from the call in
to the output out (a DataFrame with ``output="df"``, a dict with ``output="dict"``), on entity keys drawn at random
(fixed ``seed``) from what was materialized. In-process modes also record the read path's stages (``plan``,
``encode_keys``, ``round_trip``, ``decode``, ``assemble``) plus ``frame`` (building the output, timed here). REST and
the remote SDK split each call into ``client`` (request encoding, reply decoding, output), ``network`` (the HTTP
exchange outside the server's handler), ``server`` and ``server_online`` (the server's own time and its online-store
round trip, from the ``Server-Timing`` header the feature server sends).
Cases run batch size by batch size with every mode in turn, on the same seeded entity batches, so modes are
compared side by side under the same machine conditions (this machine is shared and noisy).
Then a throughput phase per mode: ``concurrency`` workers (threads; asyncio tasks for ``async``) calling for
``duration_s`` seconds at one batch size. Modes that cannot run here are reported as skipped, with the reason.
With ``served=`` the report also carries production latency from the served-feature log, beside the lab figures.

Modes: ``direct`` (sync read path, regular per-view rows), ``async`` (the same on an event loop),
``precomputed`` (a FeatureService's vectors), ``rest`` (plain HTTP POSTs to a feature server's
``/get-online-features``), ``remote`` (a Store whose online store is that server, through the remote SDK).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fsnb.errors import ConfigError
from fsnb.http import server_timing, split_round_trip
from fsnb.notebook.report import CaseResult, LatencyReport, Throughput
from fsnb.notebook.sampling import (
    Target,
    entity_pool,
    keys_from,
    request_data,
    resolve_target,
    rows_of,
    sample_keys,
)

_JSON_HEADERS = {"Content-Type": "application/json"}

if TYPE_CHECKING:
    from fsnb.store import Store

__all__ = ["DEFAULT_BATCH_SIZES", "MODES", "profile", "resolve_server_url"]

MODES = ("direct", "async", "precomputed", "rest", "remote")
DEFAULT_BATCH_SIZES = (1, 5, 10, 50, 100, 500)
#: Environment variable naming a running feature server (``http://127.0.0.1:6566``) for ``rest`` / ``remote``.
SERVER_URL_ENV = "FSNB_SERVER_URL"

Progress = Callable[[int, int, str], None]
Rows = dict[str, list[Any]]


def profile(
    store: Store,
    features: Any,
    *,
    modes: Sequence[str] = MODES,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    warmup: int = 30,
    iterations: int = 200,
    concurrency: int = 10,
    duration_s: float = 15.0,
    throughput_batch: int | None = None,
    entity_source: Any = None,
    seed: int = 0,
    output: str = "df",
    full_feature_names: bool = False,
    server_url: str | None = None,
    server_cpu: Callable[[], float] | None = None,
    progress: bool | Progress = True,
    served: Any = None,
) -> LatencyReport:
    """Measure online-read latency of ``features`` for each of ``modes`` x ``batch_sizes``.

    ``features`` is a FeatureService, its name, or ``view:feature`` refs. ``entity_source`` (a DataFrame of join
    keys, or a list of keys) replaces sampling from the offline source. ``server_url`` (or ``$FSNB_SERVER_URL``,
    or the store's remote online store) is the feature server the ``rest`` and ``remote`` modes call.
    ``duration_s=0`` skips the throughput phase; ``throughput_batch`` defaults to the smallest batch size.
    ``server_cpu`` (e.g. ``FeatureServerProcess.cpu_seconds``) returns the server's CPU seconds so far, so the
    throughput phase of ``rest`` / ``remote`` reports the CPU each side used (they share this machine's cores).
    ``progress`` is a tqdm bar (True), nothing (False) or a callback ``(done, total, label)``.
    ``served`` adds production latency from the served-feature log (``report.served``, ``served:<mode>`` rows):
    ``True`` for the last hour, a ``(since, until)`` window, or a ``store.served_log(...)`` DataFrame. The log is
    read before the lab runs, so this run's own reads are not in it.

    >>> report = store.profile("realtime_scoring", modes=["direct", "precomputed"], batch_sizes=[1, 100])
    >>> report.to_df()
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ConfigError(f"unknown profiler mode(s) {unknown}; choose from {list(MODES)}")
    if output not in ("df", "dict"):
        raise ConfigError(f"output must be 'df' or 'dict', got {output!r}")
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1 or iterations < 1 or warmup < 0 or concurrency < 1:
        raise ConfigError("batch sizes and iterations must be ≥ 1, warmup ≥ 0, concurrency ≥ 1")
    target = resolve_target(store, features)
    pool = keys_from(entity_source, target.join_keys) if entity_source is not None else entity_pool(store, target)
    url = resolve_server_url(store, server_url)
    tp_batch = throughput_batch if throughput_batch is not None else sizes[0]
    started = datetime.now(UTC)
    served_frame, served_label = None, None
    if served is not None and served is not False:
        from fsnb.notebook.production_latency import load_served, served_latency

        log, served_label = load_served(store, target.features, served, now=started)
        served_frame = served_latency(log)
    meta = {
        "features": target.label,
        "modes": list(modes),
        "batch_sizes": sizes,
        "warmup": warmup,
        "iterations": iterations,
        "concurrency": concurrency,
        "duration_s": duration_s,
        "throughput_batch": tp_batch,
        "seed": seed,
        "output": "DataFrame (to_df)" if output == "df" else "dict (to_dict)",
        "entities_in_pool": len(pool),
        "server_url": url,
        "started_at": started.isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "online_store": store.config.online_store.type,
    }
    if served_label is not None:
        meta["served"] = served_label
    report = LatencyReport(meta=meta, served=served_frame)
    tick = _progress(progress, len(modes) * (len(sizes) + (1 if duration_s > 0 else 0)))
    loop = _LoopThread() if "async" in modes else None
    runners: dict[str, _Runner] = {}
    try:
        for mode in modes:
            runner = runners[mode] = _runner(mode, store, target, url, output, full_feature_names, loop)
            skip = runner.unavailable()
            if skip:
                del runners[mode]
                report.cases.extend(CaseResult(mode, b, status="skipped", reason=skip) for b in sizes)
                for _ in range(len(sizes) + (1 if duration_s > 0 else 0)):
                    tick(f"{mode} skipped")
        # batch size by batch size, every mode in turn: modes are compared under the same machine conditions
        for b in sizes:
            rng = random.Random(f"{seed}:{b}")
            batches = [rows_of(sample_keys(pool, b, rng), target.join_keys,
                               request_data(target.request_fields, b, rng)) for _ in range(warmup + iterations)]
            for mode, runner in runners.items():
                report.cases.append(runner.case(b, batches[:warmup], batches[warmup:]))
                tick(f"{mode} x {b}")
        if duration_s > 0:
            rng = random.Random(f"{seed}:tp")
            batches = [rows_of(sample_keys(pool, tp_batch, rng), target.join_keys,
                               request_data(target.request_fields, tp_batch, rng)) for _ in range(256)]
            for mode, runner in runners.items():
                if not any(c.mode == mode and c.status == "ok" for c in report.cases):
                    tick(f"{mode} throughput skipped")
                    continue
                before = server_cpu() if server_cpu is not None and mode in ("rest", "remote") else None
                tp = runner.throughput(tp_batch, batches, concurrency, duration_s)
                if before is not None and server_cpu is not None:
                    tp.server_cpu_s = server_cpu() - before
                report.throughput.append(tp)
                tick(f"{mode} throughput")
    finally:
        for runner in runners.values():
            runner.close()
        if loop is not None:
            _release_async(store, loop)
            loop.close()
        tick(None)
    order = {m: i for i, m in enumerate(modes)}
    report.cases.sort(key=lambda c: (order[c.mode], c.batch))
    return report


def _release_async(store: Store, loop: _LoopThread) -> None:
    """Close the connections the online store opened for the profiler's private event loop."""
    from fsnb.online.base import OnlineStore

    online = store.online
    aclose = getattr(type(online), "aclose", None)
    if aclose is not None and aclose is not OnlineStore.aclose:  # a per-loop release, not the default full close
        with contextlib.suppress(Exception):
            loop.run(online.aclose())


def resolve_server_url(store: Store, server_url: str | None = None) -> str | None:
    """The feature server for ``rest`` / ``remote``: the argument, ``$FSNB_SERVER_URL``, or a remote online store."""
    if server_url:
        return server_url.rstrip("/")
    env = os.environ.get(SERVER_URL_ENV)
    if env:
        return env.rstrip("/")
    return store.serving.server_url


# --------------------------------------------------------------------------------------------------- runners


class _Runner:
    """One access mode: availability, a timed case, a throughput phase."""

    mode = ""
    staged = False

    def __init__(self, store: Store, target: Target, url: str | None, output: str, full: bool) -> None:
        self.store = store
        self.target = target
        self.url = url
        self.output = output
        self.full = full

    def unavailable(self) -> str:
        return ""

    def call(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        raise NotImplementedError

    def case(self, batch: int, warm: list[Rows], timed: list[Rows]) -> CaseResult:
        result = CaseResult(self.mode, batch)
        try:
            for rows in warm:
                self.call(rows, None)
            gc.collect()
            clock = time.perf_counter_ns
            samples = result.samples_ns
            per_stage: dict[str, list[int]] = {}
            with _GcWatch(result):
                for rows in timed:
                    st: dict[str, int] | None = {} if self.staged else None
                    t0 = clock()
                    self.call(rows, st)
                    samples.append(clock() - t0)
                    if st:
                        for k, v in st.items():
                            per_stage.setdefault(k, []).append(v)
            # keep a stage only if every call reported it, so means stay comparable with the total
            result.stages_ns = {k: v for k, v in per_stage.items() if len(v) == len(samples)}
        except Exception as err:
            return _failed(self.mode, batch, err)
        return result

    def throughput(self, batch: int, batches: list[Rows], concurrency: int, duration_s: float) -> Throughput:
        ok = [0] * concurrency
        errors = [0] * concurrency
        first: list[str] = []
        deadline = time.perf_counter() + duration_s

        def work(i: int) -> None:
            j = i
            while time.perf_counter() < deadline:
                try:
                    self.call(batches[j % len(batches)], None)
                    ok[i] += 1
                except Exception as err:
                    errors[i] += 1
                    if not first:
                        first.append(_why(err))
                j += concurrency

        cpu0, t0 = time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        return Throughput(self.mode, batch, concurrency, elapsed, sum(ok), sum(errors), "threads",
                          time.process_time() - cpu0, first[0] if first else "")

    def close(self) -> None:
        pass

    def _out(self, response: Any, stages: dict[str, int] | None) -> Any:
        if stages is None:
            return response.to_df() if self.output == "df" else response.to_dict()
        t = time.perf_counter_ns()
        out = response.to_df() if self.output == "df" else response.to_dict()
        stages["frame"] = time.perf_counter_ns() - t
        return out


class _Direct(_Runner):
    """The sync read path on the store's own online store."""

    mode = "direct"
    staged = True
    precomputed: bool | None = False

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self._serving: Any = self.store.serving.unlogged()  # lab reads are not production traffic

    def call(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        r = self._serving.read(self.target.features, rows, full_feature_names=self.full,
                               precomputed=self.precomputed, trace=stages)
        return self._out(r, stages)


class _Precomputed(_Direct):
    mode = "precomputed"
    precomputed = True

    def unavailable(self) -> str:
        s = self.target.service
        if s is None:
            return "precomputed vectors belong to a FeatureService; pass a service, not feature refs"
        if not s.precompute_online:
            return f"FeatureService {s.name!r} has precompute_online=False"
        return ""


class _Async(_Runner):
    """``get_online_features_async`` on a private event loop; timing happens inside the loop (no thread hop)."""

    mode = "async"
    staged = True

    def __init__(self, store: Store, target: Target, url: str | None, output: str, full: bool,
                 loop: _LoopThread) -> None:
        super().__init__(store, target, url, output, full)
        self.loop = loop
        self._get: Any = None
        try:
            self._get = store.serving.unlogged().read_async
        except ImportError as err:
            self._missing = _why(err)

    def unavailable(self) -> str:
        return "" if self._get is not None else f"async read path not available: {self._missing}"

    async def acall(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        r = await self._get(self.target.features, rows, full_feature_names=self.full, precomputed=False, trace=stages)
        return self._out(r, stages)

    def call(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        return self.loop.run(self.acall(rows, stages))

    def case(self, batch: int, warm: list[Rows], timed: list[Rows]) -> CaseResult:
        async def run() -> CaseResult:
            result = CaseResult(self.mode, batch)
            for rows in warm:
                await self.acall(rows, None)
            gc.collect()
            clock = time.perf_counter_ns
            per_stage: dict[str, list[int]] = {}
            with _GcWatch(result):
                for rows in timed:
                    st: dict[str, int] = {}
                    t0 = clock()
                    await self.acall(rows, st)
                    result.samples_ns.append(clock() - t0)
                    for k, v in st.items():
                        per_stage.setdefault(k, []).append(v)
            n = len(result.samples_ns)
            result.stages_ns = {k: v for k, v in per_stage.items() if len(v) == n}
            return result

        try:
            return self.loop.run(run())
        except Exception as err:
            return _failed(self.mode, batch, err)

    def throughput(self, batch: int, batches: list[Rows], concurrency: int, duration_s: float) -> Throughput:
        async def run() -> Throughput:
            ok, errors, first = [0], [0], list[str]()
            deadline = time.perf_counter() + duration_s

            async def work(i: int) -> None:
                j = i
                while time.perf_counter() < deadline:
                    try:
                        await self.acall(batches[j % len(batches)], None)
                        ok[0] += 1
                    except Exception as err:
                        errors[0] += 1
                        if not first:
                            first.append(_why(err))
                    j += concurrency

            cpu0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(work(i) for i in range(concurrency)))
            return Throughput(self.mode, batch, concurrency, time.perf_counter() - t0, ok[0], errors[0],
                              "asyncio tasks", time.process_time() - cpu0, first[0] if first else "")

        return self.loop.run(run())


class _Rest(_Runner):
    """Plain JSON POSTs to ``/get-online-features`` (what any HTTP client does); output built from the JSON."""

    mode = "rest"
    staged = True  # client / network / server / server_online, from the server's Server-Timing header

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self._local = threading.local()
        t = self.target
        self._body: dict[str, Any] = (
            {"feature_service": t.service.name} if t.service is not None else {"features": list(t.refs)}
        )
        self._body["full_feature_names"] = self.full

    def unavailable(self) -> str:
        return _server_problem(self.url)

    def _session(self) -> Any:
        s = getattr(self._local, "session", None)
        if s is None:
            import requests

            s = self._local.session = requests.Session()
        return s

    def call(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        clock = time.perf_counter_ns
        t0 = clock()
        body = json.dumps({**self._body, "entities": rows})
        t1 = clock()
        r = self._session().post(f"{self.url}/get-online-features", data=body, headers=_JSON_HEADERS, timeout=30)
        t2 = clock()
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        doc = r.json()
        names = doc["metadata"]["feature_names"]
        cols = {n: res["values"] for n, res in zip(names, doc["results"])}
        if self.output == "dict":
            out: Any = cols
        else:
            import pandas as pd

            out = pd.DataFrame(cols)
        if stages is not None:
            split = split_round_trip(t2 - t1, server_timing(r.headers.get("server-timing")))
            stages["client"] = (t1 - t0) + (clock() - t2)  # request JSON, reply parsing and the output
            stages.update(split if split is not None else {"round_trip": t2 - t1})
        return out


class _Remote(_Direct):
    """The remote SDK: a client of the feature server at the profiled URL."""

    mode = "remote"
    staged = True
    precomputed = None

    def call(self, rows: Rows, stages: dict[str, int] | None) -> Any:
        out = super().call(rows, stages)
        if stages is not None:  # the SDK's request encoding and reply decoding are the client's stage
            stages["client"] = stages.pop("encode_keys", 0) + stages.pop("decode", 0)
            split = getattr(self._serving, "server_stages", None)
            parts = split(stages["round_trip"]) if split is not None and "round_trip" in stages else None
            if parts is not None:  # the HTTP exchange: network, the server, its online-store round trip
                del stages["round_trip"]
                stages.update(parts)
        return out

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self._own: Any = None

    def unavailable(self) -> str:
        problem = _server_problem(self.url)
        if problem:
            return problem
        if self._serving.server_url != self.url:
            from fsnb.serving.remote import RemoteServing

            self._serving = self._own = RemoteServing.at(self.url or "")
        return ""

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


def _runner(mode: str, store: Store, target: Target, url: str | None, output: str, full: bool,
            loop: _LoopThread | None) -> _Runner:
    if mode == "async":
        assert loop is not None
        return _Async(store, target, url, output, full, loop)
    cls = {"direct": _Direct, "precomputed": _Precomputed, "rest": _Rest, "remote": _Remote}[mode]
    return cls(store, target, url, output, full)


def _server_problem(url: str | None) -> str:
    if not url:
        return (f"no feature server configured: pass server_url=, set ${SERVER_URL_ENV}, "
                "or use a remote online store (start one with `fsnb serve`)")
    import requests

    try:
        r = requests.get(f"{url}/health", timeout=2)
    except requests.RequestException as err:
        return f"no feature server answered at {url}: {type(err).__name__}"
    if r.status_code != 200:
        return f"feature server at {url} is not healthy: /health answered HTTP {r.status_code}"
    return ""


def _why(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _failed(mode: str, batch: int, err: BaseException) -> CaseResult:
    """A case whose calls raised: ``skipped`` when the store cannot do this at all, else ``error``."""
    from fsnb.errors import UnsupportedCapabilityError, VectorsNotBuiltError

    if isinstance(err, UnsupportedCapabilityError):
        return CaseResult(mode, batch, status="skipped", reason=f"not supported by this online store: {err}")
    if isinstance(err, VectorsNotBuiltError):
        return CaseResult(mode, batch, status="skipped", reason=str(err))
    return CaseResult(mode, batch, status="error", reason=_why(err))


# ----------------------------------------------------------------------------------------------- plumbing


class _GcWatch:
    """Counts garbage-collector pauses (total ns, full collections) while a case's timed calls run.

    A p99 far above the p50 is often a full collection of the many small objects requests leave behind.
    """

    def __init__(self, result: CaseResult) -> None:
        self.result = result
        self._start = 0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        elif self._start:
            self.result.gc_pause_ns += time.perf_counter_ns() - self._start
            self.result.gc_full += info.get("generation") == 2
            self._start = 0

    def __enter__(self) -> _GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)


class _LoopThread:
    """An event loop on a thread of its own, so the profiler works inside Jupyter's running loop too."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fsnb-profiler-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        try:
            self.run(drain())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            self.loop.close()


def _progress(progress: bool | Progress, total: int) -> Callable[[str | None], None]:
    """A tick function: advance by one with a label; ``None`` closes."""
    if callable(progress):
        done = [0]

        def tick_cb(label: str | None) -> None:
            if label is not None:
                done[0] += 1
                progress(done[0], total, label)

        return tick_cb
    if not progress:
        return lambda label: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="profiling", unit="case")

    def tick(label: str | None) -> None:
        if label is None:
            bar.close()
        else:
            bar.set_postfix_str(label, refresh=False)
            bar.update(1)

    return tick
