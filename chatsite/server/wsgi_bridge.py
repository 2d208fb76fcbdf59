"""Django's synchronous handler served from the ASGI application, requests handed over in batches.

Every view and middleware of this project is synchronous. Django's ASGI handler runs each
middleware and then the view in a thread hop of its own, and on a busy core the hops cost
many times the request itself. This runs the WSGI handler instead: the request body is
read on the event loop, the request runs on a pool thread, and the response goes out in
two ASGI messages. Responses are buffered, which suits a project
whose HTTP answers are small JSON documents and pages (nothing streams).

Requests that arrive while a batch runs wait for it, then go to a thread together as the
next batch. One hand-over per batch instead of one per request, and one thread at work
instead of eight contending for the GIL with each other and with the event loop. A slow
batch (a lock wait, a big admin page) holds the others back for `stall_after` seconds at
most: then the waiting requests go to another thread, up to `threads` batches at a time.
Figures for both steps: bench/README.md, "What made it faster".
"""

import asyncio
import contextlib
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus


class WSGIBridge:
    """`batch`, if given, makes the context manager each batch runs in (`DjangoHandlers.batch`)."""

    def __init__(self, wsgi_app, *, threads, max_body_bytes, stall_after, batch=contextlib.nullcontext):
        self.wsgi_app = wsgi_app
        self.batch = batch
        self.max_body_bytes = max_body_bytes
        self.threads = threads
        self.stall_after = stall_after
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="http")
        self.waiting = []  # (scope, body, future) of requests not yet handed over
        self.running = []  # loop time at which each running batch started
        self.timer = None

    async def __call__(self, scope, receive, send):
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return await self.refuse(send, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            if not message.get("more_body"):
                break
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((scope, bytes(body), future))
        if len(self.waiting) == 1:
            loop.call_soon(self.hand_over)  # after the requests that arrived with this one
        status, headers, content = await future
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def hand_over(self):
        """Give the waiting requests to a thread as one batch, unless a batch is running and not stalled."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.waiting:
            return
        loop = asyncio.get_running_loop()
        if self.running:
            stalls_at = max(self.running) + self.stall_after
            if len(self.running) >= self.threads:
                return  # the next batch to finish hands over
            if loop.time() < stalls_at:
                self.timer = loop.call_at(stalls_at, self.hand_over)
                return
        batch, self.waiting = self.waiting, []
        started = loop.time()
        self.running.append(started)
        self.executor.submit(self.run_batch, loop, started, batch)

    def run_batch(self, loop, started, batch):
        outcomes = []
        try:
            with self.batch():
                for scope, body, _ in batch:
                    try:
                        outcomes.append((True, self.respond(scope, body)))
                    except BaseException as error:  # a fault of the bridge itself: Django answers its own errors
                        outcomes.append((False, error))
        except BaseException as error:  # the batch could not start or end: what has no answer fails
            outcomes += [(False, error)] * (len(batch) - len(outcomes))
        finally:
            loop.call_soon_threadsafe(self.finished, started, batch, outcomes)

    def finished(self, started, batch, outcomes):
        self.running.remove(started)
        for (_, _, future), (ok, outcome) in zip(batch, outcomes, strict=True):
            if future.done():  # the request's task was cancelled meanwhile
                continue
            if ok:
                future.set_result(outcome)
            else:
                future.set_exception(outcome)
        self.hand_over()

    def respond(self, scope, body):
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [int(status[:3]), [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers]]

        result = self.wsgi_app(environ(scope, body), start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started[0], started[1], content

    @staticmethod
    async def refuse(send, status):
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": f"{status.value} {status.phrase}\n".encode()})


def environ(scope, body):
    """The PEP 3333 environ of an ASGI HTTP scope; `asgi.scope` keeps what WSGI cannot say (raw_path)."""
    server_name, server_port = scope.get("server") or ("localhost", 80)
    client_addr, client_port = scope.get("client") or ("", 0)
    root = scope.get("root_path", "")
    path = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
    env = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin1"),
        "PATH_INFO": path.encode().decode("latin1"),
        "QUERY_STRING": scope["query_string"].decode("latin1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client_addr,
        "REMOTE_PORT": str(client_port),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin1").upper()
        # `X_Forwarded_For` would become the same variable as `X-Forwarded-For`: drop it,
        # as Django's runserver and gunicorn do, so it cannot spoof a proxy's header.
        if "_" in name or name == "CONTENT-LENGTH":
            continue
        key = "CONTENT_TYPE" if name == "CONTENT-TYPE" else "HTTP_" + name.replace("-", "_")
        value = raw_value.decode("latin1")
        if key in env:
            value = env[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        env[key] = value
    return env
