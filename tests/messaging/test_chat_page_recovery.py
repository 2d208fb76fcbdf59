"""The chat page in headless Chromium survives a cut connection: it reconnects and recovers."""

import contextlib
import json
import socket
import threading

import pytest
from websockets.sync.client import connect

from tests.conftest import start_server
from tests.support import chromium, free_port

pytestmark = pytest.mark.browser

KEPT = 20  # messages a room keeps on this server


class CuttableProxy:
    """A TCP proxy to a server whose connections the test can cut, refusing new ones until restored."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.blocked = False
        self.open = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.blocked:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source, target):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self):
        """Drop every connection through the proxy, and refuse new ones until `restore()`."""
        self.blocked = True
        with self.lock:
            ends, self.open = self.open, set()
        for end in ends:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def restore(self):
        self.blocked = False

    def close(self):
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory, "page_recovery", CHAT_MAX_MESSAGES_IN_ROOM=KEPT)
    yield server
    server.stop()


@pytest.fixture
def proxy(server):
    proxy = CuttableProxy(server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


class Poster:
    """Another client, straight to the server, posting to one room and waiting for each echo."""

    def __init__(self, ws, room):
        self.ws, self.room, self.sent = ws, room, 0

    def post(self, count):
        for _ in range(count):
            self.sent += 1
            client_id = f"p{self.sent}"
            self.ws.send(json.dumps({"room": self.room, "text": f"message {self.sent}", "id": client_id}))
            while json.loads(self.ws.recv(timeout=10)).get("id") != client_id:
                pass


@contextlib.contextmanager
def poster_in(server, room):
    with connect(f"{server.ws_url}/ws?username=poster-{room.replace(' ', '-')}") as ws:
        yield Poster(ws, room)


def open_room(browser, proxy, room):
    page = browser.new_page()
    page.goto(f"{proxy.url}/chat/")
    page.fill("#username", f"reader-{room.replace(' ', '-')}")
    page.click("#login button")
    page.wait_for_selector("#chat:not([hidden])")
    page.fill("#room-name", room)
    page.click("#new-room button")
    return page


def shows_last(page, text):
    page.wait_for_function(
        "text => [...document.querySelectorAll('#log li .text')].at(-1)?.textContent === text", arg=text
    )


def page_list(page):
    return page.eval_on_selector_all(
        "#log li",
        "items => items.map(li => li.classList.contains('gap') ? 'GAP' : li.querySelector('.text').textContent)",
    )


def history(server, room):
    return [m["text"] for m in server.get_json(f"/api/rooms/{room.replace(' ', '%20')}/history")["result"]]


def cut_while_posting(page, proxy, poster, missed):
    """Cut the page's connection, post `missed` messages, let it back in while posting goes on."""
    proxy.cut()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Disconnected')")
    poster.post(missed)
    proxy.restore()
    keeps_posting = threading.Thread(target=poster.post, args=(5,))
    keeps_posting.start()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Connected')")
    keeps_posting.join()
    shows_last(page, f"message {poster.sent}")


def test_after_a_cut_the_page_recovers_every_message_once_in_order(browser, server, proxy):
    room = "Cut Room"
    with poster_in(server, room) as poster:
        poster.post(3)
        page = open_room(browser, proxy, room)
        shows_last(page, "message 3")
        poster.post(2)
        shows_last(page, "message 5")
        cut_while_posting(page, proxy, poster, missed=6)
    assert page_list(page) == history(server, room) == [f"message {n}" for n in range(1, 17)]


def test_messages_no_longer_in_the_history_show_as_a_gap(browser, server, proxy):
    room = "Gap Room"
    with poster_in(server, room) as poster:
        poster.post(3)
        page = open_room(browser, proxy, room)
        shows_last(page, "message 3")
        cut_while_posting(page, proxy, poster, missed=KEPT + 5)
    total = 3 + KEPT + 5 + 5
    kept = history(server, room)
    assert kept == [f"message {n}" for n in range(total - KEPT + 1, total + 1)]
    shown = page_list(page)
    assert shown[:4] == ["message 1", "message 2", "message 3", "GAP"]
    # After the gap: what the room still held when the page recovered, then what came live.
    first = int(shown[4].split()[1])
    assert 3 + 1 < first <= total - KEPT + 1
    assert shown[4:] == [f"message {n}" for n in range(first, total + 1)]
    assert "no longer in the room's history" in page.locator("#log li.gap").text_content()
