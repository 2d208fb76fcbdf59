"""The test process's settings: the project's, with a random key of the run's own.

Without SECRET_KEY, settings would make `var/secret_key` in the checkout on first import
(chatsite/secret_key.py); a test run writes nothing there. Server processes started by
the tests inherit the environment, and so this key.
"""

import os

from django.core.management.utils import get_random_secret_key

os.environ.setdefault("SECRET_KEY", get_random_secret_key())

from chatsite.settings import *  # noqa: F403
