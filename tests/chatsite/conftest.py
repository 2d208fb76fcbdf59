"""Chat sockets in this process, for the tests of what every consumer shares."""

from tests.messaging.conftest import nane, sockets, token_client, token_for  # noqa: F401  (fixtures)
