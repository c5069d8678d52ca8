"""Fetching for someone else: an httpx transport that reaches only public addresses.

An editor of the admin gives a web address and the server fetches it; without this,
``http://127.0.0.1:5432`` or a cloud's metadata address (``169.254.169.254``) would be
fetched from inside the publisher's network. The check is made where the connection is
opened, on the addresses the name resolves to, and the connection goes to the address
checked: a redirect is checked as it is followed, and a name that resolves to a public
address when checked and a private one when used (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx

__all__ = ["PublicOnlyTransport", "why_not_public"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_HINT = (
    "the admin fetches only public addresses (set fetch_private_addresses = true in "
    "mailer.toml if the site is on this network)"
)


def why_not_public(address: Address) -> str:
    """What kind of address this is when the public internet has no such address, else ""."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, test in (
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a private", address.is_private),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved or address.is_unspecified),
    ):
        if test:
            return kind
    return "" if address.is_global else "a non-public"


Refuse = Callable[[Address], str]


class _PublicOnly(httpcore.NetworkBackend):
    """httpcore's own network backend, after the check of every address."""

    def __init__(self, refuse: Refuse) -> None:
        self._inner = httpcore.SyncBackend()
        self._refuse = refuse

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as err:
            raise httpcore.ConnectError(f"{host} cannot be found: {err}") from None
        # Every address the name has must be public, not only the first one tried.
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
        for address in addresses:
            kind = self._refuse(address)
            if kind:
                named = host if host == str(address) else f"{host} ({address})"
                raise httpcore.ConnectError(f"{named} is {kind} address: {_HINT}")
        # TLS still checks the certificate against the name: httpcore gives the origin's.
        return self._inner.connect_tcp(
            str(addresses[0]), port, timeout, local_address, socket_options
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError(f"a Unix socket is not a web address: {_HINT}")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport whose connections reach public addresses only; anything else
    is an :class:`httpx.ConnectError` that names the host, its address and the setting.
    Proxies from the environment are not used (a proxy would resolve the name itself).
    ``refuse`` says why an address is refused ("": it is not)."""

    def __init__(self, refuse: Refuse = why_not_public) -> None:
        super().__init__()
        # httpx builds its pool without a way to pass a network backend: the same pool,
        # with ours (httpx's transport does the rest: the mapping of requests, errors).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_PublicOnly(refuse)
        )
