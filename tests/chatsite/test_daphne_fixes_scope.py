"""The daphne fixes load only where daphne serves: a daphne or autobahn upgrade cannot stop production processes."""

import autobahn
import daphne
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from chatsite.apps import serves_with_daphne


@pytest.mark.parametrize(
    ("argv", "daphne_serves"),
    [
        (["manage.py", "runserver", "127.0.0.1:8000"], True),
        (["/srv/.venv/bin/daphne", "chatsite.asgi:application"], True),
        (["/srv/.venv/lib/python3.11/site-packages/daphne/__main__.py", "-p", "8000"], True),
        (["manage.py", "uvicorn", "127.0.0.1:8000"], False),
        (["manage.py", "nameserver_worker"], False),
        (["manage.py", "contact_replica", "--name", "runserver"], False),
        ([], False),
    ],
)
def test_only_daphnes_processes_are_daphnes(argv, daphne_serves):
    assert serves_with_daphne(argv) is daphne_serves


@pytest.mark.parametrize("package", [daphne, autobahn])
def test_another_daphne_or_autobahn_stops_runserver_and_nothing_else(monkeypatch, package):
    monkeypatch.setattr(package, "__version__", "99.0.0")
    config = apps.get_app_config("chatsite")
    monkeypatch.setattr("sys.argv", ["manage.py", "uvicorn", "127.0.0.1:8000"])
    config.ready()
    monkeypatch.setattr("sys.argv", ["manage.py", "runserver"])
    with pytest.raises(ImproperlyConfigured, match=f"written for {package.__name__}"):
        config.ready()
