"""Log filters: a secret in a request line never reaches a log, and a stopping process does not cry wolf."""

import logging
import re
import threading

# Set when the web process has been told to stop (manage.py uvicorn's server).
stopping = threading.Event()

# The token dialect (docs/protocols/chat.md) lets a client put its chat token in `?token=`;
# while its session lives the token is as good as a password. Any other `*token=` parameter
# is treated the same way.
TOKEN_IN_QUERY = re.compile(r"([?&][\w.-]*token=)[^&\s#\"']*", re.IGNORECASE)


class RedactQueryTokens(logging.Filter):
    """Replace `token=` values in a record's text with `[redacted]`.

    daphne's runserver logs every HTTP request line with its query string: a plain GET of
    `/ws?token=...` (a client that forgot the upgrade, a link pasted into a browser) is a 404
    logged at WARNING, token and all. The filter sits on that logger, so every handler the
    record reaches gets the redacted text, and on our console handler for everyone else.
    """

    def filter(self, record):
        message = record.getMessage()
        redacted = TOKEN_IN_QUERY.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class QuietWhileStopping(logging.Filter):
    """Drop a record once the process is stopping.

    On the channel layer's logger: `make run-cluster` stops Redis together with the web
    nodes, and channels-redis logs each subscription it loses meanwhile with a traceback
    (about fourteen lines a node) though nothing is wrong. While the process runs, its
    errors are shown as ever.
    """

    def filter(self, record):
        return not stopping.is_set()
