"""Which Django handler serves a request: the public JSON API skips the page middleware.

Sessions, CSRF tokens, logins, flash messages and frame options serve the admin and the
pages. The public JSON endpoints (`chatsite.core.api.PublicAPIView`) use none of them, yet
those five middleware cost every request more than the name server's queries. Requests
to a public endpoint go through a handler with `API_MIDDLEWARE` only; every other
request through Django's handler and `MIDDLEWARE`.

The public endpoints also share one request cycle per batch of the WSGI bridge: Django's
`request_started` and `request_finished` (which reset the query logs, check every
database connection's health and age, and close the caches) run once around the batch
instead of around each request: on a heartbeat they took a sizeable share of its time.
Figures for both: bench/README.md, "What made it faster".
"""

import contextlib
import functools
import threading

from django.conf import settings
from django.core import signals
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, get_path_info, get_script_name
from django.urls import Resolver404, resolve, set_script_prefix, set_urlconf
from django.utils.log import log_response
from django.utils.module_loading import import_string

from chatsite.core.api import PublicAPIView

VIEW_HOOKS = ("process_view", "process_template_response", "process_exception")


class APIHandler(WSGIHandler):
    """Django's WSGI handler, its middleware chain built from `settings.API_MIDDLEWARE`,
    sending no request signals of its own (`DjangoHandlers.batch` sends them)."""

    def __call__(self, environ, start_response):
        # WSGIHandler.__call__ without request_started, and a body that is closed here,
        # without request_finished. The public views answer small JSON documents; a
        # streaming answer, should one come, is closed by the server the usual way.
        set_script_prefix(get_script_name(environ))
        request = self.request_class(environ)
        response = self.get_response(request)
        cookies = [("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", [*response.items(), *cookies])
        request.close()
        return response if response.streaming else [response.content]

    def get_response(self, request):
        # BaseHandler.get_response, less adding the request to the response's closers.
        set_urlconf(settings.ROOT_URLCONF)
        response = self._middleware_chain(request)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        return response

    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; this builds its chain the
        # same way from the other list. Middleware with view hooks would need the hook
        # lists BaseHandler keeps, so they are refused and the lists stay empty.
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.API_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if any(hasattr(middleware, hook) for hook in VIEW_HOOKS):
                raise ImproperlyConfigured(f"API_MIDDLEWARE takes request/response middleware only, not {path}.")
            handler = convert_exception_to_response(middleware)
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        self._middleware_chain = handler

    def resolve_request(self, request):
        # Django resolves every request anew, building the match of each nested URLconf: a
        # sizeable share of a trivial API request (bench/README.md, "What made it faster").
        match = resolved(request.path_info)
        if match is None:
            raise Resolver404({"path": request.path_info})
        request.resolver_match = match
        return match


@functools.lru_cache(maxsize=4096)
def resolved(path):
    """The URLconf's match of `path`, or None.

    Kept and shared by every request to the path: the URLconf is fixed while a process
    runs, and neither Django nor DRF changes a match once made.
    """
    try:
        return resolve(path)
    except Resolver404:
        return None


def is_public_api(path):
    """Whether `path` resolves to a PublicAPIView."""
    match = resolved(path)
    return match is not None and issubclass(getattr(match.func, "view_class", type(None)), PublicAPIView)


@functools.lru_cache(maxsize=4096)
def is_public_api_path_info(path_info):
    """`is_public_api` of a WSGI `PATH_INFO` as the server gives it (latin-1 decoded)."""
    return is_public_api(get_path_info({"PATH_INFO": path_info}))


class DjangoHandlers:
    """A WSGI application: public JSON endpoints through APIHandler, the rest through Django's own."""

    def __init__(self):
        self.full = WSGIHandler()
        self.api = APIHandler()
        self.in_batch = threading.local()

    def __call__(self, environ, start_response):
        if not is_public_api_path_info(environ.get("PATH_INFO", "/")):
            return self.full(environ, start_response)
        if getattr(self.in_batch, "open", False):
            return self.api(environ, start_response)
        with self.batch():  # a public request on its own: its own cycle, as Django gives it
            return self.api(environ, start_response)

    @contextlib.contextmanager
    def batch(self):
        """One Django request cycle around a batch of the bridge (Django's own handler still has one per request)."""
        signals.request_started.send(sender=APIHandler, environ=None)
        self.in_batch.open = True
        try:
            yield
        finally:
            self.in_batch.open = False
            signals.request_finished.send(sender=APIHandler)
