"""``mailer campaigns schedule|reschedule|unschedule``, ``mailer jobs ls`` and ``mailer run``."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from mailer.campaigns import actions
from mailer.cli import _audit
from mailer.cli._state import IdArgument, console, log_to_stderr, print_json, state
from mailer.cli.campaigns import app as campaigns_app
from mailer.cli.web import WorkersOption, start_workers
from mailer.exceptions import InputError
from mailer.scheduling.digests import next_run
from mailer.signals import set_from_handler
from mailer.storage.models import Campaign, CampaignStatus, Digest
from mailer.storage.types import utcnow

jobs_app = typer.Typer(no_args_is_help=True, help="What the scheduler will run.")

AtOption = Annotated[
    str, typer.Option("--at", help="When: 2026-12-01T09:00 (wall-clock time in --tz).")
]
TzOption = Annotated[
    str | None, typer.Option("--tz", help="The timezone of --at (default: the configured one).")
]


def register(app: typer.Typer) -> None:
    campaigns_app.command("schedule")(schedule)
    campaigns_app.command("reschedule")(reschedule)
    campaigns_app.command("unschedule")(unschedule)
    app.add_typer(jobs_app, name="jobs")
    app.command("run")(run)


def _now() -> datetime:
    """Now; ``MAILER_FAKE_NOW`` (an ISO time) moves it, for tests of what a scheduler does
    after a restart, without waiting for the clock."""
    fake = os.environ.get("MAILER_FAKE_NOW")
    if not fake:
        return utcnow()
    start = datetime.fromisoformat(fake)
    return start + (utcnow() - _STARTED)


_STARTED = utcnow()


def _schedule(
    ctx: typer.Context, campaign_id: int, at: str, tz: str | None, again: bool, local: bool
) -> None:
    cli = state(ctx)
    with cli.database.session() as session:
        done = actions.schedule(
            session, cli.settings, campaign_id, at, now=_now(), tz=tz, local_time=local, again=again
        )
        _audit.write(
            session,
            "campaign.schedule",
            f"campaign {campaign_id}",
            at=done.when.isoformat(),
            local_time=local,
        )
    due, when = done.campaign.scheduled_at, done.when
    assert due is not None
    if local:
        console.print(
            f"campaign {campaign_id} goes out at {when:%Y-%m-%d %H:%M} in each subscriber's "
            f"timezone, starting {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC; mailer run sends it"
        )
        return
    shown = due.astimezone(when.tzinfo)
    console.print(
        f"campaign {campaign_id} scheduled for {shown:%Y-%m-%d %H:%M %Z} "
        f"({due.astimezone(UTC):%Y-%m-%d %H:%M} UTC); mailer run sends it"
    )


LocalOption = Annotated[
    bool,
    typer.Option(
        "--local-time",
        help="Send at that wall-clock time in each subscriber's own timezone, in waves.",
    ),
]


def schedule(
    ctx: typer.Context,
    campaign_id: IdArgument,
    at: AtOption,
    tz: TzOption = None,
    local_time: LocalOption = False,
) -> None:
    """Send a draft campaign at a time (mailer run must be running then, or start within
    late_send_limit after it)."""
    _schedule(ctx, campaign_id, at, tz, again=False, local=local_time)


def reschedule(
    ctx: typer.Context,
    campaign_id: IdArgument,
    at: AtOption,
    tz: TzOption = None,
    local_time: LocalOption = False,
) -> None:
    """Move a scheduled or missed campaign to another time."""
    _schedule(ctx, campaign_id, at, tz, again=True, local=local_time)


def unschedule(ctx: typer.Context, campaign_id: IdArgument) -> None:
    """Take a scheduled campaign off the schedule (it becomes a draft again)."""
    with state(ctx).database.session() as session:
        actions.unschedule(session, campaign_id, now=_now())
        _audit.write(session, "campaign.unschedule", f"campaign {campaign_id}")
    console.print(f"campaign {campaign_id} is a draft again")


@jobs_app.command("ls")
def jobs_ls(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """What runs next, in local time and UTC."""
    cli = state(ctx)
    local_zone = cli.settings.zone
    with cli.database.session() as session:
        campaigns = session.execute(
            select(Campaign.id, Campaign.subject, Campaign.scheduled_at, Campaign.status)
            .where(Campaign.status.in_([CampaignStatus.SCHEDULED, CampaignStatus.MISSED]))
            .order_by(Campaign.scheduled_at)
        ).all()
    jobs: list[dict[str, Any]] = [
        {
            "job": f"campaign {cid}",
            "what": subject,
            "status": CampaignStatus(status).value,
            "next_run_utc": at.astimezone(UTC).isoformat() if at else None,
            "next_run_local": at.astimezone(local_zone).isoformat() if at else None,
        }
        for cid, subject, at, status in campaigns
    ]
    now = _now()
    with cli.database.session() as session:
        for digest in session.scalars(select(Digest).order_by(Digest.name)):
            upcoming = next_run(digest, now)
            jobs.append(
                {
                    "job": f"digest {digest.name}",
                    "what": f"{digest.feed} to {digest.mailing_list.name}",
                    "status": "paused" if digest.paused else digest.cron,
                    "next_run_utc": upcoming.astimezone(UTC).isoformat() if upcoming else None,
                    "next_run_local": upcoming.astimezone(local_zone).isoformat()
                    if upcoming
                    else None,
                }
            )
    jobs.sort(key=lambda job: job["next_run_utc"] or "~")
    if json_output:
        print_json(jobs)
        return
    if not jobs:
        console.print("nothing scheduled")
        return
    table = Table("job", "what", "status", f"next run ({local_zone.key})", "UTC")
    for job in jobs:
        table.add_row(
            job["job"],
            job["what"],
            job["status"],
            (job["next_run_local"] or "")[:16].replace("T", " "),
            (job["next_run_utc"] or "")[:16].replace("T", " "),
        )
    console.print(table)


def run(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Where the web app listens.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The web app's port (0: any free one).")] = 8000,
    web: Annotated[bool, typer.Option("--web/--no-web", help="Run the web app too.")] = True,
    workers: WorkersOption = 1,
    reconcile: Annotated[
        float, typer.Option(help="Seconds between looks at the campaigns table.")
    ] = 5.0,
) -> None:
    """The scheduler, the senders and the web app, until SIGTERM or Ctrl-C."""
    from mailer.scheduling.daemon import Daemon

    cli = state(ctx)
    log_to_stderr()
    # APScheduler logs every job it runs; one line per event of ours is enough.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    log = logging.getLogger("mailer")
    daemon = Daemon(cli.settings, cli.database, clock=_now, reconcile_seconds=reconcile)

    def ask(signum: int, frame: FrameType | None) -> None:
        if daemon.stop_event.is_set():
            return
        log.info("%s: finishing the batches in hand, then stopping", signal.Signals(signum).name)
        set_from_handler(daemon.stop_event)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, ask)
    daemon.start()  # takes the scheduler lock first: a second run stops here
    server = pool = None
    try:
        if web and workers > 1:
            # Uvicorn's own lines at warning, as with the web app in a thread.
            pool = start_workers(cli.config, host, port, workers, log_level="warning")
            log.info("web app on http://%s:%s (%d worker processes)", host, pool.port, workers)
            pool.watch(daemon.stop_event)
        elif web:
            server, thread = _start_web(cli, host, port)
        daemon.stop_event.wait()
    finally:
        if server is not None:
            server.should_exit = True
            thread.join(timeout=30)
        if pool is not None:
            pool.stop()
        daemon.stop()


def _start_web(cli: Any, host: str, port: int) -> tuple[Any, threading.Thread]:
    """The web app in a thread, on a socket bound here so that the log can say where."""
    from mailer.web.app import create_app
    from mailer.web.server import freeze_startup, web_server
    from mailer.web.workers import listen

    try:
        sock = listen(host, port)
    except OSError as err:
        raise InputError(f"the web app cannot listen on {host}:{port}: {err.strerror}") from None
    bound = sock.getsockname()[1]
    server = web_server(create_app(cli.settings, cli.database), host, bound, log_level="warning")
    freeze_startup()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="web")
    thread.start()
    logging.getLogger("mailer").info("web app on http://%s:%s", host, bound)
    return server, thread
