"""What the DRF views of every app share."""

import functools

from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from chatsite.core.origin import foreign_page
from chatsite.core.renderers import JSONRenderer


class JSONOnly(DefaultContentNegotiation):
    """Answer JSON whatever the request asks for, as the originals do.

    The Accept header is not parsed, and `?format=` is not a renderer switch (DRF would
    answer 404 to `?format=xml`): on these endpoints a query parameter is the caller's data.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FromOurPages(BasePermission):
    """Refuse a request that a page of another site made a browser send (chatsite/core/origin.py)."""

    def has_permission(self, request, view):
        # Raised rather than returned: for an anonymous caller DRF would replace the reason
        # with "Authentication credentials were not provided", which is not why.
        if refusal := foreign_page(request.META):
            raise PermissionDenied(refusal)
        return True


class PublicAPIView(APIView):
    """An endpoint open to anyone, speaking JSON only: no session, no CSRF check, no auth work.

    DRF makes a view's parsers, renderers and negotiator anew for every request, and works
    out its `Allow` header each time. Those of these views keep no state between requests,
    so each view class makes them once (bench/README.md, "What made it faster"). A
    subclass must not give them one that keeps state.
    """

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    def get_parsers(self):
        return shared_instances(tuple(self.parser_classes))

    def get_renderers(self):
        return shared_instances(tuple(self.renderer_classes))

    def get_content_negotiator(self):
        return shared_instances((self.content_negotiation_class,))[0]

    @property
    def default_response_headers(self):
        # DRF's, which depend only on the class (`setup` gives every instance the same
        # `head`); a copy each time, as DRF takes `Vary` out of it.
        if type(self) not in CLASS_RESPONSE_HEADERS:
            CLASS_RESPONSE_HEADERS[type(self)] = super().default_response_headers
        return dict(CLASS_RESPONSE_HEADERS[type(self)])

    def perform_authentication(self, request):
        # Nobody is authenticated here, so DRF's lazy path is taken: `request.user` is
        # made (anonymous) only if a view reads it, not on every request.
        pass


CLASS_RESPONSE_HEADERS = {}


@functools.cache
def shared_instances(classes):
    return [cls() for cls in classes]
