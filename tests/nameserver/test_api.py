import re
import uuid

import pytest

from nameserver.models import Client, Node

pytestmark = pytest.mark.django_db

RFC3339_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(\+00:00|Z)$")


def test_register_returns_a_uuid4_and_stores_the_client(api):
    response = api.post("/client", {"ip": "192.1.1.1", "port": 1234, "name": "linus"}, format="json")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    client_id = response.json()["id"]
    assert uuid.UUID(client_id).version == 4
    assert Client.objects.get(id=client_id).name == "linus"


def test_registered_client_is_listed_with_the_spec_shape(api, register):
    client_id = register(name="linus", ip="2001:db8::1", port=65535)

    response = api.get("/clients")

    assert response.status_code == 200
    entry = response.json()[client_id]
    assert set(entry) == {"ip", "port", "connected", "name"}
    assert entry["ip"] == "2001:db8::1"
    assert entry["port"] == 65535
    assert entry["name"] == "linus"
    assert RFC3339_MICROS.match(entry["connected"]), entry["connected"]


def test_empty_registry_lists_an_empty_object(api):
    response = api.get("/clients")
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ip", "192.1.1"),
        ("ip", "not an ip"),
        ("ip", 19211),
        ("ip", ""),
        ("port", 0),
        ("port", 65536),
        ("port", -1),
        ("port", "1234"),
        ("port", 12.5),
        ("port", True),
        ("name", ""),
        ("name", "x" * 141),
        ("name", 42),
        ("name", None),
    ],
)
def test_bad_registration_names_the_field_and_stores_nothing(api, field, value):
    body = {"ip": "192.1.1.1", "port": 1234, "name": "linus", field: value}

    response = api.post("/client", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Client.objects.exists()


@pytest.mark.parametrize("missing", ["ip", "port", "name"])
def test_registration_without_a_field_names_it(api, missing):
    body = {"ip": "192.1.1.1", "port": 1234, "name": "linus"}
    del body[missing]

    response = api.post("/client", body, format="json")

    assert response.status_code == 400
    assert missing in response.json()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"null", b'"text"'])
def test_malformed_body_is_a_json_400(api, body):
    response = api.generic("POST", "/client", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()
    assert not Client.objects.exists()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", ""])
def test_registration_body_is_json_whatever_the_content_type_says(api, content_type):
    # curl -d sends application/x-www-form-urlencoded; the Go name server reads JSON anyway.
    body = b'{"ip": "192.1.1.1", "port": 1234, "name": "linus"}'

    response = api.generic("POST", "/client", body, content_type=content_type)

    assert response.status_code == 201, response.content
    assert Client.objects.get(id=response.json()["id"]).name == "linus"


def test_registration_keys_match_ignoring_case_as_in_go(api):
    response = api.generic("POST", "/client", b'{"Ip": "10.1.1.1", "PORT": 4321, "Name": "ada"}', content_type="")

    assert response.status_code == 201, response.content
    client = Client.objects.get(id=response.json()["id"])
    assert (client.ip, client.port, client.name) == ("10.1.1.1", 4321, "ada")


def test_the_lowercase_key_wins_over_another_spelling(api):
    body = b'{"Name": "first", "name": "exact", "NAME": "last", "ip": "10.1.1.1", "port": 1}'

    response = api.generic("POST", "/client", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert Client.objects.get().name == "exact"


@pytest.mark.parametrize("body", [b'{"ip": "10.1.1.1", "port": NaN, "name": "x"}', b"\xff\xfe{", b""])
def test_a_body_that_is_not_json_is_a_400_whatever_the_content_type(api, body):
    response = api.generic("POST", "/client", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()
    assert not Client.objects.exists()


def test_heartbeat_key_matches_ignoring_case(api, register):
    me = register()

    response = api.generic("PATCH", "/client", f'{{"ID": "{me}"}}'.encode(), content_type="text/plain")

    assert response.status_code == 200
    assert me in response.json()


def test_name_of_140_characters_is_accepted(register):
    register(name="й" * 140)
    assert Client.objects.get().name == "й" * 140


def test_heartbeat_answers_the_live_map_including_the_caller(api, register):
    me, other = register(name="me"), register(name="other")

    response = api.patch("/client", {"id": me}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {me, other}


def test_heartbeat_accepts_an_uppercase_id(api, register):
    me = register()
    response = api.patch("/client", {"id": me.upper()}, format="json")
    assert response.status_code == 200
    assert me in response.json()


def test_heartbeat_of_an_unknown_id_is_404(api):
    response = api.patch("/client", {"id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize("body", [{}, {"id": "nope"}, {"id": 7}, {"id": None}])
def test_heartbeat_with_a_malformed_id_is_400(api, body):
    response = api.patch("/client", body, format="json")
    assert response.status_code == 400
    assert "id" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", "/client"), ("delete", "/client"), ("get", "/client"), ("post", "/clients"), ("patch", "/clients")],
)
def test_other_methods_are_405_with_a_json_body(api, method, path):
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 405
    assert response.json()


@pytest.mark.parametrize("path", ["/clients/", "/client/"])
def test_trailing_slash_is_not_redirected(api, path):
    assert api.get(path).status_code == 404


def test_web_nodes_are_listed_at_nodes_and_never_as_clients(api, register):
    # Go chat clients take every entry of GET /clients for a chat peer.
    client_id = register(name="linus")
    response = api.post("/node", {"ip": "127.0.0.1", "port": 8000, "name": "web-1"}, format="json")
    assert response.status_code == 201
    node_id = response.json()["id"]

    assert set(api.get("/clients").json()) == {client_id}
    assert set(api.get("/nodes").json()) == {node_id}
    assert api.get("/nodes").json()[node_id]["name"] == "web-1"
    assert Node.objects.get().name == "web-1"


def test_node_heartbeat_answers_the_nodes_and_knows_no_client(api, register):
    client_id = register()
    node_id = api.post("/node", {"ip": "127.0.0.1", "port": 8000, "name": "web-1"}, format="json").json()["id"]

    assert set(api.patch("/node", {"id": node_id}, format="json").json()) == {node_id}
    assert api.patch("/node", {"id": client_id}, format="json").status_code == 404
    assert api.patch("/client", {"id": node_id}, format="json").status_code == 404
