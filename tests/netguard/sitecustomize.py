"""Block every network connection except loopback (imported at interpreter start).

Put this folder on PYTHONPATH of a child process (a notebook kernel, the
``gis`` command) to prove it works offline: a connection to any other host
raises ``OSError`` naming the host, so a hidden download fails loudly.
"""

import ipaddress
import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guard(address):
    if not _is_local(address):
        raise OSError(f"network access blocked in tests (offline): {address!r}")


def connect(self, address):
    _guard(address)
    return _real_connect(self, address)


def connect_ex(self, address):
    _guard(address)
    return _real_connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost") and not _is_local((host, 0)):
        raise OSError(f"network access blocked in tests (offline): DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
