from __future__ import annotations

import os
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import cast

import pytest

from mailer.delivery.backends import get_backend
from mailer.delivery.message import Batch, Outcome
from mailer.delivery.outbox import OutboxBackend, outbox_path
from mailer.exceptions import BackendError
from tests.support.config import make_settings
from tests.support.messages import make_batch, make_content, make_recipient


def read(path: Path) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(path.read_bytes()))


def test_each_message_is_an_eml_file_that_parses_back(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "outbox"
    results = OutboxBackend(folder).send_batch(make_batch(3))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    assert [r.provider_message_id for r in results] == [f"<d{n}@example.org>" for n in range(3)]
    assert sorted(p.name for p in folder.iterdir()) == ["d0.eml", "d1.eml", "d2.eml"]
    message = read(folder / "d2.eml")
    assert message["To"] == "Reader 2 <reader2@example.com>"
    assert message["Subject"] == "The week, Reader2"
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",))
    assert html is not None
    assert "Hello Reader2" in str(cast(EmailMessage, html).get_content())


def test_a_non_ascii_address_is_written_as_rfc_6532_utf8(tmp_path: Path) -> None:
    batch = make_batch(1)
    batch.recipients[0] = make_recipient(0, email="j\u00fcrgen@example.com")
    OutboxBackend(tmp_path).send_batch(batch)
    data = (tmp_path / "d0.eml").read_bytes()
    assert b"\r\nTo: Reader 0 <j\xc3\xbcrgen@example.com>\r\n" in data
    # Every other line stays ASCII: the parts are quoted-printable.
    assert [line for line in data.split(b"\r\n") if not line.isascii()] == [
        b"To: Reader 0 <j\xc3\xbcrgen@example.com>"
    ]


def test_the_backend_from_settings_writes_to_outbox_dir(tmp_path: Path) -> None:
    backend = get_backend(make_settings(tmp_path, outbox_dir="mail/out"))
    assert isinstance(backend, OutboxBackend)
    with backend:
        backend.send_batch(make_batch(1))
    assert (tmp_path / "mail" / "out" / "d0.eml").is_file()


def test_sending_a_delivery_again_replaces_its_file(tmp_path: Path) -> None:
    backend = OutboxBackend(tmp_path, fsync=False)
    backend.send_batch(make_batch(1))
    backend.send_batch(Batch(make_content(subject="Second"), [make_recipient(0)]))
    assert [p.name for p in tmp_path.iterdir()] == ["d0.eml"]
    assert read(tmp_path / "d0.eml")["Subject"] == "Second"


def test_a_failed_write_leaves_no_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = OutboxBackend(tmp_path)

    def crash(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(2))
    assert caught.value.retryable
    assert "No space left" in str(caught.value)
    assert caught.value.results == []
    assert list(tmp_path.iterdir()) == []


def test_a_failure_part_way_keeps_the_results_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = OutboxBackend(tmp_path)
    calls = []
    real_replace = os.replace

    def replace_twice(source: str, target: Path) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(30, "Read-only file system")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_twice)
    with pytest.raises(BackendError) as caught:
        backend.send_batch(make_batch(4))
    assert [r.delivery_id for r in caught.value.results] == ["d0", "d1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d0.eml", "d1.eml"]


def test_a_recipient_whose_message_cannot_be_built_fails_alone(tmp_path: Path) -> None:
    batch = Batch(
        make_content(),
        [make_recipient(0), make_recipient(1, name="Ann\r\nBcc: x@example.com"), make_recipient(2)],
    )
    results = OutboxBackend(tmp_path).send_batch(batch)
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.FAILED, Outcome.SENT]
    assert "line break" in results[1].error
    assert not results[1].bounce
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d0.eml", "d2.eml"]


@pytest.mark.parametrize(
    ("delivery_id", "name"),
    [("d-1", "d-1.eml"), ("a/b", "a%2Fb.eml"), ("..", "%2E..eml"), (".x", "%2Ex.eml")],
)
def test_file_names_stay_inside_the_folder(delivery_id: str, name: str) -> None:
    assert outbox_path(Path("/o"), delivery_id) == Path("/o") / name
