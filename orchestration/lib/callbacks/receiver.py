"""The callback receiver: a Starlette app served by uvicorn (`campaign-analytics receive`).

Starlette, not FastAPI: the endpoints take the provider's bodies as they come (form or JSON,
known fields or not) and keep them whole, so FastAPI's models and validation would be bypassed
anyway; Starlette and uvicorn are already installed with dagster-webserver, so the receiver adds
no dependency. Form bodies are parsed with the standard library (the provider sends
application/x-www-form-urlencoded, never multipart).

Every POST is authenticated (`?token=`, or for Brevo's unsigned webhooks `Authorization:
Bearer`; constant-time compare with CALLBACK_TOKEN), size-capped
(64 KiB), checked (`payloads.py`), written to the landing log and fsynced, and only then
answered: 200 when usable, 400 (kept as a reject, with its reason) when not. Writes are grouped:
requests arriving while one fsync runs share the next one, so the cost of durability is paid per
batch, not per callback. Nothing here needs the warehouse.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestration.lib.callbacks.guard import GuardedHttpProtocol
from orchestration.lib.callbacks.landing import LandingLog, recover_abandoned
from orchestration.lib.callbacks.payloads import ENDPOINTS, Endpoint, landing_line
from orchestration.lib.settings import ConfigError, Secret

MAX_BODY_BYTES = 64 * 1024
BODY_SECONDS = 10.0  # a request's body, once its headers are in
MAX_JSON_DEPTH = 16  # deeper bodies are refused (kept as rejects) before anything recurses
# The token is the only thing between the internet and the landing log: not a guessable word.
MIN_TOKEN_LENGTH = 16
IDLE_CHECK_SECONDS = 1.0
log = logging.getLogger("campaign_analytics.receiver")


class GroupCommit:
    """One task owns the landing log: it takes every line queued since its last fsync, writes
    them together, fsyncs once (in a thread, so the event loop keeps accepting), then wakes the
    requests that were waiting on them."""

    def __init__(self, landing: LandingLog) -> None:
        self.landing = landing
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.lines = 0  # stored since start (GET /healthz)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await asyncio.to_thread(self.landing.close_segment)

    async def write(self, line: bytes) -> None:
        """Return once `line` is on disk; raise if it could not be written."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((line, future))
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_SECONDS)
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await asyncio.to_thread(self.landing.append, [line for line, _ in batch])
                except Exception as error:  # disk full, folder gone: no 200 for these
                    log.error("cannot write the landing log: %s", error)
                    failure = error if isinstance(error, OSError) else OSError(str(error))
                    for _, future in batch:
                        future.set_exception(failure)
                else:
                    self.lines += len(batch)
                    for _, future in batch:
                        future.set_result(None)
            else:
                try:
                    await asyncio.to_thread(self.landing.close_if_old)
                except OSError as error:  # tried again on the next idle second
                    log.error("cannot close a landing segment: %s", error)
            if self._stopping and not self._pending:
                return


def create_app(landing_dir: Path, token: Secret) -> Starlette:
    """The receiver as an ASGI app. `token` must be set: without it anyone could write."""
    if not token:
        raise ConfigError("CALLBACK_TOKEN is not set: the receiver refuses to start without "
                          "one (put a long random string in the environment or .env)")
    if len(token.reveal()) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"CALLBACK_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters: use a "
                          "long random string, such as `openssl rand -hex 24` prints")
    expected = token.reveal().encode()
    state: dict[str, GroupCommit] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        recovered = await asyncio.to_thread(recover_abandoned, landing_dir)
        if recovered:
            log.info("closed %d segment(s) left open by a stopped receiver", len(recovered))
        commit = GroupCommit(LandingLog(landing_dir))
        commit.start()
        state["commit"] = commit
        try:
            yield
        finally:
            await commit.stop()

    def endpoint_handler(endpoint: Endpoint) -> Any:
        async def handle(request: Request) -> Response:
            given = _given_token(request, endpoint.auth)
            if not hmac.compare_digest(given, expected):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit()
                                         or int(declared) > MAX_BODY_BYTES):
                return _too_large()
            body = bytearray()
            try:
                async with asyncio.timeout(BODY_SECONDS):  # a body sent a byte at a time
                    async for chunk in request.stream():
                        body += chunk
                        if len(body) > MAX_BODY_BYTES:
                            return _too_large()
            except TimeoutError:
                return JSONResponse({"error": f"body not received within {BODY_SECONDS:g} s"},
                                    status_code=408)
            payload, problem = _parse(bytes(body), request.headers.get("content-type", ""))
            problems = [problem] if problem else endpoint.problems(payload)
            reason = "; ".join(problems) or None
            try:
                await state["commit"].write(landing_line(endpoint.kind, payload, reason))
            except OSError:
                return JSONResponse({"error": "not stored, try again"}, status_code=503)
            if reason:
                return JSONResponse({"error": reason, "kept": True}, status_code=400)
            return JSONResponse({"status": "stored"})

        return handle

    async def healthz(_: Request) -> Response:
        commit = state.get("commit")
        return JSONResponse({"status": "ok", "stored": commit.lines if commit else 0})

    routes = [Route(e.path, endpoint_handler(e), methods=["POST"]) for e in ENDPOINTS]
    routes.append(Route("/healthz", healthz, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


def _given_token(request: Request, auth: str) -> bytes:
    """The token the sender presented, the way its endpoint takes it; b"" when absent or given
    twice (two tokens are refused, never chosen between)."""
    if auth == "bearer":
        header = request.headers.getlist("authorization")
        if len(header) != 1:
            return b""
        scheme, _, value = header[0].partition(" ")
        if scheme.lower() == "bearer":
            return value.strip().encode()
        if scheme.lower() == "basic":  # the URL's credentials: the token is the password
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return b""
            return decoded.partition(":")[2].encode()
        return b""
    tokens = request.query_params.getlist("token")
    return tokens[0].encode() if len(tokens) == 1 else b""


def _too_large() -> Response:
    return JSONResponse({"error": f"body over {MAX_BODY_BYTES // 1024} KiB"}, status_code=413)


def _parse(body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
    """The body as a dict of fields, or (what could be kept, why it is unusable)."""
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower() or body.lstrip()[:1] == b"{":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {"_body": text}, "the body is not valid JSON"
        if not isinstance(value, dict):
            return {"_body": text}, "the body is not a JSON object"
        if _depth(value) > MAX_JSON_DEPTH:  # a provider's payload is flat; hashing it recurses
            return {"_body": text}, f"the body nests deeper than {MAX_JSON_DEPTH} levels"
        return value, None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return {"_body": text}, "the body is neither JSON nor form-encoded"
    return dict(pairs), None


def _depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays (1: a flat object), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy or invalid port is a one-line error."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ConfigError(f"cannot listen on {host}: not a host name or address") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({error.strerror}): "
                          "choose another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn's access log is off, since it would print each
    request's URL, token included."""
    uvicorn.Server(_uvicorn_config(app)).run(sockets=[sock])


def _uvicorn_config(app: Starlette) -> uvicorn.Config:
    # Headers owe a deadline and waiting connections a cap (guard.py); idle kept-alive ones
    # close after uvicorn's 5 s.
    return uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on",
                          timeout_graceful_shutdown=10, http=GuardedHttpProtocol,
                          timeout_keep_alive=5)


class ReceiverThread:
    """The receiver served from a background thread (the demo, the tests, the benchmark)."""

    def __init__(self, landing_dir: Path, token: Secret, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._sock = bind(host, port)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        app = create_app(landing_dir, token)
        self._server = uvicorn.Server(_uvicorn_config(app))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name="callback-receiver", daemon=True)

    def start(self) -> ReceiverThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the callback receiver did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    def __enter__(self) -> ReceiverThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
