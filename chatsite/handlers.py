"""Which Django handler serves a request: the public JSON API skips the page middleware.

Sessions, CSRF tokens, logins, flash messages and frame options serve the admin and the
pages. The public JSON endpoints (`chatsite.api.PublicAPIView`) use none of them, yet on
the 2-core VM those five middleware cost 40 µs of every request, more than the name
server's queries. Requests to a public endpoint go through a handler with
`API_MIDDLEWARE` only; every other request through Django's handler and `MIDDLEWARE`.
"""

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, get_path_info
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from chatsite.api import PublicAPIView

VIEW_HOOKS = ("process_view", "process_template_response", "process_exception")


class APIHandler(WSGIHandler):
    """Django's WSGI handler, its middleware chain built from `settings.API_MIDDLEWARE`."""

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
        # Django resolves every request anew, building the match of each nested URLconf:
        # 35 µs of the 180 that a trivial API request cost in all on the 2-core VM.
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


class DjangoHandlers:
    """A WSGI application: public JSON endpoints through APIHandler, the rest through Django's own."""

    def __init__(self):
        self.full = WSGIHandler()
        self.api = APIHandler()

    def __call__(self, environ, start_response):
        handler = self.api if is_public_api(get_path_info(environ)) else self.full
        return handler(environ, start_response)
