from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient


class Clock:
    """A controllable `timezone.now()`, so expiry is tested without sleeping."""

    def __init__(self):
        self.now = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def register(api):
    def register(name="linus", ip="192.1.1.1", port=1234):
        response = api.post("/client", {"ip": ip, "port": port, "name": name}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    return register
