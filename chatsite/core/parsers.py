"""The request body parsers of every app's DRF views (REST_FRAMEWORK in chatsite/settings.py)."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from chatsite.core import client_json


class ClientJSONParser(JSONParser):
    """DRF's JSON parser, reading as every other path does (chatsite/core/client_json.py).

    DRF's own lets RecursionError through (HTTP 500 for 3 KB of `[`) and takes `1e400` as infinity.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return client_json.loads(stream.read().decode(encoding))
        except (ValueError, LookupError) as error:  # an unknown charset: LookupError
            raise ParseError(f"JSON parse error - {error}") from None
