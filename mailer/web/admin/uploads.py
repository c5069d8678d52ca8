"""Where the admin keeps uploaded files: a folder of its own per import under the
project's ``var/imports`` (next to the database and the outbox), never in memory."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from starlette.datastructures import UploadFile

from mailer.settings import Settings

__all__ = ["CHUNK", "TooLargeUpload", "new_folder", "save_upload", "upload_root"]

CHUNK = 1024 * 1024


class TooLargeUpload(Exception):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"the file is larger than the {limit:,} bytes allowed")


def upload_root(settings: Settings) -> Path:
    return settings.base_dir / "var" / "imports"


def new_folder(settings: Settings) -> Path:
    """An empty folder of its own, named by a random id (which the job's URLs carry)."""
    folder = upload_root(settings) / secrets.token_urlsafe(12)
    folder.mkdir(parents=True)
    return folder


async def save_upload(upload: UploadFile, path: Path, limit: int) -> int:
    """Copy ``upload`` to ``path`` a chunk at a time; TooLargeUpload (and nothing kept)
    past ``limit`` bytes. Returns the size."""
    size = 0
    try:
        with path.open("wb") as handle:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLargeUpload(limit)
                handle.write(chunk)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return size
