"""A web node's own entry in the name server, kept alive while the process lives.

Each node registers under NODE_NAME at NODE_ADDRESS with NAMESERVER_URL and heartbeats
three times per TTL, so `GET /nodes` lists the live web nodes. Not `GET /clients`: the Go
chat clients take every entry there for a chat peer. Unlike the original Go client, a 404 (the registry lost us,
e.g. after a pause longer than the TTL) registers again instead of giving up.
"""

import json
import logging
import threading
import time
import urllib.error
import urllib.request

from django.conf import settings

log = logging.getLogger(__name__)


class NodeAnnouncer(threading.Thread):
    def __init__(self, nameserver_url, name, address, interval):
        super().__init__(name="node-announcer", daemon=True)
        self.nameserver_url = nameserver_url.rstrip("/")
        host, _, port = address.rpartition(":")
        self.registration = {"ip": host.strip("[]"), "port": int(port), "name": name}
        self.interval = interval
        self.client_id = None

    def run(self):
        while True:
            try:
                if self.client_id is None or not self.heartbeat():
                    self.client_id = self.register()
                    log.info(
                        "Announced node %s to %s as %s", self.registration["name"], self.nameserver_url, self.client_id
                    )
            except (OSError, ValueError) as error:
                # The name server may be this very process, still starting: try again soon.
                log.debug("Name server %s unreachable: %s", self.nameserver_url, error)
            time.sleep(self.interval)

    def register(self):
        return self.call("POST", self.registration)["id"]

    def heartbeat(self):
        try:
            self.call("PATCH", {"id": self.client_id})
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise
        return True

    def call(self, method, body):
        request = urllib.request.Request(
            f"{self.nameserver_url}/node",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.interval) as response:
            return json.load(response)


def start_node_announcer():
    """Start announcing this process when NODE_NAME is set (a daemon thread: it ends with the process).

    NODE_ANNOUNCE off leaves it to another process of the node (the workers' supervisor).
    """
    if settings.NODE_NAME and settings.NODE_ANNOUNCE:
        NodeAnnouncer(
            settings.NAMESERVER_URL, settings.NODE_NAME, settings.NODE_ADDRESS, settings.NAMESERVER_TTL / 3
        ).start()
