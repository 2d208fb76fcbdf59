"""What the DRF views of every app share."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView


class JSONOnly(DefaultContentNegotiation):
    """Answer JSON whatever the request asks for, as the originals do.

    The Accept header is not parsed, and `?format=` is not a renderer switch (DRF would
    answer 404 to `?format=xml`): on these endpoints a query parameter is the caller's data.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PublicAPIView(APIView):
    """An endpoint open to anyone, speaking JSON only: no session, no CSRF check, no auth work."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    def perform_authentication(self, request):
        # Nobody is authenticated here, so DRF's lazy path is taken: `request.user` is
        # made (anonymous) only if a view reads it, not on every request.
        pass
