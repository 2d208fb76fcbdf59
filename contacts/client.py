"""A small blocking client of a replica, for the `contacts` command, tests and the benchmark."""

import socket

from contacts import protocol
from contacts.protocol import ClientDelete, ClientUpdate, Handshake, ListAll


def as_field(value):
    """Text as its UTF-8 bytes; bytes as they are (to send exactly what a test or another client would)."""
    return value.encode() if isinstance(value, str) else value


class ContactsClient:
    """One client connection: Update and Delete are fire-and-forget, ListAll waits for the answer.

    Names and phones may be given as text or bytes; ListAll answers bytes, as stored.
    """

    def __init__(self, host, port, user, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(Handshake(protocol.ROLE_CLIENT, as_field(user)).encode())

    def update(self, contact, phone):
        self.sock.sendall(ClientUpdate(as_field(contact), as_field(phone)).encode())

    def delete(self, contact):
        self.sock.sendall(ClientDelete(as_field(contact)).encode())

    def list_all(self):
        self.sock.sendall(ListAll().encode())
        count = protocol.decode_count(self.recv_exactly(protocol.COUNT_SIZE))
        data = self.recv_exactly(count * protocol.ENTRY_SIZE)
        at = range(0, len(data), protocol.ENTRY_SIZE)
        return [protocol.decode_entry(data[start : start + protocol.ENTRY_SIZE]) for start in at]

    def recv_exactly(self, size):
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError(f"the replica closed the connection {size - left} bytes into {size}")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
