"""Request cycles, as the live maps count them: a map checked once in a cycle is fresh for all of it.

The WSGI bridge runs the public endpoints' requests of a batch in one Django request
cycle (chatsite/server/handlers.py): every request of the batch had arrived before the
cycle began, so a map checked since then is as fresh as each of them needs. Outside a
request cycle there is none, and every read looks.
"""

import threading

local = threading.local()


def start(**kwargs):
    """request_started: this thread's request cycle begins."""
    local.cycle = object()


def end(**kwargs):
    """request_finished."""
    local.cycle = None


def current():
    """This thread's request cycle, or None outside one."""
    return getattr(local, "cycle", None)
