"""The admin's CSV imports as jobs: an uploaded file checked by a dry run, then
imported, each in a thread of its own while a page follows its progress (a million rows
take a while either way; no request waits for them).

A job is a folder under ``var/imports`` (see uploads): the file, ``job.json`` with what
the job is, and after the import the rejected rows. The import is the importer's, in
committed batches and idempotent, so a job that failed (or a server that stopped in the
middle) is completed by importing the same file again.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from mailer.accounts.audit import audit
from mailer.exceptions import MailerError, NotFound, PartialImport
from mailer.storage.database import Database
from mailer.subscribers.importer import ImportSummary, import_file, rejected_path
from mailer.web.admin.uploads import upload_root

__all__ = [
    "CHECKING",
    "DONE",
    "FAILED",
    "REFUSED",
    "RUNNING",
    "UPLOADED",
    "ImportJob",
    "ImportJobs",
    "JobsDep",
    "import_jobs",
]

# A job is checked (the dry run), then waits as "uploaded" for someone to import it;
# a file the dry run cannot read is "refused".
CHECKING, REFUSED = "checking", "refused"
UPLOADED, RUNNING, DONE, FAILED = "uploaded", "running", "done", "failed"
_BUSY = (CHECKING, RUNNING)
#: An upload nobody imported or discarded goes after this long.
KEEP = timedelta(days=7)
_FILE = "import.csv"
_META = "job.json"


@dataclass
class ImportJob:
    id: str
    folder: Path
    list_name: str
    filename: str
    owner: str
    uploaded_at: str = ""  # ISO 8601, by the app's clock
    size: int = 0
    encoding: str = "utf-8-sig"
    confirmed: bool = False
    resubscribe: bool = False
    state: str = CHECKING
    dry_run: dict[str, Any] = field(default_factory=dict)  # the dry run's summary
    summary: dict[str, Any] = field(default_factory=dict)  # the import's (so far)
    error: str = ""
    checked_bytes: int = 0  # how far the dry run has read
    # Set whenever the job moves on, so that a progress stream wakes without polling.
    changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def path(self) -> Path:
        return self.folder / _FILE

    @property
    def rejected(self) -> Path:
        return rejected_path(self.path)

    @property
    def total(self) -> int:
        return int(self.dry_run.get("read", 0))

    @property
    def done(self) -> int:
        return int(self.summary.get("read", 0))

    @property
    def busy(self) -> bool:
        return self.state in _BUSY

    def progress(self) -> dict[str, Any]:
        """What the progress bar and its figures show (one server-sent event): the bytes
        checked of the file's while the dry run reads, then the rows done of its rows."""
        checking = self.state == CHECKING
        done, total = (self.checked_bytes, self.size) if checking else (self.done, self.total)
        return {
            "state": self.state,
            "progress": done,
            "progress_max": max(total, 1),
            "percent": f"{100 * done / total:.0f} %" if total else "0 %",
            "done_rows": self.done,
            "total_rows": self.total,
            "imported": self.summary.get("imported", 0),
            "updated": self.summary.get("updated", 0),
            "rejected": self.summary.get("rejected", 0),
            "done": not self.busy,
        }

    def wait(self, timeout: float) -> None:
        """Until the job moves on (or ``timeout`` seconds, or at once if it is idle)."""
        with self.changed:
            if self.busy:
                self.changed.wait(timeout)

    def settle(self, timeout: float) -> None:
        """Until the job is idle again (or ``timeout`` seconds)."""
        with self.changed:
            self.changed.wait_for(lambda: not self.busy, timeout)

    def _moved(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def save(self) -> None:
        meta = {
            "list_name": self.list_name,
            "filename": self.filename,
            "owner": self.owner,
            "uploaded_at": self.uploaded_at,
            "size": self.size,
            "encoding": self.encoding,
            "confirmed": self.confirmed,
            "resubscribe": self.resubscribe,
            # A job busy when the server stopped: imported again, or checked again.
            "state": {RUNNING: UPLOADED, CHECKING: REFUSED}.get(self.state, self.state),
            "dry_run": self.dry_run,
            "summary": self.summary,
            "error": self.error
            or ("the server stopped while it checked the file" if self.state == CHECKING else ""),
        }
        (self.folder / _META).write_text(json.dumps(meta), encoding="utf-8")


def _load(folder: Path) -> ImportJob | None:
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ImportJob(id=folder.name, folder=folder, **meta)


class ImportJobs:
    """The jobs of one app, by id; those on disk are found again after a restart."""

    def __init__(self, root: Path, database: Database, clock: Callable[[], datetime]):
        self.root = root
        self.database = database
        self.clock = clock
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def add(self, job: ImportJob) -> ImportJob:
        job.uploaded_at = self.clock().isoformat()
        job.save()
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str, list_name: str) -> ImportJob:
        with self._lock:
            job = self._jobs.get(job_id)
            folder = self.root / job_id
            if job is None and job_id.replace("-", "").replace("_", "").isalnum():
                job = _load(folder) if folder.is_dir() else None
                if job is not None:
                    self._jobs[job_id] = job
        if job is None or job.list_name != list_name:
            raise NotFound("import", job_id, "it was discarded, or never uploaded")
        return job

    def check(self, job: ImportJob) -> None:
        """Start the dry run: check and count the file as the import would, storing
        nothing."""
        threading.Thread(
            target=self._check, args=(job,), name=f"check-{job.id}", daemon=True
        ).start()

    def _check(self, job: ImportJob) -> None:
        def read(done: int) -> None:
            job.checked_bytes = done
            job._moved()

        try:
            summary = import_file(
                self.database,
                job.path,
                job.list_name,
                confirmed=job.confirmed,
                resubscribe=job.resubscribe,
                dry_run=True,
                encoding=job.encoding,
                progress=read,
                now=self.clock(),
            )
            job.dry_run, state = summary.as_dict(), UPLOADED
        except (MailerError, OSError, UnicodeError) as err:
            job.error, state = str(err), REFUSED
            job.path.unlink(missing_ok=True)
        job.state = state
        job.save()
        job._moved()

    def start(self, job: ImportJob, by: str) -> bool:
        """Start importing in a thread; False if it is already running or done."""
        with self._lock:
            if job.state not in (UPLOADED, FAILED):
                return False
            job.state, job.error, job.summary = RUNNING, "", {}
        job.save()
        with self.database.session() as session:
            audit(
                session,
                by,
                "list.import_start",
                f"list {job.list_name}",
                now=self.clock(),
                file=job.filename,
                rows=job.total,
            )
        threading.Thread(
            target=self._run, args=(job, by), name=f"import-{job.id}", daemon=True
        ).start()
        return True

    def _run(self, job: ImportJob, by: str) -> None:
        def batch_done(summary: ImportSummary) -> None:
            job.summary = summary.as_dict()
            job._moved()

        state = DONE
        try:
            summary = import_file(
                self.database,
                job.path,
                job.list_name,
                confirmed=job.confirmed,
                resubscribe=job.resubscribe,
                encoding=job.encoding,
                on_batch=batch_done,
                now=self.clock(),
            )
            job.summary = summary.as_dict()
        except PartialImport as err:
            if isinstance(err.summary, ImportSummary):
                job.summary = err.summary.as_dict()
            state, job.error = FAILED, str(err)
        except (MailerError, OSError) as err:
            state, job.error = FAILED, str(err)
        # Audited and tidied before the job says it ended, so that whoever waits for
        # the end finds all of it done.
        self._audit(job, state, by)
        if state == DONE:
            # The upload itself is no longer needed; the rejected rows stay to download.
            job.path.unlink(missing_ok=True)
        job.state = state
        job.save()
        job._moved()

    def _audit(self, job: ImportJob, state: str, by: str) -> None:
        counts = {k: job.summary.get(k, 0) for k in ("read", "imported", "updated", "rejected")}
        with self.database.session() as session:
            audit(
                session,
                by,
                "list.import" if state == DONE else "list.import_failed",
                f"list {job.list_name}",
                now=self.clock(),
                file=job.filename,
                **counts,
            )

    def sweep(self) -> int:
        """Remove the jobs uploaded more than KEEP ago (never one that is running), and
        folders an upload that failed half way left without a job; returns how many."""
        if not self.root.is_dir():
            return 0
        cutoff = (self.clock() - KEEP).isoformat()
        gone = 0
        for folder in self.root.iterdir():
            job = self._jobs.get(folder.name) or _load(folder)
            if job is not None:
                stale = not job.busy and job.uploaded_at < cutoff
            else:
                # No job.json yet may be an upload under way: by the file's own age.
                stale = time.time() - folder.stat().st_mtime > KEEP.total_seconds()
            if stale:
                with self._lock:
                    self._jobs.pop(folder.name, None)
                shutil.rmtree(folder, ignore_errors=True)
                gone += 1
        return gone

    def discard(self, job: ImportJob) -> None:
        if job.busy:
            return
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)


_CREATE = threading.Lock()


def import_jobs(request: Request) -> ImportJobs:
    """The app's jobs, made on first use from its settings, database and clock."""
    state = request.app.state
    with _CREATE:
        jobs = getattr(state, "import_jobs", None)
        if jobs is None:
            web = state.web
            jobs = state.import_jobs = ImportJobs(
                upload_root(web.settings), web.database, web.clock
            )
    assert isinstance(jobs, ImportJobs)
    return jobs


JobsDep = Annotated[ImportJobs, Depends(import_jobs)]
