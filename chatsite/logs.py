"""Log filters: a secret in a request line never reaches a log."""

import logging
import re

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
