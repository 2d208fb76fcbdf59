"""The SECRET_KEY of an instance that was given none: random, made on first start, kept in a file.

Every process of `make run` (web, worker, replicas, `migrate`) reads settings at once on a
first start, so the file is made without a race: the key is written in full to a private
temporary file, then linked to its name, which fails if another process linked first;
everyone then reads the one file that won. A reader never sees a half-written key.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def read_or_create(path):
    """The key kept in `path`, made (mode 0600) with a random key if the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        _create(path)
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(f"Cannot read the secret key file {path} ({error}): fix its permissions.")
    if not key:
        raise ImproperlyConfigured(f"The secret key file {path} is empty: delete it, and a new key is made.")
    return key


def _create(path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot create the secret key file {path} ({error}): "
            "set SECRET_KEY, or SECRET_KEY_FILE to a writable path."
        )
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(get_random_secret_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        # Fails if another process made it first: its key is then the instance's.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
