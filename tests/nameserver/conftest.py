import pytest
from rest_framework.test import APIClient


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
