"""Load-and-fault soak of the feature server (not part of the test command; run it by hand or in a nightly job).

``wrk`` (``scripts/setup.d/wrk.sh``) drives 50 keep-alive connections for 60 s against 3 workers recycled every
~1,000 requests, while a pusher writes increasing values over ``/push``. Mid-run one worker is SIGKILLed and Redis is
killed and restarted (append-only file, fsync always: what Redis acknowledged survives). Reported: wrk's requests,
errors and p99; every response counted by status and by the error class of its JSON body (a Lua script written to a
temp file; bodies that are not a JSON error are counted and sampled apart); the non-2xx answers per second of the run
next to the fault events; the pushes by status; and whether every acknowledged push is still read back. Exit status
1 on any 5xx other than 503, any non-JSON error body, any non-JSON 2xx body or any lost acknowledged write.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_server_support import ServerProcess, build_banking_repo  # noqa: E402
from tests.servers import free_port, wait_for_port  # noqa: E402

READ = {"feature_service": "realtime_scoring", "entities": {"customer_id": [1, 2, 3]}}
PUSHED = 20  # customers the pusher writes to
WRK_LUA = r"""-- written by benchmarks/soak.py: POST the read body, count every response by status and error class
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread) table.insert(threads, thread) end

statuses = {}   -- "200" -> n
errors = {}     -- "503 OnlineStoreUnavailableError" -> n ("(not JSON)" when the body is no JSON error)
plain = {}      -- "400" -> n of error bodies that are not a JSON error object with a JSON content type
nonjson_2xx = 0 -- 2xx bodies that do not look like a JSON object
seconds = {}    -- unix second -> n of non-2xx answers
samples = {}    -- the first non-JSON bodies

local function content_type(headers)
  for k, v in pairs(headers) do
    if string.lower(k) == "content-type" then return v end
  end
  return ""
end

function response(status, headers, body)
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  body = body or ""
  if status < 300 then
    if not string.find(body, "^%%s*{") then
      nonjson_2xx = nonjson_2xx + 1
      if #samples < 5 then table.insert(samples, s .. " | " .. string.sub(body, 1, 160)) end
    end
    return
  end
  local sec = tostring(os.time())
  seconds[sec] = (seconds[sec] or 0) + 1
  local ctype = content_type(headers)
  local cls = string.match(body, '^%%s*{%%s*"error"%%s*:%%s*"([^"]+)"')
  if cls == nil or not string.find(ctype, "application/json", 1, true) then
    plain[s] = (plain[s] or 0) + 1
    if #samples < 5 then table.insert(samples, s .. " " .. ctype .. " | " .. string.sub(body, 1, 160)) end
    cls = "(not JSON)"
  end
  local key = s .. " " .. cls
  errors[key] = (errors[key] or 0) + 1
end

local function jstr(x)
  return '"' .. string.gsub(tostring(x), '[%%c"\\]', function(c) return string.format("\\u%%04x", c:byte()) end) .. '"'
end

local function merge(into, t)
  for k, v in pairs(t or {}) do into[k] = (into[k] or 0) + v end
end

local function obj(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, jstr(k) .. ":" .. tostring(v)) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all = {statuses = {}, errors = {}, plain = {}, seconds = {}}
  local n2xx, smp = 0, {}
  for _, t in ipairs(threads) do
    for name, into in pairs(all) do merge(into, t:get(name)) end
    n2xx = n2xx + (t:get("nonjson_2xx") or 0)
    for _, x in ipairs(t:get("samples") or {}) do table.insert(smp, jstr(x)) end
  end
  io.write("SOAK_COUNTS {\"statuses\":" .. obj(all.statuses) .. ",\"errors\":" .. obj(all.errors)
    .. ",\"plain_error_bodies\":" .. obj(all.plain) .. ",\"non_json_2xx\":" .. n2xx
    .. ",\"non_2xx_per_second\":" .. obj(all.seconds) .. ",\"samples\":[" .. table.concat(smp, ",") .. "]}\n")
end
"""


class DurableRedis:
    """A redis-server on loopback with an append-only file fsynced on every write, killable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.proc = folder, free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class Pusher(threading.Thread):
    """Pushes increasing ``txn_count_24h`` values round-robin over PUSHED customers; remembers what was acked."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url + "/push", stop
        self.acked: dict[int, int] = {}
        self.counts = {"acked": 0, "refused": 0, "failed": 0}
        self.by_status: dict[str, int] = {}  # "200", "503 OnlineStoreUnavailableError", "failed ConnectionError"

    def run(self) -> None:
        seq = 0
        with requests.Session() as s:
            while not self.stop.is_set():
                seq += 1
                cid = seq % PUSHED + 1
                when = datetime.now(UTC).isoformat()
                df = {"customer_id": [cid], "txn_count_24h": [seq], "txn_count_7d": [1], "txn_amount_sum_24h": [1.0],
                      "txn_amount_avg_7d": [1.0], "txn_amount_max_7d": [1.0], "declined_ratio_7d": [0.0],
                      "foreign_txn_ratio_30d": [0.0], "chargeback_count_90d": [0], "event_timestamp": [when]}
                try:
                    r = s.post(self.url, json={"push_source_name": "transaction_stats_push", "df": df}, timeout=10)
                    if r.status_code == 200:
                        self.acked[cid] = seq
                        self.counts["acked"] += 1
                        key = "200"
                    else:
                        self.counts["refused"] += 1
                        key = f"{r.status_code} {error_class(r)}"
                except requests.RequestException as e:
                    self.counts["failed"] += 1
                    key = f"failed {type(e).__name__}"
                self.by_status[key] = self.by_status.get(key, 0) + 1
                time.sleep(0.01)


def error_class(r: requests.Response) -> str:
    """The ``error`` of a JSON error body, or ``(not JSON)``."""
    try:
        doc = r.json()
    except ValueError:
        return "(not JSON)"
    ok = "application/json" in r.headers.get("content-type", "") and isinstance(doc, dict)
    return str(doc.get("error")) if ok and "error" in doc else "(not JSON)"


def parse_wrk(text: str) -> dict[str, object]:
    def num(pattern: str) -> float:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else 0.0

    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    counts = re.search(r"^SOAK_COUNTS (.*)$", text, re.MULTILINE)
    return {
        **(json.loads(counts.group(1)) if counts else {"statuses": None}),
        "requests": int(num(r"(\d+) requests in")),
        "non_2xx": int(num(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups())))
        if socket else {},
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
        "requests_per_s": num(r"Requests/sec:\s+([\d.]+)"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: run scripts/setup.d/wrk.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="fsnb-soak-"))
    redis = DurableRedis(work)
    redis.start()
    repo = build_banking_repo(work / "banking", redis.url, customers=200)
    server = ServerProcess(repo, redis.url, workers=3, args=["--max-requests", "1000", "--max-requests-jitter", "100"])
    server.start()
    lua = work / "read.lua"
    lua.write_text(WRK_LUA % json.dumps(READ))
    stop = threading.Event()
    pusher = Pusher(server.url, stop)
    events: list[str] = []
    try:
        wrk = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "--timeout",
                                "10s", "-s", str(lua), server.url + "/get-online-features"],
                               stdout=subprocess.PIPE, text=True)
        wall0 = time.time()
        pusher.start()
        t0 = time.monotonic()
        time.sleep(args.seconds * 0.25)
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        events.append(f"{time.monotonic() - t0:.1f}s SIGKILL worker {victim}")
        time.sleep(args.seconds * 0.25)
        redis.kill()
        events.append(f"{time.monotonic() - t0:.1f}s Redis killed")
        time.sleep(2)
        redis.start()
        events.append(f"{time.monotonic() - t0:.1f}s Redis restarted (AOF replayed)")
        out, _ = wrk.communicate(timeout=args.seconds + 60)
        stop.set()
        pusher.join(timeout=15)
        report = parse_wrk(out)
        # every acknowledged push must still be there (a later, unacknowledged one may have landed too)
        r = requests.post(server.url + "/get-online-features", timeout=10, json={
            "features": ["transaction_stats:txn_count_24h"], "entities": {"customer_id": sorted(pusher.acked)}})
        doc = r.json()
        got = dict(zip(doc["results"][0]["values"], doc["results"][1]["values"]))
        lost = {cid: (seq, got.get(cid)) for cid, seq in pusher.acked.items() if (got.get(cid) or -1) < seq}
        per_second = report.pop("non_2xx_per_second", None) or {}
        report["non_2xx_by_second_of_run"] = {
            f"{int(sec) - int(wall0)}s": n for sec, n in sorted(per_second.items(), key=lambda kv: int(kv[0]))}
        log = server.log()
        report.update(pushes=pusher.counts, pushes_by_status=pusher.by_status, acknowledged_writes_lost=len(lost),
                      lost_detail=lost, events=events,
                      server_alive=server.proc is not None and server.proc.poll() is None,
                      workers_recycled=log.count("Maximum request limit"),
                      server_log_tracebacks=log.count("Traceback (most recent call last)"),
                      server_log=str(server.log_path))
        statuses = report.get("statuses") or {}
        server_errors = {k: v for k, v in statuses.items() if k.startswith("5") and k != "503"}
        server_errors.update({k: v for k, v in pusher.by_status.items() if k[:1] == "5" and not k.startswith("503")})
        plain = {**(report.get("plain_error_bodies") or {}),
                 **{k: v for k, v in pusher.by_status.items() if k.endswith("(not JSON)")}}
        report["verdict"] = {
            "status_counts_seen": bool(statuses),
            "5xx_other_than_503": sum(server_errors.values()),
            "plain_text_error_bodies": sum(plain.values()),
            "non_json_2xx": report.get("non_json_2xx", 0),
            "acknowledged_writes_lost": len(lost),
        }
        print(json.dumps(report, indent=2))
        print(out, file=sys.stderr)
        bad = [k for k, v in report["verdict"].items() if v and k != "status_counts_seen"]
        return 1 if bad or not statuses else 0
    finally:
        stop.set()
        server.stop()
        redis.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
