"""`GET /v1/connect` without the WebSocket upgrade answers 426, as the original does, not a 404 page."""

from websockets.sync.client import connect


def test_a_plain_get_of_connect_is_told_to_upgrade(live_server_process):
    status, body, headers = live_server_process.call("GET", "/v1/connect")

    assert status == 426
    assert headers["Upgrade"] == "websocket"
    assert headers["Content-Type"] == "application/json"
    assert body["status"] == "UPGRADE_REQUIRED"
    assert "WebSocket handshake" in body["message"]


def test_the_websocket_on_the_same_path_still_opens(live_server_process):
    """The HTTP route sits beside the WebSocket one: a handshake still reaches the consumer."""
    with connect(f"{live_server_process.ws_url}/v1/connect") as ws:
        assert ws.recv(timeout=5) == '{"type":"UNAUTHENTICATED","payload":null}'
