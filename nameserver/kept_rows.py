"""The rows of one registry a process keeps between requests: `connected` and entry by id, oldest first.

Both live maps keep them (nameserver/store.py on SQLite, nameserver/notified_map.py on
PostgreSQL); only the way they learn of changes differs. `connected` is whatever the map
compares as time: SQLite's stored text, or microseconds on PostgreSQL.
"""

CONNECTED = '"connected": '  # where an entry's tail begins (nameserver.models.encode_entry_head)


class KeptRows:
    def __init__(self, rows: tuple | list = ()) -> None:
        self.connected = {key: connected for key, connected, _ in rows}
        self.entries = {key: entry for key, _, entry in rows}  # in the order of `connected`
        self.in_order = True  # False once a change is older than the newest row (a clock went back)

    def put(self, key: str, connected: object, entry: str) -> None:
        if self.connected and connected < next(reversed(self.connected.values())):
            self.in_order = False
        self.connected.pop(key, None)
        self.connected[key] = connected
        self.entries.pop(key, None)
        self.entries[key] = entry

    def remove(self, key: str) -> None:
        self.connected.pop(key, None)
        self.entries.pop(key, None)

    def is_live(self, key: str, cutoff: object) -> bool:
        connected = self.connected.get(key)
        return connected is not None and connected >= cutoff

    def beat(self, key: str, connected: object, entry_tail: str) -> None:
        """A heartbeat of the live row `key`: its entry with a new tail."""
        head = self.entries[key].rpartition(CONNECTED)[0]
        self.put(key, connected, head + CONNECTED + entry_tail)

    def live_entries(self, cutoff: object) -> list[str]:
        # Nearly always every row is live: when the oldest is, that is known without a look at the others.
        if self.in_order and next(iter(self.connected.values()), cutoff) >= cutoff:
            return list(self.entries.values())
        rows = zip(self.connected.values(), self.entries.values(), strict=True)
        return [entry for connected, entry in rows if connected >= cutoff]
