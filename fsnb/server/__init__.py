"""The feature server (``fsnb serve``): ASGI app, runner, auth, metrics, wire formats.

Importing this package is light; the server stack (orjson, uvicorn, gunicorn, prometheus-client) loads with
:mod:`fsnb.server.app` and :mod:`fsnb.server.runner`. Install it with ``pip install 'fsnb[server]'``.
"""
