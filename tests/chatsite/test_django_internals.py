"""The Django internals the HTTP path relies on (chatsite/server/handlers.py) are still what it was written for.

A Django upgrade that changes one fails here by name: re-read handlers.py against the new
source, then update what this file pins and WRITTEN_FOR_DJANGO (chatsite/server/versions.py).
"""

import hashlib
import inspect

import django
import pytest
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers import exception, wsgi
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler

from chatsite.server import versions
from chatsite.server.handlers import APIHandler
from chatsite.server.http_path import http_application

# What handlers.py calls or overrides, with the parameters it passes or takes.
SIGNATURES = {
    "WSGIHandler.__call__": (WSGIHandler.__call__, ["self", "environ", "start_response"]),
    "BaseHandler.get_response": (BaseHandler.get_response, ["self", "request"]),
    "BaseHandler.load_middleware": (BaseHandler.load_middleware, ["self", "is_async"]),
    "BaseHandler.resolve_request": (BaseHandler.resolve_request, ["self", "request"]),
    "BaseHandler._get_response": (BaseHandler._get_response, ["self", "request"]),
    "convert_exception_to_response": (exception.convert_exception_to_response, ["get_response"]),
    "get_path_info": (wsgi.get_path_info, ["environ"]),
    "get_script_name": (wsgi.get_script_name, ["environ"]),
}
# The state APIHandler.load_middleware sets in place of BaseHandler's.
HANDLER_STATE = ("_middleware_chain", "_view_middleware", "_template_response_middleware", "_exception_middleware")
# Django code APIHandler copies a trimmed version of, or runs its overrides inside: the
# first 16 hex digits of the SHA-256 of its source in the Django it was written for.
SOURCES = {
    "WSGIHandler.__call__": (WSGIHandler.__call__, "8391f497d588b2a0"),  # copied, less the request signals
    "WSGIHandler.__init__": (WSGIHandler.__init__, "984f329d715b995a"),  # calls load_middleware
    "BaseHandler.load_middleware": (BaseHandler.load_middleware, "a1fb7ee5f8586195"),  # copied for API_MIDDLEWARE
    "BaseHandler.resolve_request": (BaseHandler.resolve_request, "ff178c3d63eebcd3"),  # replaced by the kept matches
    "BaseHandler._get_response": (BaseHandler._get_response, "ec767cf1bf0296fa"),  # calls resolve_request, the lists
}


def test_another_django_stops_the_http_path_with_what_to_do(monkeypatch):
    monkeypatch.setattr(django, "__version__", "6.0")
    with pytest.raises(ImproperlyConfigured) as refused:
        http_application()
    message = str(refused.value)
    assert "Django 6.0 is installed. Install Django 5.2.x" in message
    assert "chatsite/server/handlers.py APIHandler" in message
    assert "tests/chatsite/test_django_internals.py" in message


def test_the_installed_django_is_the_one_the_handlers_were_written_for():
    versions.check_django_version()


@pytest.mark.parametrize("name", SIGNATURES)
def test_each_django_function_the_handlers_use_keeps_its_parameters(name):
    function, parameters = SIGNATURES[name]
    assert list(inspect.signature(function).parameters) == parameters, f"Django's {name} changed its parameters"


def test_the_handler_state_the_short_chain_replaces_is_djangos():
    missing = [name for name in HANDLER_STATE if not hasattr(BaseHandler, name)]
    assert not missing, f"Django's BaseHandler no longer has {missing}"
    assert WSGIHandler.request_class is wsgi.WSGIRequest
    assert {"request_started", "request_finished"} <= set(vars(signals))


@pytest.mark.parametrize("name", SOURCES)
def test_the_django_code_the_handlers_copy_or_run_inside_is_unchanged(name):
    function, digest = SOURCES[name]
    found = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
    assert found == digest, (
        f"Django's {name} changed: re-read APIHandler (chatsite/server/handlers.py) against it, then pin {found} here"
    )


def test_the_api_handler_overrides_only_what_is_pinned():
    overridden = {name for name in vars(APIHandler) if callable(vars(APIHandler)[name])}
    assert overridden == {"__call__", "load_middleware", "resolve_request"}
