"""``/admin/lists``: the lists with their counts; creating, editing, deleting and
exporting one (the same rules as ``mailer lists``, from mailer.subscribers.lists)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.responses import FileResponse, Response

from mailer.accounts.audit import audit
from mailer.exceptions import InputError, MailerError
from mailer.rendering.ctas import choose_ctas
from mailer.storage.accounts import Role
from mailer.subscribers.export import export_list
from mailer.subscribers.lists import (
    create_list,
    delete_list,
    edit_list,
    get_list,
    list_counts,
)
from mailer.web.admin.auth import Admin, Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import PagesDep
from mailer.web.admin.uploads import upload_root
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

router = APIRouter()


def _chosen_cta(ctx: WebContext, form: FormData) -> list[str]:
    """The ticked calls-to-action, each one configured (the renderer's own check)."""
    names = [n for n in form.getlist("cta") if isinstance(n, str)]
    return choose_ctas(ctx.settings, requested=names, article=None, list_default=None)


def _lists_page(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    admin: Admin,
    status_code: int = 200,
    **context: Any,
) -> Response:
    with ctx.database.session() as session:
        counts = list_counts(session)
    context.setdefault("problem", "")
    context.setdefault("values", {})
    return pages.page(
        request,
        admin,
        "lists.html",
        status_code=status_code,
        title="Lists",
        lists=counts,
        ctas=sorted(ctx.settings.cta),
        can_create=admin.can(Role.ADMIN),
        **context,
    )


@router.get("/lists")
def lists_page(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    return _lists_page(request, ctx, pages, admin)


def _typed(form: FormData) -> dict[str, Any]:
    """A list form's fields as typed: what the list is made or edited with, and what a
    refused form shows again."""
    return {
        "title": field(form, "title"),
        "description": field(form, "description"),
        "double_opt_in": bool(field(form, "double_opt_in")),
        "timezone": field(form, "timezone"),
        "cta": [n for n in form.getlist("cta") if isinstance(n, str)],
    }


@router.post("/lists")
def create(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    admin.needs(Role.ADMIN, "Creating a list")
    name = field(form, "name")
    values = {"name": name, **_typed(form)}
    try:
        with ctx.database.session() as session:
            created = create_list(
                session,
                name,
                title=values["title"] or None,
                description=values["description"],
                double_opt_in=values["double_opt_in"],
                timezone=values["timezone"] or None,
                default_cta=_chosen_cta(ctx, form),
            )
            audit(session, admin.email, "list.create", f"list {created.name}", now=ctx.now())
    except MailerError as err:
        # The form again, with what was typed and what is wrong (a name taken too).
        return _lists_page(request, ctx, pages, admin, 422, problem=str(err), values=values)
    return pages.redirect(f"/admin/lists/{created.name}", f"Created the list {created.name}.")


def _list_page(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    admin: Admin,
    name: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    with ctx.database.session() as session:
        (counts,) = list_counts(session, [get_list(session, name)])
    context.setdefault("problem", "")
    context.setdefault("values", {})
    return pages.page(
        request,
        admin,
        "list.html",
        status_code=status_code,
        title=counts.list.title,
        counts=counts,
        ctas=sorted(ctx.settings.cta),
        can_edit=admin.can(Role.EDITOR),
        can_manage=admin.can(Role.ADMIN),
        **context,
    )


@router.get("/lists/{name}")
def list_page(name: str, request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    return _list_page(request, ctx, pages, admin, name)


@router.post("/lists/{name}")
def edit(
    name: str, request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form
) -> Response:
    admin.needs(Role.EDITOR, "Editing a list")
    values = _typed(form)
    try:
        with ctx.database.session() as session:
            edited = edit_list(
                session,
                name,
                title=values["title"],
                description=values["description"],
                double_opt_in=values["double_opt_in"],
                timezone=values["timezone"],
                default_cta=_chosen_cta(ctx, form),
            )
            audit(
                session,
                admin.email,
                "list.edit",
                f"list {edited.name}",
                now=ctx.now(),
                title=edited.title,
                double_opt_in=edited.double_opt_in,
            )
    except InputError as err:
        return _list_page(request, ctx, pages, admin, name, 422, problem=str(err), values=values)
    return pages.redirect(f"/admin/lists/{name}", f"Saved the list {name}.")


@router.post("/lists/{name}/delete")
def delete(name: str, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    admin.needs(Role.ADMIN, "Deleting a list")
    if field(form, "confirm") != name:
        raise InputError(f"type the list's name ({name}) to delete it")
    with ctx.database.session() as session:
        gone = delete_list(session, name)
        audit(
            session, admin.email, "list.delete", f"list {name}", now=ctx.now(), subscriptions=gone
        )
    return pages.redirect("/admin/lists", f"Deleted the list {name} ({gone:,} subscriptions).")


@router.get("/lists/{name}/export.csv")
def export(name: str, ctx: WebDep, admin: Viewer) -> Response:
    # Written to a file first, then streamed from it: a million rows never sit in
    # memory, and no database session stays open while the browser downloads.
    folder = upload_root(ctx.settings)
    folder.mkdir(parents=True, exist_ok=True)
    handle, named = tempfile.mkstemp(prefix="export-", suffix=".csv", dir=folder)
    path = Path(named)
    try:
        with open(handle, "wb"), ctx.database.session() as session:
            get_list(session, name)
            export_list(session, name, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"{name}-{ctx.now():%Y-%m-%d}.csv",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
