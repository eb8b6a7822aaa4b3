"""Closes the socket of a connection attempt that failed (kafka-python 3.0).

kafka-python 3.0.12 opens a socket per connection attempt, and when the broker
refuses it raises without closing that socket (`kafka.net.inet`). The socket then
lives in the exception's traceback until the cyclic garbage collector finds it.
A daemon that keeps retrying against a broker that is down holds more file
descriptors the longer the outage lasts, and each one becomes a `ResourceWarning`
whenever it is collected, inside whatever runs at that moment.

`close_failed_connects()` wraps `KafkaNetSocket.sock_connect`, the step that
raises, so the socket is closed before the error leaves it. Nothing else
changes: the failed socket is never used again, and `close()` twice is harmless.
"""

from __future__ import annotations

from typing import Any

from kafka.net.inet import KafkaNetSocket

_MARK = "_driftwarden_closes_failed_connects"


def close_failed_connects() -> None:
    """Install the wrapper once per process (later calls do nothing)."""
    original = KafkaNetSocket.sock_connect
    if getattr(original, _MARK, False):
        return

    async def sock_connect(
        self: Any, net: Any, sock: Any, sockaddr: Any, timeout_at: float | None = None
    ) -> Any:
        try:
            return await original(self, net, sock, sockaddr, timeout_at=timeout_at)
        except BaseException:
            sock.close()
            raise

    setattr(sock_connect, _MARK, True)
    sock_connect.__wrapped__ = original  # type: ignore[attr-defined]
    KafkaNetSocket.sock_connect = sock_connect
