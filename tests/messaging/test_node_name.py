"""The chat page says which web node serves it."""

from django.test import override_settings


@override_settings(NODE_NAME="web-7")
def test_the_chat_page_names_its_node(client):
    assert "Served by node <strong>web-7</strong>" in client.get("/chat/").content.decode()


@override_settings(NODE_NAME="", NODE_ADDRESS="127.0.0.1:8123")
def test_a_node_without_a_name_shows_its_address(client):
    assert "Served by node <strong>127.0.0.1:8123</strong>" in client.get("/").content.decode()
