"""An ASGI app served by uvicorn on 127.0.0.1:<free port> in a thread of its own."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import socket
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """Runs `app` until :meth:`stop`; `loop` is the server thread's event loop."""

    def __init__(self, app: Starlette, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._server.serve())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextlib.asynccontextmanager
async def served_here(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 on the running event loop (where the bot's channels live, as
    in `sangkien run`); yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    web = uvicorn.Server(config)
    task = asyncio.create_task(web.serve())
    for _ in range(1000):
        if web.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        await task


def too_many_requests() -> Response:
    """The Bot API's flood-control answer."""
    return JSONResponse(
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
        status_code=429,
    )


class Faults:
    """Failures to inject, per Bot API method: "500", "429", "drop" (the connection breaks
    mid-answer), "timeout" (answers 504 after `delay` seconds). Either queued, consumed in
    order, or drawn at random for a fraction of the calls (a seeded generator). Every fault
    strikes before the method runs: a failed send was not delivered."""

    KINDS = ("500", "429", "drop", "timeout")

    def __init__(self) -> None:
        self._queue: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self.delay = 2.0
        self._fraction = 0.0
        self._methods: frozenset[str] = frozenset()
        self._random = random.Random(0)
        self.injected: collections.Counter[str] = collections.Counter()

    def add(self, method: str, *faults: str) -> None:
        with self._lock:
            self._queue[method].extend(faults)

    def at_random(self, fraction: float, methods: Iterable[str], *, seed: int) -> None:
        """From now on, fail `fraction` of the calls to `methods`, each fault one of KINDS."""
        with self._lock:
            self._fraction, self._methods = fraction, frozenset(methods)
            self._random = random.Random(seed)

    def take(self, method: str) -> str | None:
        with self._lock:
            queue = self._queue.get(method)
            if queue:
                return queue.pop(0)
            if method in self._methods and self._random.random() < self._fraction:
                fault = self._random.choice(self.KINDS)
                self.injected[fault] += 1
                return fault
            return None

    async def response(self, fault: str) -> Response | None:
        """The faulty answer, or None for a drop (the caller then breaks the connection)."""
        if fault == "500":
            return JSONResponse(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                status_code=500,
            )
        if fault == "429":
            return too_many_requests()
        if fault == "timeout":
            await asyncio.sleep(self.delay)
            return JSONResponse(
                {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status_code=504
            )
        return None


async def params(request: Request) -> dict[str, Any] | None:
    """Bot API parameters from a query string, a JSON body or a form (as clients send them);
    an uploaded file becomes its bytes. None when the client hung up mid-request (a killed
    bot): the call never happened."""
    try:
        return await _params(request)
    except ClientDisconnect:
        return None


async def _params(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        body = await request.body()
        if body:
            values.update(json.loads(body))
    elif "form" in content_type:
        async with request.form() as form:  # closes the uploaded files' spools
            for key, value in form.items():
                if not isinstance(value, str):
                    values[key] = await value.read()
                    continue
                try:
                    values[key] = json.loads(value) if value[:1] in "[{" else value
                except ValueError:
                    values[key] = value
    return values


class Truncated(Response):
    """Promises a body and sends one byte: the client sees the connection drop mid-answer."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"100"), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": False})


class Inbox:
    """Updates on their way to the bot: pushed to its webhook once one is set (from the fake's
    own thread, as the messenger's servers would), otherwise queued for long polls.

    Tests put updates from their thread; the server takes them in its own.
    """

    def __init__(self, server: ThreadedServer, secret_header: str, wrap: bool = False) -> None:
        self._server = server
        self._secret_header = secret_header
        self._wrap = wrap  # Zalo wraps webhook updates in its envelope
        self._lock = threading.Lock()
        self._arrived: asyncio.Event | None = None
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.webhook: tuple[str, str] | None = None
        self.webhook_statuses: list[int] = []

    def put(self, update: dict[str, Any]) -> None:
        loop = self._server.loop
        if self.webhook is not None:
            assert loop is not None
            asyncio.run_coroutine_threadsafe(self._push(update, *self.webhook), loop)
            return
        with self._lock:
            self.queue.append(update)
        if loop is not None and self._arrived is not None:
            loop.call_soon_threadsafe(self._arrived.set)

    async def _push(self, update: dict[str, Any], url: str, secret: str) -> None:
        body = {"ok": True, "result": update} if self._wrap else update
        async with httpx.AsyncClient() as client:
            response = await client.post(
                url, json=body, headers={self._secret_header: secret}, timeout=10
            )
        self.webhook_statuses.append(response.status_code)

    async def wait(
        self,
        seconds: float,
        take: Callable[[collections.deque[dict[str, Any]]], T],
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> T:
        """Long-poll: `take` what is queued (under the lock) as soon as it is non-empty, or
        whatever it returns for an empty queue once `seconds` have passed. With `gone`, a
        poll whose client has hung up (a killed bot) takes nothing, as a server that watches
        its connections does; one that dies in the instant after still loses its update."""
        if self._arrived is None:
            self._arrived = asyncio.Event()
        deadline = time.monotonic() + seconds
        while True:
            if gone is not None and await gone():
                with self._lock:
                    return take(collections.deque())
            with self._lock:
                taken = take(self.queue)
            if taken or time.monotonic() >= deadline:
                return taken
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())


async def wait_for_text(texts: Callable[[], list[str]], fragment: str, seconds: float = 30) -> str:
    """Wait until one of `texts()` contains `fragment`; return them all, one per line."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        said = texts()
        if any(fragment in text for text in said):
            return "\n".join(said)
        await asyncio.sleep(0.02)
    raise AssertionError(f"the bot never said {fragment!r}; it said {texts()}")


async def refusal(
    request: Request, token: str, fault: str | None, faults: Faults
) -> Response | None:
    """What a Bot API answers before looking at the method: 401 for a wrong token, or the
    injected fault (a dropped connection is a truncated answer). None to go on."""
    if request.path_params["token"] != token:
        return JSONResponse(
            {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
        )
    if fault is None:
        return None
    answer = await faults.response(fault)
    return answer if answer is not None else Truncated()
