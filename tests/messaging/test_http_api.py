"""`POST /auth` and the nane read API (docs/protocols/chat.md)."""

import json
from urllib.parse import unquote, urlsplit

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from rest_framework.test import APIClient

from chatsite.asgi import application
from messaging import services
from messaging.models import ChatSession

pytestmark = pytest.mark.django_db(transaction=True)


class RawPathRequest(HttpCommunicator):
    """A GET through the ASGI app with `raw_path` as a real server sends it."""

    def __init__(self, path):
        parsed = urlsplit(path)
        self.scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": unquote(parsed.path),
            "raw_path": parsed.path.encode("ascii"),
            "query_string": parsed.query.encode("ascii"),
            "headers": [(b"host", b"127.0.0.1")],
        }
        self.body, self.sent_request = b"", False
        ApplicationCommunicator.__init__(self, application, self.scope)


async def get(path):
    response = await RawPathRequest(path).get_response(timeout=5)
    headers = {key.lower(): value for key, value in response["headers"]}
    assert headers[b"content-type"].startswith(b"application/json"), headers
    return response["status"], json.loads(response["body"])


post = database_sync_to_async(services.post_message)


async def test_settings_report_the_limits_and_uptime():
    status, body = await get("/api/settings")
    assert status == 200
    result = body["result"]
    assert {k: result[k] for k in ("max_message_length", "max_room_title_length", "max_username_length")} == {
        "max_message_length": 10500,
        "max_room_title_length": 50,
        "max_username_length": 50,
    }
    assert isinstance(result["uptime"], int)
    assert result["uptime"] > 0


async def test_rooms_list_each_room_with_its_last_message():
    await post(room_name="Quiet", sender="alice", text="only")
    await post(room_name="Busy", sender="bob", text="one")
    await post(room_name="busy", sender="carol", text="two", client_id="c")
    await database_sync_to_async(services.create_room)("Empty")
    status, body = await get("/api/rooms")
    assert status == 200
    summary = {}
    for room in body["result"]:
        last = room["last_message"]
        summary[room["name"]] = last and (last["sender"]["username"], last["text"])
    assert summary == {"Busy": ("carol", "two"), "Empty": None, "Quiet": ("alice", "only")}


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("with space", "with%20space"),
        ("100%", "100%25"),
        ("a&b", "a&b"),
        ("a/b", "a%2Fb"),
        ("#tag", "%23tag"),
        ("Козьма", "%D0%9A%D0%BE%D0%B7%D1%8C%D0%BC%D0%B0"),
        ("x/history", "x%2Fhistory"),
    ],
)
async def test_room_names_are_url_decoded_from_the_raw_path(name, encoded):
    await post(room_name=name, sender="alice", text=f"in {name}")
    status, body = await get(f"/api/rooms/{encoded}")
    assert (status, body["result"]["name"], body["result"]["last_message"]["text"]) == (200, name, f"in {name}")
    status, body = await get(f"/api/rooms/{encoded}/history")
    assert (status, [m["text"] for m in body["result"]]) == (200, [f"in {name}"])


async def test_an_encoded_slash_history_is_a_room_not_the_history_of_another():
    await post(room_name="x", sender="alice", text="in x")
    status, body = await get("/api/rooms/x%2Fhistory")
    assert (status, body) == (404, {"error": "room x/history not found"})


async def test_room_lookup_ignores_case_including_non_ascii():
    await post(room_name="Козьма", sender="alice", text="привет")
    status, body = await get("/api/rooms/%D0%BA%D0%9E%D0%97%D0%AC%D0%9C%D0%90/history")
    assert status == 200
    assert body["result"][0]["room"] == "Козьма"


async def test_history_is_oldest_first_with_the_full_message_shape():
    await post(room_name="r", sender="alice", text="first", client_id="c1")
    await post(room_name="r", sender="bob", text="second")
    status, body = await get("/api/rooms/r/history")
    assert status == 200
    first, second = body["result"]
    assert first.pop("created") < second.pop("created")
    assert first == {"id": "c1", "room": "r", "text": "first", "sender": {"username": "alice"}, "seq": 1}
    assert second == {"room": "r", "text": "second", "sender": {"username": "bob"}, "seq": 2}


@pytest.mark.parametrize("path", ["/api/rooms/nope", "/api/rooms/nope/history"])
async def test_an_unknown_room_is_a_json_404_naming_it(path):
    assert await get(path) == (404, {"error": "room nope not found"})


@pytest.mark.parametrize("path", ["/api/rooms/r/other", "/api/rooms/", "/api/rooms/%20"])
async def test_a_path_that_is_neither_room_nor_history_is_a_json_404(path):
    await post(room_name="r", sender="alice", text="t")
    status, body = await get(path)
    assert status == 404
    assert "error" in body


def test_auth_with_a_form_body_returns_a_token():
    response = APIClient().post("/auth", {"nickname": "alice"})
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["token"]


def test_auth_with_the_query_string_returns_a_token():
    response = APIClient().post("/auth?nickname=alice")
    assert response.status_code == 201
    assert ChatSession.objects.get().nickname == "alice"


@pytest.mark.parametrize(
    ("nickname", "error"),
    [
        ("", "nickname is empty"),
        ("1abc", "invalid nickname 1abc: use a letter or _ first, then at least one letter, digit, _ or -"),
        ("has space", "invalid nickname has space: use a letter or _ first, then at least one letter, digit, _ or -"),
        ("a" * 51, "nickname " + "a" * 51 + " is longer than 50 characters"),
        ("system", "nickname system is reserved"),
    ],
)
def test_auth_refuses_an_invalid_nickname_with_403(nickname, error):
    response = APIClient().post("/auth", {"nickname": nickname})
    assert (response.status_code, response.json()) == (403, {"error": error})
    assert not ChatSession.objects.exists()


def test_auth_refuses_a_taken_nickname_with_403():
    client = APIClient()
    assert client.post("/auth", {"nickname": "alice"}).status_code == 201
    response = client.post("/auth", {"nickname": "alice"})
    assert (response.status_code, response.json()) == (403, {"error": "nickname alice is already taken"})
    assert ChatSession.objects.count() == 1


def test_listing_rooms_takes_the_same_queries_for_many_rooms(django_assert_max_num_queries):
    for n in range(20):
        services.post_message(room_name=f"room{n}", sender="alice", text="t")
    with django_assert_max_num_queries(2):
        APIClient().get("/api/rooms")
