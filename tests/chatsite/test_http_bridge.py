"""HTTP reaches Django through chatsite.server.wsgi_bridge: handed over in batches, each request intact."""

import asyncio
import contextlib
import json
import threading

import pytest
from channels.testing import HttpCommunicator
from django.test import override_settings

from chatsite.asgi import application
from chatsite.server.wsgi_bridge import WSGIBridge

pytestmark = pytest.mark.django_db(transaction=True)


def echo_environ(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Seen", "yes")])
    keys = ("PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_COOKIE", "HTTP_ACCEPT")
    seen = {key: environ.get(key) for key in keys}
    seen["body"] = environ["wsgi.input"].read().decode()
    seen["spoofed"] = environ.get("HTTP_X_FORWARDED_FOR")
    return [json.dumps(seen).encode()]


async def request(app, path, body=b"", headers=()):
    communicator = HttpCommunicator(app, "POST", path, body=body, headers=list(headers))
    return await communicator.get_response()


async def test_the_request_reaches_the_wsgi_app_whole():
    app = WSGIBridge(echo_environ, threads=2, max_body_bytes=100, stall_after=0.05)
    headers = [
        (b"content-type", b"text/plain"),
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),
        (b"accept", b"text/html"),
        (b"accept", b"application/json"),
    ]
    response = await request(app, "/caf%C3%A9?x=%20", body=b"hello", headers=headers)
    assert response["status"] == 200
    assert (b"x-seen", b"yes") in response["headers"]
    assert json.loads(response["body"]) == {
        "PATH_INFO": "/café".encode().decode("latin1"),
        "QUERY_STRING": "x=%20",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "5",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_ACCEPT": "text/html,application/json",
        "body": "hello",
        "spoofed": None,
    }


async def test_a_header_with_an_underscore_cannot_pose_as_a_proxy_header():
    app = WSGIBridge(echo_environ, threads=1, max_body_bytes=100, stall_after=0.05)
    response = await request(app, "/", headers=[(b"x_forwarded_for", b"10.9.9.9")])
    assert json.loads(response["body"])["spoofed"] is None


async def test_a_body_over_the_limit_is_refused_before_django_sees_it():
    app = WSGIBridge(echo_environ, threads=1, max_body_bytes=4, stall_after=0.05)
    response = await request(app, "/", body=b"hello")
    assert response["status"] == 413


@override_settings(NAMESERVER_TTL=5)
async def test_django_answers_through_the_bridge():
    body = json.dumps({"ip": "10.0.0.1", "port": 7000, "name": "bridge"}).encode()
    response = await request(application, "/client", body=body, headers=[(b"content-type", b"application/json")])
    assert response["status"] == 201
    assert set(json.loads(response["body"])) == {"id"}


def recording_app(log, gates=None, entered=None):
    """A WSGI app answering its path; logs (path, thread) and first waits on the path's gate, if any.

    `entered`, path → threading.Event, is set as the app starts on that path.
    """

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if entered and path in entered:
            entered[path].set()
        if gates and path in gates:
            gates[path].wait()
        log.append((path, threading.get_ident()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [path.encode()]

    return app


async def test_requests_that_arrive_together_are_served_as_one_batch_each_with_its_own_answer():
    log = []
    app = WSGIBridge(recording_app(log), threads=4, max_body_bytes=100, stall_after=60)
    responses = await asyncio.gather(*(request(app, f"/r{n}") for n in range(20)))
    assert [response["body"] for response in responses] == [f"/r{n}".encode() for n in range(20)]
    assert [path for path, _ in log] == [f"/r{n}" for n in range(20)]
    assert len({thread for _, thread in log}) == 1


async def test_a_stalled_batch_does_not_hold_back_the_requests_behind_it():
    log = []
    gate, slow_began = threading.Event(), threading.Event()
    wsgi_app = recording_app(log, gates={"/slow": gate}, entered={"/slow": slow_began})
    app = WSGIBridge(wsgi_app, threads=2, max_body_bytes=100, stall_after=0.01)
    slow = asyncio.ensure_future(request(app, "/slow"))
    try:
        assert await asyncio.to_thread(slow_began.wait, 10), "/slow never reached the app"
        fast = await asyncio.wait_for(request(app, "/fast"), timeout=10)
        assert fast["body"] == b"/fast"
        assert not slow.done()
    finally:
        gate.set()
    assert (await slow)["body"] == b"/slow"
    assert [path for path, _ in log] == ["/fast", "/slow"]


async def test_a_fault_in_the_wsgi_app_fails_only_its_own_request():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/broken":
            raise RuntimeError("broken")
        start_response("200 OK", [])
        return [b"fine"]

    bridge = WSGIBridge(app, threads=1, max_body_bytes=100, stall_after=60)
    broken, fine = await asyncio.gather(request(bridge, "/broken"), request(bridge, "/fine"), return_exceptions=True)
    assert isinstance(broken, RuntimeError)
    assert fine["body"] == b"fine"


async def test_each_batch_runs_inside_the_batch_context_and_one_that_cannot_start_fails_its_requests():
    log, refusals = [], []

    @contextlib.contextmanager
    def batch():
        if refusals:
            raise RuntimeError(refusals.pop())
        log.append("start")
        yield
        log.append("end")

    bridge = WSGIBridge(recording_app(log), threads=1, max_body_bytes=100, stall_after=60, batch=batch)
    await request(bridge, "/one")
    assert [entry if isinstance(entry, str) else entry[0] for entry in log] == ["start", "/one", "end"]
    refusals.append("no batch")
    with pytest.raises(RuntimeError, match="no batch"):
        await request(bridge, "/two")
    assert (await request(bridge, "/three"))["body"] == b"/three"  # the bridge goes on
