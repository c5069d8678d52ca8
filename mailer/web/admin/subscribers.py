"""``/admin/subscribers``: the search with its filters, a page at a time by keyset
(mailer.subscribers.search), and one subscriber's page: edit, unsubscribe, forget and
export their data (the same functions as ``mailer subscribers``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import Response

from mailer.accounts.audit import audit
from mailer.exceptions import InputError
from mailer.storage.accounts import Role
from mailer.storage.models import MailingList, SubscriptionStatus
from mailer.subscribers.detail import edit_subscriber, get_subscriber, subscriber_detail
from mailer.subscribers.privacy import export_data, forget
from mailer.subscribers.search import SUPPRESSED, search_subscribers
from mailer.subscribers.subscriptions import parse_attribute, unsubscribe
from mailer.web.admin.auth import Admin, Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50
STATUSES = [*(s.value for s in SubscriptionStatus), SUPPRESSED]


@router.get("/subscribers")
def search_page(
    request: Request,
    ctx: WebDep,
    pages: PagesDep,
    admin: Viewer,
    q: str = "",
    list_name: Annotated[str, Query(alias="list")] = "",
    status: str = "",
    tag: str = "",
    after: str = "",
    before: str = "",
) -> Response:
    filters = {"q": q.strip(), "list": list_name, "status": status, "tag": tag.strip()}
    with ctx.database.session() as session:
        names = session.scalars(select(MailingList.name).order_by(MailingList.name)).all()
        found = search_subscribers(
            session,
            query=filters["q"],
            list_name=list_name or None,
            status=status or None,
            tag=filters["tag"] or None,
            after=after or None,
            before=before or None,
            limit=PAGE_SIZE,
        )
    return pages.page(
        request,
        admin,
        "subscribers.html",
        title="Subscribers",
        found=found,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
        list_names=names,
        statuses=STATUSES,
    )


def _subscriber_page(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    admin: Admin,
    subscriber_id: int,
    status_code: int = 200,
    problem: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    with ctx.database.session() as session:
        detail = subscriber_detail(session, subscriber_id)
    shown = {
        "name": detail.name,
        "tags": ", ".join(detail.tags),
        "timezone": detail.timezone or "",
        "attributes": _attributes_text(detail.attributes),
        **(values or {}),
    }
    return pages.page(
        request,
        admin,
        "subscriber.html",
        status_code=status_code,
        title=detail.email,
        person=detail,
        values=shown,
        problem=problem,
        can_edit=admin.can(Role.EDITOR),
        can_manage=admin.can(Role.ADMIN),
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(
    subscriber_id: int, request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer
) -> Response:
    return _subscriber_page(request, ctx, pages, admin, subscriber_id)


def _attributes_text(attributes: dict[str, Any]) -> str:
    """One ``key=value`` a line, as ``parse_attribute`` reads them back (text as it is,
    anything else as JSON)."""
    return "\n".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in attributes.items()
    )


def _attributes(text: str) -> dict[str, Any]:
    return dict(parse_attribute(line) for line in text.splitlines() if line.strip())


@router.post("/subscribers/{subscriber_id}")
def edit(
    subscriber_id: int, request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form
) -> Response:
    admin.needs(Role.EDITOR, "Editing a subscriber")
    values = {key: field(form, key) for key in ("name", "tags", "timezone", "attributes")}
    try:
        with ctx.database.session() as session:
            edited = edit_subscriber(
                session,
                subscriber_id,
                name=values["name"],
                tags=values["tags"].split(","),
                attributes=_attributes(values["attributes"]),
                timezone=values["timezone"],
            )
            audit(session, admin.email, "subscriber.edit", f"subscriber {edited.id}", now=ctx.now())
    except InputError as err:
        return _subscriber_page(
            request, ctx, pages, admin, subscriber_id, 422, problem=str(err), values=values
        )
    return pages.redirect(f"/admin/subscribers/{subscriber_id}", "Saved.")


@router.post("/subscribers/{subscriber_id}/unsubscribe")
def leave(subscriber_id: int, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    """From one list (``list``), or from every list, which also suppresses the address."""
    admin.needs(Role.EDITOR, "Unsubscribing someone")
    list_name = field(form, "list") or None
    now = ctx.now()
    with ctx.database.session() as session:
        email = get_subscriber(session, subscriber_id).email
        left = unsubscribe(session, email, list_name, source="admin", now=now)
        audit(
            session,
            admin.email,
            "subscriber.unsubscribe",
            f"subscriber {subscriber_id}",
            now=now,
            lists=left,
            every_list=list_name is None,
        )
    if list_name is None:
        notice = "Unsubscribed from every list; the address is suppressed."
    else:
        notice = f"Unsubscribed from {list_name}." if left else f"Had already left {list_name}."
    return pages.redirect(f"/admin/subscribers/{subscriber_id}", notice)


@router.post("/subscribers/{subscriber_id}/forget")
def erase(subscriber_id: int, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    """GDPR erasure: only the address's hash stays, on the suppression list."""
    admin.needs(Role.ADMIN, "Forgetting a subscriber")
    now = ctx.now()
    with ctx.database.session() as session:
        email = get_subscriber(session, subscriber_id).email
        if field(form, "confirm").lower() != email.lower():
            raise InputError("type the subscriber's address exactly to forget them")
        forget(session, email, source="admin", now=now)
        # The entry names the id only: writing the address down would keep what was erased.
        audit(session, admin.email, "subscriber.forget", f"subscriber {subscriber_id}", now=now)
    return pages.redirect("/admin/subscribers", f"Subscriber {subscriber_id} is forgotten.")


@router.get("/subscribers/{subscriber_id}/data.json")
def data(subscriber_id: int, ctx: WebDep, admin: Viewer) -> Response:
    """Everything stored about them, as ``mailer subscribers export-data`` gives it."""
    with ctx.database.session() as session:
        exported = export_data(session, get_subscriber(session, subscriber_id).email)
    return Response(
        json.dumps(exported, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="subscriber-{subscriber_id}.json"',
            "cache-control": "no-store",
        },
    )
