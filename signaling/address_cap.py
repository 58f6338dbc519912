"""At most N open connections per client address.

The address is the TCP peer's, or with `trust_proxy` (the server is behind a reverse
proxy that appends the client's address) the last entry of X-Forwarded-For: the one our
proxy wrote. Entries to its left came from the client and are not trusted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


class AddressCap:
    def __init__(self, limit: int, *, trust_proxy: bool = False) -> None:
        """`limit` <= 0 means no cap."""
        self.limit = limit
        self._trust_proxy = trust_proxy
        self._open: Counter[str] = Counter()
        self._address_of: dict[str, str] = {}

    def address(self, environ: Mapping[str, Any]) -> str:
        if self._trust_proxy:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            last = forwarded.rsplit(",", 1)[-1].strip()
            if last:
                return str(last)
        request = environ.get("aiohttp.request")
        remote = getattr(request, "remote", None)
        # engineio's aiohttp driver puts a fixed 127.0.0.1 in REMOTE_ADDR: the request knows.
        return str(remote or environ.get("REMOTE_ADDR") or "unknown")

    def admit(self, key: str, environ: Mapping[str, Any]) -> bool:
        address = self.address(environ)
        if self.limit > 0 and self._open[address] >= self.limit:
            return False
        self._open[address] += 1
        self._address_of[key] = address
        return True

    def release(self, key: str) -> None:
        address = self._address_of.pop(key, None)
        if address is None:
            return
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def open_from(self, address: str) -> int:
        return self._open[address]
