"""HTTP reaches Django through chatsite.wsgi_bridge: one thread hop, the request intact."""

import json

import pytest
from channels.testing import HttpCommunicator
from django.test import override_settings

from chatsite.asgi import application
from chatsite.wsgi_bridge import WSGIBridge

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
    app = WSGIBridge(echo_environ, threads=2, max_body_bytes=100)
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
    app = WSGIBridge(echo_environ, threads=1, max_body_bytes=100)
    response = await request(app, "/", headers=[(b"x_forwarded_for", b"10.9.9.9")])
    assert json.loads(response["body"])["spoofed"] is None


async def test_a_body_over_the_limit_is_refused_before_django_sees_it():
    app = WSGIBridge(echo_environ, threads=1, max_body_bytes=4)
    response = await request(app, "/", body=b"hello")
    assert response["status"] == 413


@override_settings(NAMESERVER_TTL=5)
async def test_django_answers_through_the_bridge():
    body = json.dumps({"ip": "10.0.0.1", "port": 7000, "name": "bridge"}).encode()
    response = await request(application, "/client", body=body, headers=[(b"content-type", b"application/json")])
    assert response["status"] == 201
    assert set(json.loads(response["body"])) == {"id"}
