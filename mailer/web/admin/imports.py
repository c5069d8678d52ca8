"""``/admin/lists/{name}/import``: a CSV file uploaded, checked by a dry run, then
imported in the background with its progress live; the rejected rows to download."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, Response, StreamingResponse

from mailer.accounts.audit import audit
from mailer.exceptions import NotFound, StateError
from mailer.storage.accounts import Role
from mailer.subscribers.lists import get_list
from mailer.web.admin.auth import Admin, Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.import_jobs import REFUSED, ImportJob, ImportJobs, JobsDep
from mailer.web.admin.pages import PagesDep
from mailer.web.admin.uploads import TooLargeUpload, new_folder, save_upload
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

router = APIRouter()

#: How long a progress stream waits for the next batch before it says the same again
#: (a comment line keeps proxies from closing a quiet stream).
HEARTBEAT_SECONDS = 15.0
#: The encodings the form offers (a spreadsheet on Windows saves CSV as cp1252).
ENCODINGS = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows (Excel, Western European)",
    "latin-1": "ISO 8859-1 (Latin-1)",
    "utf-16": "UTF-16",
}
#: How long the upload's answer waits for the dry run before it shows its progress.
CHECK_WAIT_SECONDS = 10.0


def _upload_page(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    admin: Admin,
    name: str,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    with ctx.database.session() as session:
        mailing_list = get_list(session, name)
        title, double_opt_in = mailing_list.title, mailing_list.double_opt_in
    return pages.page(
        request,
        admin,
        "import.html",
        status_code=status_code,
        title=f"Import into {title}",
        list_name=name,
        double_opt_in=double_opt_in,
        limit=ctx.settings.max_import_bytes,
        encodings=ENCODINGS,
        can_import=admin.can(Role.ADMIN),
        problem=problem,
    )


@router.get("/lists/{name}/import")
def upload_page(
    name: str, request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer
) -> Response:
    return _upload_page(request, ctx, pages, admin, name)


@router.post("/lists/{name}/import")
async def upload(
    name: str,
    request: Request,
    ctx: WebDep,
    pages: PagesDep,
    jobs: JobsDep,
    admin: Viewer,
    form: Form,
) -> Response:
    try:
        admin.needs(Role.ADMIN, "Importing subscribers")
        return await _receive(request, ctx, pages, jobs, admin, name, form)
    finally:
        # The parsed upload is a temporary file of its own; it goes now, whatever happened.
        await form.close()


async def _receive(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    jobs: ImportJobs,
    admin: Admin,
    name: str,
    form: FormData,
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, ctx, pages, admin, name, "Choose a CSV file to import.", 422)
    encoding = field(form, "encoding", "utf-8-sig")
    if encoding not in ENCODINGS:
        return _upload_page(request, ctx, pages, admin, name, "Choose one of the encodings.", 422)
    await run_in_threadpool(_known_list, ctx, name)
    await run_in_threadpool(jobs.sweep)
    folder = new_folder(ctx.settings)
    job = ImportJob(
        id=folder.name,
        folder=folder,
        list_name=name,
        filename=upload.filename[-200:],
        owner=admin.email,
        encoding=encoding,
        confirmed=bool(field(form, "confirmed")),
        resubscribe=bool(field(form, "resubscribe")),
    )
    try:
        job.size = await save_upload(upload, job.path, ctx.settings.max_import_bytes)
    except TooLargeUpload as err:
        return pages.error(request.url.path, 413, "The file is too large", f"{err}.")
    jobs.check(jobs.add(job))
    # A small file is checked at once: its summary (or what is wrong with it) is the
    # next page. A large one goes on in the background, and its page shows how far.
    await run_in_threadpool(job.settle, CHECK_WAIT_SECONDS)
    if job.state == REFUSED:
        jobs.discard(job)
        return _upload_page(request, ctx, pages, admin, name, job.error, 422)
    return pages.redirect(f"/admin/lists/{name}/import/{job.id}")


def _known_list(ctx: WebContext, name: str) -> None:
    with ctx.database.session() as session:
        get_list(session, name)


@router.get("/lists/{name}/import/{job_id}")
def job_page(
    name: str, job_id: str, request: Request, pages: PagesDep, jobs: JobsDep, admin: Viewer
) -> Response:
    job = jobs.get(job_id, name)
    return pages.page(
        request,
        admin,
        "import_job.html",
        title=f"Import of {job.filename}",
        job=job,
        list_name=name,
        progress=job.progress(),
        can_import=admin.can(Role.ADMIN),
        has_rejected=job.rejected.is_file(),
    )


@router.post("/lists/{name}/import/{job_id}/start")
def start(
    name: str, job_id: str, pages: PagesDep, jobs: JobsDep, admin: Viewer, form: Form
) -> Response:
    admin.needs(Role.ADMIN, "Importing subscribers")
    job = jobs.get(job_id, name)
    if not job.path.is_file():
        raise NotFound("import file", job.filename, "it was imported already; upload it again")
    started = jobs.start(job, admin.email)
    notice = "The import has started." if started else "The import is already under way."
    return pages.redirect(f"/admin/lists/{name}/import/{job.id}", notice)


@router.get("/lists/{name}/import/{job_id}/progress")
def progress(
    name: str, job_id: str, jobs: JobsDep, admin: Viewer, once: bool = False
) -> StreamingResponse:
    """Server-sent events: the rows done of the total after every batch, until the job
    ends (or one event with ``?once=1``). No database session is held: the figures are
    the job's own."""
    job = jobs.get(job_id, name)

    def events() -> Iterator[str]:
        while True:
            # One snapshot decides both what is sent and whether it was the last: the
            # job may end between the two, and the last event must say it ended.
            now = job.progress()
            yield f"data: {json.dumps(now)}\n\n"
            if once or now["done"]:
                return
            job.wait(HEARTBEAT_SECONDS)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )


@router.get("/lists/{name}/import/{job_id}/rejected.csv")
def rejected(name: str, job_id: str, jobs: JobsDep, admin: Viewer) -> Response:
    job = jobs.get(job_id, name)
    if not job.rejected.is_file():
        raise NotFound("rejected rows", job.filename, "this import rejected none")
    return FileResponse(
        job.rejected,
        media_type="text/csv; charset=utf-8",
        filename=f"{job.filename.removesuffix('.csv')}.rejected.csv",
    )


@router.post("/lists/{name}/import/{job_id}/discard")
def discard(
    name: str,
    job_id: str,
    ctx: WebDep,
    pages: PagesDep,
    jobs: JobsDep,
    admin: Viewer,
    form: Form,
) -> Response:
    admin.needs(Role.ADMIN, "Discarding an import")
    job = jobs.get(job_id, name)
    if job.busy:
        raise StateError("the file is being read: discard it when the page says it is done")
    jobs.discard(job)
    with ctx.database.session() as session:
        audit(
            session,
            admin.email,
            "list.import_discard",
            f"list {name}",
            now=ctx.now(),
            file=job.filename,
        )
    return pages.redirect(f"/admin/lists/{name}", "The uploaded file is deleted.")
