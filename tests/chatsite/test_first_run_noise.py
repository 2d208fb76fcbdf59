"""What a newcomer sees in the terminal and in `curl`: each warning once, lines that end, no needless 404s."""

import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import start_server
from tests.support import ROOT, free_port, manage_command


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory, "noise")
    yield server
    server.stop()


def fetch(server, path):
    """(status, headers, body) of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(server.url + path, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_a_request_warning_is_logged_once(server):
    missing = f"/nowhere-{uuid.uuid4().hex}"
    assert fetch(server, missing)[0] == 404
    fetch(server, "/healthz")  # logged after the 404's warning: the log has it by then
    assert server.read_log().count(missing) == 1


@pytest.mark.parametrize("path", ["/healthz", "/api/settings", "/clients", "/api/rooms/nowhere"])
def test_json_answers_end_with_a_newline(server, path):
    _status, headers, body = fetch(server, path)
    assert headers["Content-Type"].startswith("application/json")
    assert body.endswith(b"}\n")


def test_the_favicon_is_served(server):
    status, headers, body = fetch(server, "/favicon.ico")
    assert (status, headers["Content-Type"]) == (200, "image/svg+xml")
    assert body.startswith(b"<svg")


def test_the_meeting_page_with_a_slash_redirects_to_it(server):
    status, headers, _body = fetch(server, "/meeting/")
    assert (status, headers["Location"]) == (302, "/meeting")


def test_an_empty_contacts_list_says_so_on_stderr(server):
    port = free_port()
    listener = subprocess.Popen(
        manage_command("contact_replica", "--name", f"noise-{port}", "--listen", f"127.0.0.1:{port}"),
        cwd=ROOT,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "listening" in listener.stdout.readline()
        command = manage_command("contacts", "--server", f"127.0.0.1:{port}", "--user", "Nobody", "list")
        result = subprocess.run(command, cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=60)
    finally:
        listener.terminate()
        listener.wait(timeout=20)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "Nobody has no contacts.\n")
