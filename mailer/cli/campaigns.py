"""``mailer campaigns``: create, edit, inspect, test, send, pause, resume and cancel."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table
from sqlalchemy.orm import Session

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view, get_campaign, list_campaigns
from mailer.campaigns.sender import Progress as SendProgress
from mailer.campaigns.sender import SendOutcome
from mailer.campaigns.stats import campaign_stats
from mailer.cli import _audit
from mailer.cli._state import (
    CliState,
    IdArgument,
    JsonOption,
    console,
    err_console,
    print_json,
    state,
)
from mailer.cli.articles import EncodingOption, read_article
from mailer.delivery.message import Outcome
from mailer.exceptions import DatabaseUnavailable, InputError
from mailer.signals import set_from_handler
from mailer.storage.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from mailer.storage.retry import DatabaseRetry

app = typer.Typer(no_args_is_help=True, help="Campaigns: one article sent to lists.")


@app.command("create")
def create(
    ctx: typer.Context,
    article: Annotated[
        str, typer.Option(help="The article: a .md, .html or .txt file, a feed, or a URL.")
    ],
    list_names: Annotated[list[str], typer.Option("--list", "-l", help="A list (repeatable).")],
    subject: Annotated[
        str | None, typer.Option(help="The subject (default: the article's title).")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option(help="Only members matching, e.g. 'tag:donor and attr.country == \"DE\"'."),
    ] = None,
    from_address: Annotated[str | None, typer.Option("--from", help="The sender address.")] = None,
    from_name: Annotated[str | None, typer.Option(help="The sender's name.")] = None,
    reply_to: Annotated[str | None, typer.Option(help="The Reply-To address.")] = None,
    cta: Annotated[
        list[str] | None, typer.Option(help="A call-to-action by name (repeatable; 'none').")
    ] = None,
    template: Annotated[
        str | None, typer.Option(help="Another template than article.html.")
    ] = None,
    tracking: Annotated[
        bool | None,
        typer.Option(
            "--tracking/--no-tracking", help="Count opens and clicks (default: the setting)."
        ),
    ] = None,
    encoding: EncodingOption = None,
    json_output: JsonOption = False,
) -> None:
    """Render an article and store it as a new draft campaign; prints its id."""
    cli = state(ctx)
    loaded = read_article(article, encoding=encoding)  # says what a URL gave
    with cli.database.session() as session:
        campaign = actions.create(
            session,
            cli.settings,
            article=loaded,
            lists=list_names,
            subject=subject,
            segment=segment,
            from_address=from_address,
            from_name=from_name,
            reply_to=reply_to,
            ctas=cta,
            template=template,
            tracking=tracking,
            article_input=_input(article),
        )
        _audit_composed(session, "campaign.create", campaign)
        view = campaign_view(session, campaign.id)
    if json_output:
        print_json(view.as_dict())
    else:
        typer.echo(view.campaign.id)


def _audit_composed(session: Session, action: str, campaign: Campaign) -> None:
    """The entry of a campaign written or changed, with what the admin's entry says."""
    _audit.write(
        session,
        action,
        f"campaign {campaign.id}",
        subject=campaign.subject,
        lists=", ".join(m.name for m in campaign.lists),
        source=campaign.source,
    )


def _input(article: str) -> dict[str, str]:
    """The article as given, for the admin's edit page (which fills in a web address)."""
    if article.startswith(("https://", "http://")):
        return {"source": "url", "url": article}
    return {"source": "file", "path": article}


@app.command("edit")
def edit(
    ctx: typer.Context,
    campaign_id: IdArgument,
    article: Annotated[
        str | None,
        typer.Option(help="Another article: a .md, .html or .txt file, a feed, or a URL."),
    ] = None,
    list_names: Annotated[
        list[str] | None,
        typer.Option("--list", "-l", help="Its lists instead (repeatable).", show_default=False),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="Another subject ('' for the article's title).", show_default=False),
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Another segment ('' for everyone).", show_default=False)
    ] = None,
    cta: Annotated[
        list[str] | None,
        typer.Option(help="Its calls-to-action instead (repeatable; 'none').", show_default=False),
    ] = None,
    encoding: EncodingOption = None,
    json_output: JsonOption = False,
) -> None:
    """Change a draft and render it again; what is not given stays as it is.

    Without --article, the copy of the article stored when it was created is rendered
    again. Only a draft: a scheduled campaign is unscheduled first."""
    if all(v is None for v in (article, list_names, subject, segment, cta)):
        raise InputError(
            "campaigns edit: nothing to change; give --article, --list, --subject, "
            "--segment or --cta"
        )
    cli = state(ctx)
    with cli.database.session() as session:
        # A draft only, before a web address is read for nothing.
        actions.require_draft(get_campaign(session, campaign_id))
    loaded = read_article(article, encoding=encoding) if article is not None else None
    with cli.database.session() as session:
        edited = actions.edit(
            session,
            cli.settings,
            campaign_id,
            article=loaded,
            article_input=_input(article) if article is not None else None,
            subject=subject,
            lists=list_names,
            segment=segment,
            ctas=cta,
        )
        _audit_composed(session, "campaign.edit", edited)
        view = campaign_view(session, campaign_id)
    if json_output:
        print_json(view.as_dict())
    else:
        console.print(f"campaign {campaign_id} is changed: {escape(view.campaign.subject)}")


@app.command("ls")
def ls(
    ctx: typer.Context,
    status: Annotated[
        CampaignStatus | None, typer.Option(help="Only campaigns in this state.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Every campaign with its state and delivery counts."""
    with state(ctx).database.session() as session:
        views = list_campaigns(session, status=status)
    if json_output:
        print_json([v.as_dict() for v in views])
        return
    if not views:
        console.print("no campaigns yet: mailer campaigns create --article FILE --list NAME")
        return
    table = Table("id", "status", "subject", "lists", "sent", "failed", "pending", "created")
    for v in views:
        table.add_row(
            str(v.campaign.id),
            v.campaign.status.value,
            v.campaign.subject,
            ", ".join(m.name for m in v.campaign.lists),
            str(v.counts.get("sent", 0)),
            str(v.counts.get("failed", 0)),
            str(v.counts.get("pending", 0) + v.counts.get("sending", 0)),
            v.campaign.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, campaign_id: IdArgument, json_output: JsonOption = False) -> None:
    """A campaign's state, its deliveries by state, and the errors seen."""
    from sqlalchemy import func, select

    with state(ctx).database.session() as session:
        view = campaign_view(session, campaign_id)
        errors = session.execute(
            select(Delivery.status, Delivery.error, func.count())
            .where(Delivery.campaign_id == campaign_id, Delivery.error != "")
            .group_by(Delivery.status, Delivery.error)
            .order_by(func.count().desc())
            .limit(10)
        ).all()
        stats = campaign_stats(session, campaign_id)
    data = view.as_dict()
    data["errors"] = [
        {"status": DeliveryStatus(s).value, "error": e, "count": n} for s, e, n in errors
    ]
    data["stats"] = stats
    if json_output:
        print_json(data)
        return
    grid = Table.grid(padding=(0, 2))
    for key in ("id", "subject", "status", "status_reason", "lists", "segment", "from", "source",
                "created_at", "started_at", "finished_at"):  # fmt: skip
        value = data[key]
        if value:
            grid.add_row(
                key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value)
            )
    console.print(grid)
    table = Table("delivery", "count")
    for status_name, count in data["deliveries"].items():
        table.add_row(status_name, str(count))
    console.print(table)
    if data["deliveries"]["unknown"]:
        console.print(
            f"{data['deliveries']['unknown']} were in flight when a sender stopped and may or may "
            f"not have arrived: mailer campaigns resend-unknown {campaign_id} sends them again"
        )
    if errors:
        table = Table("status", "error", "count")
        for item in data["errors"]:
            table.add_row(item["status"], item["error"], str(item["count"]))
        console.print(table)
    _print_stats(stats)


def _print_stats(stats: dict[str, Any]) -> None:
    """What happened after sending: deliveries, opens, clicks, leaving."""
    table = Table("after sending", "count", "unique", "rate")
    rates = stats.get("rates", {})
    for key, rate in (
        ("delivered", None),
        ("bounced", "bounce"),
        ("opened", "open"),
        ("clicked", "click"),
        ("cta_clicks", None),
        ("unsubscribed", "unsubscribe"),
        ("complaints", None),
    ):
        value = stats.get(key, 0)
        total, unique = (
            (value["total"], str(value["unique"])) if isinstance(value, dict) else (value, "")
        )
        shown = f"{rates[rate]:.1%}" if rate and rates.get(rate) is not None else ""
        table.add_row(key.replace("_", " "), str(total), unique, shown)
    console.print(table)
    if stats.get("links"):
        links = Table("link", "call-to-action", "clicks", "unique")
        for link in stats["links"]:
            links.add_row(
                link["url"], link.get("cta") or "", str(link["total"]), str(link["unique"])
            )
        console.print(links)


@app.command("test")
def test(
    ctx: typer.Context,
    campaign_id: IdArgument,
    to: Annotated[list[str], typer.Option("--to", help="An address (repeatable).")],
) -> None:
    """Send the real email to a few addresses, with [TEST] before the subject."""
    cli = state(ctx)
    results = actions.send_test(cli.database, cli.settings, campaign_id, to)
    # After the sending, as the admin does: a test goes outside the ledger's transactions.
    with cli.database.session() as session:
        _audit.write(
            session,
            "campaign.test",
            f"campaign {campaign_id}",
            to=", ".join(a.strip() for a in to),
            sent=sum(r.outcome is Outcome.SENT for r in results),
        )
    for address, result in zip(to, results, strict=True):
        if result.outcome is Outcome.SENT:
            console.print(f"sent a test to {address.strip()}")
        elif result.outcome is Outcome.UNKNOWN:
            # The message went out whole and the server's answer was lost: look before
            # trying again.
            err_console.print(
                f"[yellow]may have reached {escape(address.strip())}:[/yellow] "
                f"{escape(result.error)}",
                markup=True,
            )
        else:
            err_console.print(
                f"[red]not sent to {escape(address.strip())}:[/red] {escape(result.error)}",
                markup=True,
            )
    if any(r.outcome is not Outcome.SENT for r in results):
        raise typer.Exit(1)


@app.command("send")
def send(ctx: typer.Context, campaign_id: IdArgument) -> None:
    """Send a draft or scheduled campaign now. Ctrl-C pauses it cleanly."""
    send_with_progress(state(ctx), campaign_id, resume=False)


@app.command("resume")
def resume(ctx: typer.Context, campaign_id: IdArgument) -> None:
    """Go on sending a paused or failed campaign, or one whose sender died."""
    send_with_progress(state(ctx), campaign_id, resume=True)


@app.command("pause")
def pause(ctx: typer.Context, campaign_id: IdArgument) -> None:
    """Pause a campaign being sent (its sender stops after the batch in hand)."""
    with state(ctx).database.session() as session:
        actions.pause(session, campaign_id, reason="paused by hand")
        _audit.write(session, "campaign.pause", f"campaign {campaign_id}")
    console.print(f"campaign {campaign_id} paused; mailer campaigns resume {campaign_id} goes on")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    campaign_id: IdArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Cancel a campaign for good: nothing more of it is sent."""
    if not yes:
        typer.confirm(f"cancel campaign {campaign_id}? It cannot be sent afterwards", abort=True)
    done = actions.cancel(
        state(ctx).database,
        campaign_id,
        reason="cancelled by hand",
        record=_audit.record("campaign.cancel", f"campaign {campaign_id}"),
    )
    console.print(
        f"campaign {campaign_id} cancelled; {done.skipped} pending messages will not be sent"
    )
    if done.unknown:
        console.print(
            f"{done.unknown} were in flight when its sender stopped: they show as unknown"
        )


@app.command("resend-unknown")
def resend_unknown(ctx: typer.Context, campaign_id: IdArgument) -> None:
    """Queue again the messages that were in flight when a sender died. Some of them
    may have arrived: their readers then get the campaign twice."""
    with state(ctx).database.session() as session:
        resent = actions.resend_unknown(session, campaign_id)
        _audit.write(
            session, "campaign.resend_unknown", f"campaign {campaign_id}", queued=resent.queued
        )
    then = (
        "the send under way takes them"
        if resent.campaign.status is CampaignStatus.SENDING
        else f"mailer campaigns resume {campaign_id} sends them"
    )
    console.print(f"{resent.queued} messages queued again; {then}")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C (or SIGTERM) asks the sender to stop after the batch in hand;
    a second one stops at once (what was in flight then shows as unknown)."""

    def ask(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        set_from_handler(stop)
        err_console.print("stopping after this batch (Ctrl-C again to stop at once)")

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def send_with_progress(cli: CliState, campaign_id: int, *, resume: bool) -> None:
    """Send (or resume) the campaign with a progress bar on the terminal; the exit
    status says how it ended."""
    with cli.database.session() as session:
        actions.check_startable(session, cli.settings, campaign_id, resume=resume)
    action = "campaign.resume" if resume else "campaign.send"
    record = _audit.record(action, f"campaign {campaign_id}")
    stop = threading.Event()
    with _progress_bar(campaign_id) as show:
        sender = actions.sender_for(
            cli.database, cli.settings, stop=stop, on_progress=show, on_wait=_waiting
        )
        try:
            with _stop_on_signals(stop):
                outcome = actions.send(sender, campaign_id, resume=resume, record=record)
        except DatabaseUnavailable as err:
            _database_lost(err, campaign_id, resume=resume)
        except KeyboardInterrupt:
            err_console.print(
                f"stopped at once: what was in flight shows as unknown; "
                f"mailer campaigns resume {campaign_id} goes on"
            )
            # At once means now: the batch threads would otherwise finish their batch.
            # The ledger holds nothing uncommitted; resume sorts out the rest.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
    _report(cli, outcome)


@contextmanager
def _progress_bar(campaign_id: int) -> Iterator[Callable[[SendProgress], None]]:
    """A bar on standard error (none when it is not a terminal); yields what to tell it."""
    # On a narrow terminal the counts, rate and ETA keep their width (up to ten million
    # recipients) and the outcomes are cut short instead.
    columns: list[Any] = [
        TextColumn(f"[bold]campaign {campaign_id}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=15)),
        TextColumn("{task.fields[rate]}", table_column=Column(no_wrap=True, min_width=8)),
        TimeRemainingColumn(table_column=Column(no_wrap=True, min_width=7)),
        TextColumn(
            "{task.fields[detail]}",
            table_column=Column(no_wrap=True, overflow="ellipsis", max_width=40),
        ),
    ]
    with Progress(*columns, console=err_console, disable=not err_console.is_terminal) as bar:
        task = bar.add_task("send", total=None, rate="", detail="")

        def show(progress: SendProgress) -> None:
            speed = bar.tasks[task].speed
            detail = ", ".join(f"{k} {v}" for k, v in sorted(progress.outcomes.items()))
            bar.update(
                task,
                total=progress.total,
                completed=progress.done,
                rate=f"{speed:,.0f}/s" if speed else "",
                detail=detail,
            )

        yield show


def _waiting(campaign_id: int, pending: int, seconds: float) -> None:
    err_console.print(
        f"campaign {campaign_id}: {pending} waiting to be retried (the server said "
        f"try later); the next try in {seconds:,.0f} s, Ctrl-C pauses"
    )


def _database_lost(err: DatabaseUnavailable, campaign_id: int, *, resume: bool) -> NoReturn:
    if err.campaign_id is None:  # lost before the campaign started
        verb = "resume" if resume else "send"
        then = (
            f"campaign {campaign_id} is as it was; once the database is back, "
            f"mailer campaigns {verb} {campaign_id} goes on"
        )
    else:
        then = (
            f"campaign {campaign_id} could not be paused and stays sending; once the "
            f"database is back, mailer campaigns resume {campaign_id} completes it"
        )
    err_console.print(f"[red]error:[/red] {escape(str(err))}: {then}", markup=True)
    raise typer.Exit(PAUSED_EXIT) from None


#: The exit status of ``send`` and ``resume`` when the campaign stopped paused (by
#: Ctrl-C, too many errors, a server or a database that could not be reached).
PAUSED_EXIT = 3
#: ... and when it was cancelled (from another shell) while it was being sent.
CANCELLED_EXIT = 4


def _report(cli: CliState, outcome: SendOutcome) -> None:
    def read() -> dict[str, int]:
        with cli.database.session() as session:
            return campaign_view(session, outcome.campaign_id).counts

    try:
        # Once: a database lost again just now costs the counts, not the report.
        stored = DatabaseRetry(0)(read)
    except DatabaseUnavailable:
        stored = {}
    counts = ", ".join(f"{k} {v}" for k, v in sorted(stored.items()) if v)
    console.print(
        f"campaign {outcome.campaign_id} is {outcome.status.value}: {counts or 'nothing to send'}"
    )
    if outcome.status is CampaignStatus.PAUSED:
        console.print(f"paused: {outcome.reason}")
        console.print(f"mailer campaigns resume {outcome.campaign_id} goes on")
        # Not done, and not an error either: scripts can tell it from both.
        raise typer.Exit(PAUSED_EXIT)
    elif outcome.status is CampaignStatus.FAILED:
        err_console.print(f"[red]failed:[/red] {escape(outcome.reason)}", markup=True)
        raise typer.Exit(1)
    elif outcome.status is CampaignStatus.CANCELLED:
        # Cancelled from another shell while this one sent: not sent, as scripts must see.
        raise typer.Exit(CANCELLED_EXIT)
