"""``/api/lists``: lists, their members, and CSV imports into them."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from mailer.exceptions import InputError, PartialImport
from mailer.storage.models import Subscriber, Subscription, SubscriptionStatus
from mailer.subscribers.importer import ImportSummary, import_file, rejected_path
from mailer.subscribers.lists import create_list, delete_list, get_list, list_counts
from mailer.web.api import audit
from mailer.web.api.schemas import ImportOut, ListIn, ListOut, MemberOut
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

router = APIRouter(prefix="/lists", tags=["lists"])

ListPath = Annotated[str, Path(min_length=1, max_length=200)]
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "A CSV file: Mailchimp's or listmonk's export, or plain email[,name].",
    }
}


@router.get("")
def all_lists(ctx: WebDep) -> list[ListOut]:
    """Every list with its number of members per status."""
    with ctx.database.session() as session:
        return [ListOut.model_validate(c.as_dict()) for c in list_counts(session)]


@router.post("", status_code=201)
def new_list(body: ListIn, ctx: WebDep) -> ListOut:
    """Create a list."""
    with ctx.database.session() as session:
        created = create_list(
            session,
            body.name,
            title=body.title,
            description=body.description,
            double_opt_in=body.double_opt_in,
        )
        audit.write(session, ctx, "list.create", f"list {created.name}")
        (counts,) = list_counts(session, [created])
        return ListOut.model_validate(counts.as_dict())


@router.get("/{name}")
def one_list(name: ListPath, ctx: WebDep) -> ListOut:
    """One list with its counts."""
    with ctx.database.session() as session:
        (counts,) = list_counts(session, [get_list(session, name)])
        return ListOut.model_validate(counts.as_dict())


@router.delete("/{name}", status_code=204)
def remove_list(name: ListPath, ctx: WebDep) -> None:
    """Delete a list and its subscriptions (not the subscribers)."""
    with ctx.database.session() as session:
        gone = delete_list(session, name)
        audit.write(session, ctx, "list.delete", f"list {name}", subscriptions=gone)


@router.get("/{name}/subscribers")
def members(
    name: ListPath,
    ctx: WebDep,
    status: SubscriptionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[MemberOut]:
    """A list's members in address order, a page at a time."""
    with ctx.database.session() as session:
        query = (
            select(Subscriber, Subscription)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == get_list(session, name).id)
            .order_by(Subscriber.email_key)
            .offset(offset)
            .limit(limit)
        )
        if status is not None:
            query = query.where(Subscription.status == status)
        return [
            MemberOut(
                email=subscriber.email,
                name=subscriber.name,
                status=subscription.status,
                status_changed_at=subscription.status_changed_at.isoformat(),
            )
            for subscriber, subscription in session.execute(query)
        ]


@router.post("/{name}/import", openapi_extra=_CSV_BODY)
async def import_csv(
    name: ListPath,
    request: Request,
    ctx: WebDep,
    confirmed: bool = False,
    resubscribe: bool = False,
    encoding: Annotated[str, Query(min_length=1, max_length=40)] = "utf-8-sig",
) -> ImportOut:
    """Import a CSV file into the list, by the same rules as ``mailer subscribers
    import`` (see the README); the body is the file. Rejected rows come back as CSV."""
    with tempfile.TemporaryDirectory(prefix="mailer-import-") as folder:
        path = FilePath(folder) / "import.csv"
        with path.open("wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
        return await run_in_threadpool(_import, ctx, path, name, confirmed, resubscribe, encoding)


def _import(
    ctx: WebContext, path: FilePath, name: str, confirmed: bool, resubscribe: bool, encoding: str
) -> ImportOut:
    try:
        "".encode(encoding)
    except (LookupError, ValueError):
        raise InputError(f"unknown encoding {encoding!r}") from None
    with ctx.database.session() as session:
        get_list(session, name)  # an unknown list is a 404 before anything is read
    try:
        summary = import_file(
            ctx.database,
            path,
            name,
            confirmed=confirmed,
            resubscribe=resubscribe,
            encoding=encoding,
            now=ctx.now(),
        )
    except PartialImport as err:
        if isinstance(err.summary, ImportSummary):
            _audit_import(ctx, err.summary, failed=True)
        raise
    except UnicodeError as err:
        # Codecs such as idna fail with a bare UnicodeError that the importer does not
        # expect from a file; it is still the file's (or the encoding's) fault.
        raise InputError(f"cannot read the file as {encoding}: {err}") from None
    _audit_import(ctx, summary, failed=False)
    rejected = rejected_path(path)
    rows = rejected.read_text(encoding="utf-8") if rejected.is_file() else ""
    return ImportOut(
        list=summary.list,
        read=summary.read,
        imported=summary.imported,
        updated=summary.updated,
        unchanged=summary.unchanged,
        duplicates=summary.duplicates,
        skipped=summary.skipped,
        rejected=summary.rejected,
        rejected_rows=rows,
    )


def _audit_import(ctx: WebContext, summary: ImportSummary, *, failed: bool) -> None:
    """The import's entry, after it, as the admin writes its own: an import commits batch
    by batch, so no one transaction holds it."""
    with ctx.database.session() as session:
        audit.write(
            session,
            ctx,
            "list.import_failed" if failed else "list.import",
            f"list {summary.list}",
            read=summary.read,
            imported=summary.imported,
            updated=summary.updated,
            rejected=summary.rejected,
        )
