"""A web node stopped together with its Redis (Ctrl-C on `make run-cluster`) logs no traceback."""

import contextlib
import signal

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support import RedisProcess, ServerProcess, free_port, fresh_database_url, server_env

pytestmark = pytest.mark.redis


async def test_a_node_stopping_while_its_redis_stops_logs_no_traceback(tmp_path):
    redis = RedisProcess().start()
    env = server_env(fresh_database_url(tmp_path, "quiet_stop", migrated=True), REDIS_URL=redis.url)
    server = ServerProcess(env, free_port()).start()
    try:
        ws = await connect(f"{server.ws_url}/ws?username=quiet")  # a subscription on Redis to lose
        # As a terminal's Ctrl-C does: the node is told to stop, and Redis goes with it.
        server.process.send_signal(signal.SIGTERM)
        redis.kill()
        exit_code = server.process.wait(timeout=30)
        with contextlib.suppress(ConnectionClosed):
            await ws.close()
    finally:
        server.stop()
        redis.stop()
    assert exit_code == 0
    log = server.read_log()
    assert "Traceback" not in log, log
    assert "Finished server process" in log
