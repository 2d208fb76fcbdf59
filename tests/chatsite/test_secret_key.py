"""An instance without SECRET_KEY makes its own, random, on first start, and keeps it."""

import os
import stat
import subprocess
import sys

import pytest

from tests.support import ROOT

PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def settings_env(**settings):
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env.update({"DJANGO_SETTINGS_MODULE": "chatsite.settings", "DEBUG": "1", **settings})
    return env


def start(env):
    """What a process of the instance reads as its SECRET_KEY."""
    return subprocess.Popen(
        [sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def key_of(process):
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


def test_a_fresh_instance_makes_a_private_key_and_keeps_it_across_restarts(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    env = settings_env(SECRET_KEY_FILE=str(key_file))

    first = key_of(start(env))
    again = key_of(start(env))

    assert len(first) >= 50
    assert again == first
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_two_fresh_checkouts_get_different_keys(tmp_path):
    one = key_of(start(settings_env(SECRET_KEY_FILE=str(tmp_path / "one" / "secret_key"))))
    other = key_of(start(settings_env(SECRET_KEY_FILE=str(tmp_path / "other" / "secret_key"))))
    assert one != other


def test_processes_starting_together_agree_on_one_key(tmp_path):
    env = settings_env(SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    processes = [start(env) for _ in range(6)]
    keys = {key_of(process) for process in processes}
    assert len(keys) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_a_key_in_the_environment_wins_and_writes_no_file(tmp_path):
    key_file = tmp_path / "secret_key"
    env = settings_env(SECRET_KEY="k" * 50, SECRET_KEY_FILE=str(key_file))
    assert key_of(start(env)) == "k" * 50
    assert not key_file.exists()


def test_debug_off_needs_a_key_or_a_key_file_set_on_purpose(tmp_path):
    process = start(settings_env(DEBUG="0"))
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "set SECRET_KEY" in err

    key_file = tmp_path / "secret_key"
    assert key_of(start(settings_env(DEBUG="0", SECRET_KEY_FILE=str(key_file)))) == key_file.read_text().strip()


def test_an_empty_key_file_is_refused_with_the_fix(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("\n")
    process = start(settings_env(SECRET_KEY_FILE=str(key_file)))
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "is empty: delete it" in err


def test_the_key_file_is_kept_beside_the_database_and_make_clean_removes_it():
    from django.conf import settings

    assert settings.SECRET_KEY_FILE == ROOT / "var" / "secret_key"
    clean = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert " var" in clean
    assert "secret_key" in clean  # and says so


@pytest.mark.parametrize("path", ["chatsite/settings.py", "Procfile", "Procfile.cluster", "Makefile"])
def test_no_secret_key_is_written_in_the_repository(path):
    text = (ROOT / path).read_text()
    assert "django-insecure" not in text
    assert "SECRET_KEY=" not in text
