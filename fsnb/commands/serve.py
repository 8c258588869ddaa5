"""``fsnb serve``: run the feature server (gunicorn + uvicorn workers) over this repo's store."""

from __future__ import annotations

import argparse

NAME = "serve"
HELP = "run the feature server (POST /get-online-features, /push, /health, /metrics, /docs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags default to ``feature_server:`` in fsnb.yaml (shown defaults are the built-in ones)."""
    g = parser.add_argument_group("feature server")
    g.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    g.add_argument("--port", "-p", type=_port, default=None, help="port (default 6566)")
    g.add_argument("--workers", "-w", type=int, default=None, help="worker processes; -1 = 2 x cores + 1")
    g.add_argument("--keep-alive", type=float, default=None, help="seconds an idle keep-alive connection stays open")
    g.add_argument("--max-requests", type=int, default=None,
                   help="recycle a worker after this many requests, draining its connections (0 = never)")
    g.add_argument("--max-requests-jitter", type=int, default=None, help="random extra requests per worker")
    g.add_argument("--worker-connections", type=int, default=None, help="concurrent connections per worker")
    g.add_argument("--registry-ttl", type=float, default=None, help="seconds between background registry refreshes")
    g.add_argument("--max-batch-rows", type=int, default=None, help="entity rows per request before 413")
    g.add_argument("--tls-key", default=None, help="TLS private key file (PEM)")
    g.add_argument("--tls-cert", default=None, help="TLS certificate file (PEM)")
    g.add_argument("--graceful-timeout", type=float, default=None, help="seconds a stopping worker may drain (30)")
    g.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error", "critical"])
    g.add_argument("--access-log", action="store_true", help="log every request (off by default: it costs)")


def _port(text: str) -> int:
    """A TCP port number, 0-65535 (0: any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: give 0-65535")
    return port


def options_from(args: argparse.Namespace) -> object:
    from fsnb.server.runner import ServeOptions

    return ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        keep_alive=args.keep_alive,
        max_requests=args.max_requests,
        max_requests_jitter=args.max_requests_jitter,
        worker_connections=args.worker_connections,
        registry_ttl=args.registry_ttl,
        max_batch_rows=args.max_batch_rows,
        tls_key=args.tls_key,
        tls_cert=args.tls_cert,
        graceful_timeout=args.graceful_timeout,
        log_level=args.log_level,
        access_log=args.access_log,
    )


def _repo(args: argparse.Namespace) -> str | None:
    for name in ("repo", "repo_path", "path", "chdir", "config"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def run(args: argparse.Namespace) -> int:
    from fsnb.config import load_config
    from fsnb.errors import ConfigError
    from fsnb.server.runner import serve

    config = load_config(_repo(args))
    port = args.port if args.port is not None else config.feature_server.port
    if not 0 <= port <= 65535:
        raise ConfigError(f"feature_server.port is {port}, not a port: give 0-65535")
    serve(config, options_from(args))  # type: ignore[arg-type]
    return 0
