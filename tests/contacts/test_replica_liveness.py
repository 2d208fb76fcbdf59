"""Whether a replica runs, as the contacts page learns it; a port in use is one clear error that leaves no trace."""

import json
import socket

from tests.contacts.conftest import ReplicaProcess
from tests.support import manage


def views(env):
    """replica_views() as the web process reads it, from the replicas' database."""
    code = "import json; from contacts.services import replica_views; print(json.dumps(replica_views('ana')))"
    return json.loads(manage("shell", "-c", code, env=env).splitlines()[-1])


def test_a_running_replica_is_alive_and_one_stopped_cleanly_is_not(cluster, contacts_env):
    replica = cluster.replica()
    view = views(contacts_env)[replica.name]
    assert view["alive"] is True
    assert view["alive_at"] is not None
    replica.stop()
    assert views(contacts_env)[replica.name] | {"clock": 0} == {
        "clock": 0,
        "alive": False,
        "alive_at": None,
        "contacts": [],
    }


def test_a_port_in_use_is_one_line_and_no_replica_row(cluster, contacts_env):
    running = cluster.replica()
    clash = ReplicaProcess(contacts_env, running.name + "-clash")
    clash.port = running.port
    result = clash.run_to_exit()
    assert result.returncode == 1
    assert result.output.strip() == (
        f"CommandError: Cannot listen on 127.0.0.1:{running.port} (--listen): the port is in use, "
        "by another replica or by `make run`. Stop that, or pick another port."
    )
    assert clash.name not in views(contacts_env)


def test_a_metrics_port_in_use_is_one_line_and_no_replica_row(contacts_env):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        clash = ReplicaProcess(contacts_env, "metrics-clash")
        result = clash.run_to_exit_with("--metrics-listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.output.strip().startswith(f"CommandError: Cannot listen on 127.0.0.1:{port} (--metrics-listen)")
    assert "metrics-clash" not in views(contacts_env)
