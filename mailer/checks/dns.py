"""The sender domain's DNS, looked up with dnspython: the DKIM key's public half at
``<selector>._domainkey.<domain>``, an SPF record (``v=spf1``) on the From domain and a
DMARC record at ``_dmarc.<domain>``. A lookup that times out or finds no DNS server
is a WARN saying so (offline, nothing can be told), never a crash."""

from __future__ import annotations

import base64
import binascii
import ipaddress

import dns.exception
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.campaigns.readiness import placeholder_domain, where_to_set
from mailer.checks.model import Check, CheckOptions, Status
from mailer.exceptions import ConfigError, InputError
from mailer.settings import Settings
from mailer.settings.keys import load_private_key

__all__ = ["LookupFailed", "TxtLookup", "dkim_check", "dmarc_check", "dns_checks", "spf_check"]


class LookupFailed(Exception):
    """No answer could be had (a timeout, no DNS server): nothing can be told."""


class TxtLookup:
    """TXT records by name, from the system's resolver or from ``options.nameserver``."""

    def __init__(self, options: CheckOptions):
        self._error: str | None = None
        try:
            if options.nameserver:
                host, port = parse_nameserver(options.nameserver)
                self._resolver = dns.resolver.Resolver(configure=False)
                self._resolver.nameservers = [host]
                self._resolver.port = port
            else:
                self._resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._error = "no DNS server is configured (/etc/resolv.conf)"
        self._resolver.lifetime = options.dns_timeout
        self._resolver.timeout = options.dns_timeout

    def txt(self, name: str) -> list[str] | None:
        """The TXT records of ``name`` (each one's strings joined), [] when it has none,
        None when the name does not exist; raises LookupFailed when no answer came."""
        if self._error:
            raise LookupFailed(self._error)
        try:
            answer = self._resolver.resolve(name, "TXT", search=False)
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.NoAnswer:
            return []
        except dns.exception.Timeout:
            raise LookupFailed(f"no answer within {self._resolver.lifetime:g} s") from None
        except (dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as err:
            raise LookupFailed(str(err) or type(err).__name__) from None
        except dns.exception.DNSException as err:
            raise LookupFailed(str(err) or type(err).__name__) from None
        records = []
        for rdata in answer:
            strings = getattr(rdata, "strings", ())
            records.append(b"".join(strings).decode("utf-8", "replace"))
        return records


def parse_nameserver(text: str) -> tuple[str, int]:
    """``127.0.0.1``, ``127.0.0.1:5353``, ``::1`` or ``[::1]:5353`` as (address, port)."""
    host, port = text.strip(), "53"
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif host.count(":") == 1:
        host, port = host.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InputError(f"--nameserver: {text!r} is not an IP address (IP or IP:PORT)") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--nameserver: {text!r} has no port from 1 to 65535")
    return host, int(port)


def dns_checks(settings: Settings, options: CheckOptions) -> list[Check]:
    """DKIM, SPF and DMARC of the sender's domain. On a backend that sends nothing,
    what would fail real mail is a WARN."""
    if not settings.from_address:
        return [Check("dns", _fail(settings), "no from_address: no domain to look up", "")]
    domain = settings.sender.address.rpartition("@")[2].lower()
    if placeholder_domain(domain):
        return [
            Check(
                "dns",
                _fail(settings),
                f"{domain} is reserved for examples: no DKIM, SPF or DMARC to look up",
                "set from_address to an address at your own domain "
                + where_to_set(settings, "from_address"),
            )
        ]
    lookup = TxtLookup(options)
    checks = [
        dkim_check(settings, lookup, domain),
        spf_check(lookup, domain),
        dmarc_check(lookup, domain),
    ]
    if settings.sends_real_mail:
        return checks
    note = f" ({settings.backend}: nothing is sent)"
    return [
        Check(c.name, Status.WARN, c.message + note, c.fix) if c.status is Status.FAIL else c
        for c in checks
    ]


def _fail(settings: Settings) -> Status:
    return Status.FAIL if settings.sends_real_mail else Status.WARN


def spf_check(lookup: TxtLookup, domain: str) -> Check:
    try:
        records = lookup.txt(domain)
    except LookupFailed as err:
        return Check("spf", Status.WARN, f"could not look up {domain}: {err}", "")
    if records is None:
        return Check("spf", Status.FAIL, f"{domain} does not exist in DNS", "")
    spf = [r for r in records if r.lower().startswith("v=spf1")]
    fix = (
        f"add one TXT record on {domain} naming the servers that send for it "
        "(your provider says which: v=spf1 include:... ~all)"
    )
    if not spf:
        return Check("spf", Status.FAIL, f"{domain} has no SPF record (TXT v=spf1 ...)", fix)
    if len(spf) > 1:
        return Check(
            "spf",
            Status.FAIL,
            f"{domain} has {len(spf)} SPF records, which receivers treat as an error (RFC 7208)",
            "merge them into one",
        )
    return Check("spf", Status.OK, f"{domain}: {spf[0]}")


def dmarc_check(lookup: TxtLookup, domain: str) -> Check:
    # The policy of a subdomain may be its organisational domain's (RFC 7489 6.6.3);
    # without the public suffix list, the last two labels stand for it.
    names = [domain]
    parent = ".".join(domain.split(".")[-2:])
    if parent != domain:
        names.append(parent)
    for name in names:
        try:
            records = lookup.txt(f"_dmarc.{name}")
        except LookupFailed as err:
            return Check("dmarc", Status.WARN, f"could not look up _dmarc.{name}: {err}", "")
        dmarc = [r for r in records or [] if r.replace(" ", "").lower().startswith("v=dmarc1")]
        if dmarc:
            policy = _tags(dmarc[0]).get("p", "").lower()
            note = " (p=none only reports; it protects nothing yet)" if policy == "none" else ""
            return Check("dmarc", Status.OK, f"_dmarc.{name}: {dmarc[0]}{note}")
    return Check(
        "dmarc",
        Status.FAIL,
        f"no DMARC record at _dmarc.{domain}, which Gmail and Yahoo require of bulk senders",
        f"add a TXT record at _dmarc.{domain}: v=DMARC1; p=none; rua=mailto:<your address>",
    )


def dkim_check(settings: Settings, lookup: TxtLookup, from_domain: str) -> Check:
    if settings.dkim_private_key is None or not settings.dkim_selector or not settings.dkim_domain:
        if settings.backend == "sendgrid":
            return Check(
                "dkim",
                Status.WARN,
                "not checked: SendGrid signs with the key of its domain authentication",
                "set it up in SendGrid > Settings > Sender Authentication",
            )
        return Check(
            "dkim",
            Status.WARN,
            "not set: mail leaves unsigned unless the SMTP server signs it",
            "set dkim_private_key, dkim_selector and dkim_domain "
            + where_to_set(settings, "dkim_private_key"),
        )
    try:
        pem = load_private_key(settings.dkim_private_key.get_secret_value(), settings.base_dir)
    except ConfigError as err:
        return Check("dkim", Status.FAIL, str(err), "")
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # load_private_key takes RSA keys only
    public = key.public_key()
    ours = base64.b64encode(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode("ascii")
    name = f"{settings.dkim_selector}._domainkey.{settings.dkim_domain}"
    fix = f"publish a TXT record at {name}: v=DKIM1; k=rsa; p={ours}"
    try:
        records = lookup.txt(name)
    except LookupFailed as err:
        return Check(
            "dkim", Status.WARN, f"the key is readable; could not look up {name}: {err}", ""
        )
    keys = [r for r in records or [] if "p=" in r.replace(" ", "")]
    if not keys:
        return Check("dkim", Status.FAIL, f"the key is readable; {name} has no DKIM record", fix)
    published = _tags(keys[0]).get("p", "")
    if not published:
        return Check("dkim", Status.FAIL, f"{name} has p= empty: the key is revoked", fix)
    if not _same_key(published, public):
        return Check(
            "dkim", Status.FAIL, f"{name} publishes another key than dkim_private_key's", fix
        )
    domain = settings.dkim_domain.lower()
    if from_domain != domain and not from_domain.endswith(f".{domain}"):
        return Check(
            "dkim",
            Status.WARN,
            f"{name} matches the key, but {domain} is not the From domain {from_domain}, "
            "so DMARC does not count the signature",
            f"sign as {from_domain}: set dkim_domain {where_to_set(settings, 'dkim_domain')}",
        )
    return Check("dkim", Status.OK, f"the key is readable and {name} publishes its public half")


def _tags(record: str) -> dict[str, str]:
    """``v=DKIM1; k=rsa; p=...`` as a dict, names lower-cased, spaces dropped."""
    tags = {}
    for part in record.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def _same_key(published: str, public: rsa.RSAPublicKey) -> bool:
    try:
        der = base64.b64decode(published, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        theirs = serialization.load_der_public_key(der)
    except ValueError:
        return False
    return (
        isinstance(theirs, rsa.RSAPublicKey) and theirs.public_numbers() == public.public_numbers()
    )
