"""Loopback ports for the servers the tests start (and for a port nothing listens on)."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago: the OS picks it, the socket is closed at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
