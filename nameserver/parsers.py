"""Request bodies read the way the Go name server reads them.

Its clients send JSON with whatever Content-Type their tool picks: curl's default
`application/x-www-form-urlencoded`, or none at all. Go's encoding/json also matches keys
to fields ignoring case (`Ip`, `PORT`, `Name`). These endpoints do the same.
"""

from rest_framework.exceptions import ParseError

from chatsite.core import client_json
from chatsite.core.api import JSONOnly
from chatsite.core.parsers import ClientJSONParser


class GoJSONParser(ClientJSONParser):
    """A JSON body; an object's keys folded to lower case, where the key already in lower case wins."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = client_json.loads(stream.read())  # any UTF encoding, whatever the charset says
        except client_json.InvalidJSON as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if not isinstance(data, dict):
            return data
        folded = {key.casefold(): value for key, value in data.items() if key != key.casefold()}
        folded.update((key, value) for key, value in data.items() if key == key.casefold())
        return folded


class BodyIsJSON(JSONOnly):
    """Every body goes to the view's first parser, whatever its Content-Type says."""

    def select_parser(self, request, parsers):
        return parsers[0]
