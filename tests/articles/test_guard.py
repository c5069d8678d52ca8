"""A fetch for someone else reaches public addresses only: checked on what the name
resolves to, for every redirect, against a web server on loopback."""

from __future__ import annotations

import http.server
import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from mailer.articles import load_article
from mailer.articles.guard import Address, PublicOnlyTransport, why_not_public
from mailer.exceptions import ArticleError
from tests.support.http import serving

PAGE = (
    b"<html><head><title>Bridge opens</title></head><body><article><h1>Bridge opens</h1>"
    b"<p>The new bridge opened to walkers and cyclists today, a year late.</p>"
    b"</article></body></html>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/away":  # to another address of this machine
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{port}/page")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as url:
        yield url


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback"),
        ("::1", "a loopback"),
        ("::ffff:127.0.0.1", "a loopback"),  # IPv4 in IPv6's clothes
        ("10.1.2.3", "a private"),
        ("192.168.0.10", "a private"),
        ("fd00::1", "a private"),
        ("169.254.169.254", "a link-local"),  # a cloud's metadata
        ("fe80::1", "a link-local"),
        ("0.0.0.0", "a private"),
        ("224.0.0.1", "a multicast"),
        ("240.0.0.1", "a private"),
        ("100.64.0.1", "a non-public"),  # carrier-grade NAT
        ("93.184.215.14", ""),
        ("2606:4700::1111", ""),
    ],
)
def test_only_an_address_of_the_public_internet_passes(address: str, kind: str) -> None:
    assert why_not_public(ipaddress.ip_address(address)) == kind


def test_a_fetch_for_the_admin_refuses_this_machine_and_the_cli_fetches_it(server: str) -> None:
    with pytest.raises(ArticleError) as caught:
        load_article(f"{server}/page", public_only=True)
    assert str(caught.value) == (
        f"{server}/page: cannot be fetched: 127.0.0.1 is a loopback address: the admin "
        "fetches only public addresses (set fetch_private_addresses = true in mailer.toml "
        "if the site is on this network)"
    )
    port = server.rsplit(":", 1)[1]
    with pytest.raises(ArticleError, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        load_article(f"http://localhost:{port}/page", public_only=True)
    assert load_article(f"{server}/page").title == "Bridge opens"


def test_every_redirect_is_checked(server: str) -> None:
    def refuse(address: Address) -> str:
        return "a forbidden" if str(address) == "127.0.0.2" else ""

    with httpx.Client(transport=PublicOnlyTransport(refuse), follow_redirects=True) as client:
        assert client.get(f"{server}/page").status_code == 200
        with pytest.raises(httpx.ConnectError, match=r"127\.0\.0\.2 is a forbidden address"):
            client.get(f"{server}/away")
