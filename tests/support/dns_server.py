"""A DNS server on loopback, built with dnspython's messages, that answers TXT queries
from a table (for ``mailer check``'s SPF, DKIM and DMARC lookups)."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT


class DnsServer:
    """Answers TXT queries from ``records`` (name -> texts) over UDP on 127.0.0.1; a
    name it does not know is NXDOMAIN, a known name without TXT an empty answer."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = {self._key(name): texts for name, texts in records.items()}
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self._stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    @staticmethod
    def _key(name: str) -> str:
        return name.lower().rstrip(".") + "."

    def _serve(self) -> None:
        while True:
            data, peer = self.sock.recvfrom(65535)
            if self._stopping:
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower()
            self.queries.append(name)
            texts = self.records.get(name)
            if texts is None:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT and texts:
                rdatas = [
                    TXT(
                        dns.rdataclass.IN,
                        dns.rdatatype.TXT,
                        # A TXT string holds 255 bytes at most: a DKIM key takes several.
                        [text.encode()[i : i + 255] for i in range(0, len(text.encode()), 255)],
                    )
                    for text in texts
                ]
                answer.answer.append(dns.rrset.from_rdata_list(question.name, 300, rdatas))
            self.sock.sendto(answer.to_wire(), peer)

    def stop(self) -> None:
        self._stopping = True
        # A datagram wakes the thread from recvfrom (closing the socket would not).
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", self.sock.getsockname())
        self.thread.join(timeout=10)
        self.sock.close()
