"""A small client for Janus's WebSocket API: sessions, plugin handles, requests and events.

One WebSocket carries one Janus session. Every request has a transaction id; its reply resolves
the request's future (for plugin messages Janus first acks, then answers with an ``event`` of the
same transaction). Messages without a pending transaction (``webrtcup``, ``hangup``, a plugin's
own notifications) go to their handle's ``events`` queue. A keep-alive every ``KEEPALIVE``
seconds keeps the session from timing out.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import aiohttp

from ..errors import FingerprintError

#: Seconds between keep-alives (Janus drops a session after 60 s of silence by default).
KEEPALIVE = 20.0
#: Seconds a request may wait for Janus's answer.
TIMEOUT = 10.0


class JanusError(FingerprintError):
    """Janus is unreachable, refused a request, or went away."""


class JanusHandle:
    """One plugin attached to a session; ``events`` holds what Janus sends unasked."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session, self.id = session, handle_id
        self.events: asyncio.Queue[dict] = asyncio.Queue()

    async def request(self, body: dict) -> dict:
        """A synchronous plugin request (``exists``, ``listparticipants``): its data."""
        reply = await self.session.send({"janus": "message", "handle_id": self.id, "body": body})
        return _plugin_data(reply)

    async def message(self, body: dict, jsep: dict | None = None) -> tuple[dict, dict | None]:
        """An asynchronous plugin request (``join``, ``publish``, ``start``): data and jsep."""
        msg = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self.session.send(msg)
        return _plugin_data(reply), reply.get("jsep")

    async def until(self, kind: str, timeout: float = TIMEOUT) -> dict:
        """Wait for Janus's ``kind`` event on this handle (``webrtcup``: media can flow)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                msg = await asyncio.wait_for(self.events.get(), max(left, 0.0))
            except TimeoutError as exc:
                raise JanusError(f"Janus sent no {kind} in {timeout:.0f} s.") from exc
            if msg.get("janus") == kind:
                return msg
            if msg.get("janus") in ("hangup", "detached", "closed"):
                raise JanusError(f"Janus hung up before {kind} ({msg.get('reason', 'closed')}).")

    async def detach(self) -> None:
        self.session.handles.pop(self.id, None)
        if not self.session.closed:
            with contextlib.suppress(JanusError):
                await self.session.send({"janus": "detach", "handle_id": self.id})


class JanusSession:
    """A Janus session over one WebSocket; make it with ``await JanusSession.connect(url)``."""

    def __init__(self, url: str, http: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse) -> None:
        self.url, self._http, self._ws = url, http, ws
        self.id: int | None = None
        self.handles: dict[int, JanusHandle] = {}
        self._pending: dict[str, tuple[asyncio.Future, bool]] = {}
        self._reader = asyncio.ensure_future(self._read())
        self._keepalive: asyncio.Task | None = None
        self.closed = False

    @classmethod
    async def connect(cls, url: str, timeout: float = 5.0) -> JanusSession:
        """Open the WebSocket and create a session; ``JanusError`` if Janus does not answer."""
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=timeout))
        try:
            ws = await http.ws_connect(url, protocols=("janus-protocol",))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            await http.close()
            raise JanusError(f"Janus is not reachable at {url} ({exc or type(exc).__name__}); "
                             "is janus running with its WebSocket transport there?") from exc
        session = cls(url, http, ws)
        try:
            reply = await session.send({"janus": "create"})
        except JanusError:
            await session.close()
            raise
        session.id = int(reply["data"]["id"])
        session._keepalive = asyncio.ensure_future(session._keep_alive())
        return session

    async def attach(self, plugin: str) -> JanusHandle:
        reply = await self.send({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self.handles[handle.id] = handle
        return handle

    async def send(self, msg: dict, ack_answers: bool = False) -> dict:
        """Send ``msg`` with a new transaction; Janus's answer, or ``JanusError``.

        Plugin messages are acked first and answered later; a keep-alive's ack is its answer.
        """
        if self.closed:
            raise JanusError(f"the connection to Janus at {self.url} is closed.")
        tx = secrets.token_hex(6)
        msg = dict(msg, transaction=tx)
        if self.id is not None:
            msg["session_id"] = self.id
        future = asyncio.get_running_loop().create_future()
        self._pending[tx] = (future, ack_answers)
        try:
            await self._ws.send_json(msg)
            reply = await asyncio.wait_for(future, TIMEOUT)
        except TimeoutError as exc:
            raise JanusError(f"Janus did not answer a {msg['janus']} request in "
                             f"{TIMEOUT:.0f} s.") from exc
        except (ConnectionError, RuntimeError) as exc:  # the socket went away under us
            raise JanusError(f"the connection to Janus at {self.url} was lost.") from exc
        finally:
            self._pending.pop(tx, None)
        if reply.get("janus") == "error":
            err = reply.get("error", {})
            raise JanusError(f"Janus refused a {msg['janus']} request: {err.get('reason')} "
                             f"(code {err.get('code')}).")
        return reply

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                msg = frame.json()
                future, ack_answers = self._pending.get(msg.get("transaction", ""), (None, False))
                if msg.get("janus") == "ack" and not ack_answers:
                    continue  # the answer follows as an event
                if future is not None and not future.done():
                    future.set_result(msg)
                elif (handle := self.handles.get(msg.get("sender"))) is not None:
                    handle.events.put_nowait(msg)
        finally:
            self.closed = True
            for future, _ in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("Janus closed the connection"))
            for handle in self.handles.values():
                handle.events.put_nowait({"janus": "closed"})

    async def _keep_alive(self) -> None:
        while not self.closed:
            await asyncio.sleep(KEEPALIVE)
            with contextlib.suppress(JanusError):
                await self.send({"janus": "keepalive"}, ack_answers=True)

    async def close(self) -> None:
        """Destroy the session and close the socket (safe to call twice)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
        if not self.closed and self.id is not None:
            with contextlib.suppress(JanusError):
                await self.send({"janus": "destroy"})
        self.closed = True
        await self._ws.close()
        await self._http.close()
        self._reader.cancel()


def _plugin_data(reply: dict) -> dict:
    data = reply.get("plugindata", {}).get("data", {})
    if "error" in data:
        raise JanusError(f"Janus's {reply['plugindata'].get('plugin', 'plugin')} refused: "
                         f"{data['error']} (code {data.get('error_code')}).")
    return data
