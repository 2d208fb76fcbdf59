"""Settings for a server process whose test waits on runserver's access log (quiet by default)."""

from chatsite.settings import *  # noqa: F403
from chatsite.settings import LOGGING

LOGGING["loggers"]["django.channels.server"]["level"] = "INFO"
