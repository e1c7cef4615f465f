"""Who may look: requests from loopback, for a loopback host name, reading (GET, HEAD) only.

The console has no key: binding 127.0.0.1 keeps other machines out, and checking the Host
header keeps out a web page that rebinds its own name to 127.0.0.1 (DNS rebinding), since
such a request still names the attacker's host.
"""

from __future__ import annotations

import ipaddress

READ_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def is_loopback_address(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """The name in a Host header, without its port (`[::1]:8080` -> `[::1]`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(method: str, peer: str | None, host: str | None) -> tuple[int, str] | None:
    """(status, reason) when the request must be refused; None when it may be answered."""
    if not is_loopback_address(peer):
        return 403, "the console answers loopback clients only"
    name = host_name(host or "")
    if name not in LOOPBACK_NAMES and not name.endswith(".localhost"):
        return 403, "the console answers requests for a loopback host name only"
    if method.upper() not in READ_METHODS:
        return 405, "the console is read-only: GET and HEAD only"
    return None
