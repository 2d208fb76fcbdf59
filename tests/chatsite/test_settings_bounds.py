"""A bound set to what cannot work stops start-up with the setting's name and why."""

import os
import subprocess
import sys

import pytest

from tests.support import ROOT


@pytest.mark.parametrize("name", ["CHAT_WRITE_BATCH", "CHAT_MAX_MESSAGES_IN_ROOM", "CHAT_HISTORY_PAGE_MAX"])
def test_a_bound_of_zero_stops_start_up_saying_which(name):
    started = subprocess.run(
        [sys.executable, "-c", "import chatsite.settings"],
        cwd=ROOT,
        env={**os.environ, name: "0"},
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0
    assert f"{name} must be at least 1" in started.stderr
