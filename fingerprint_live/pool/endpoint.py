"""The pool's HTTP endpoint: what it shows now, and the lines it printed.

``GET /streams``: ``{time, streams: [{stream, display, time, state, score, attestation,
worker}], workers}``,
computed when asked, so a dead worker's streams read UNVERIFIED as soon as its lease is over.
``GET /events?after=N``: the JSON lines from number ``N`` on, and ``next`` to ask for later.
"""

from __future__ import annotations

from aiohttp import web

from .coordinator import Coordinator


def application(coordinator: Coordinator) -> web.Application:
    async def streams(request: web.Request) -> web.Response:
        return web.json_response(coordinator.status())

    async def events(request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", 0))
        except ValueError:
            raise web.HTTPBadRequest(text="after must be a line number") from None
        first = coordinator.line_count - len(coordinator.lines)
        lines = list(coordinator.lines)[max(0, after - first):]
        return web.json_response({"next": coordinator.line_count, "events": lines})

    app = web.Application()
    app.router.add_get("/streams", streams)
    app.router.add_get("/events", events)
    return app


async def serve(coordinator: Coordinator, host: str, port: int) -> web.AppRunner:
    """Serve on ``host:port`` until the returned runner is cleaned up."""
    runner = web.AppRunner(application(coordinator), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
