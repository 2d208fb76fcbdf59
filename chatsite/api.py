"""What the DRF views of every app share."""

from rest_framework.views import APIView


class PublicAPIView(APIView):
    """An endpoint open to anyone: no session, so no CSRF check and no per-request auth work."""

    authentication_classes = []
    permission_classes = []
