"""`/meeting` as the server renders it (the browser tests drive it for real)."""


def test_the_meeting_page_is_served_with_its_script(client):
    response = client.get("/meeting")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    for element in (b'id="register-form"', b'id="online"', b'id="call-status"', b'id="chat-log"'):
        assert element in response.content
    assert b"new RTCPeerConnection" in response.content
