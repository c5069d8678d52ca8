"""The API's request and response bodies (they make its OpenAPI description)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mailer.storage.models import CampaignStatus, SubscriptionStatus
from mailer.subscribers.lists import NAME_PATTERN, NAME_RULE, TITLE_MAX

__all__ = [
    "CampaignEditIn",
    "CampaignIn",
    "CampaignOut",
    "ErrorOut",
    "ImportOut",
    "ListIn",
    "ListOut",
    "MemberOut",
    "ScheduleIn",
    "StatsOut",
    "SubscriberIn",
    "SubscriberOut",
    "UnsubscribeIn",
    "UnsubscribeOut",
]

ListName = Annotated[str, Field(min_length=1, max_length=200)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str = Field(description="What is wrong, in one line.")


class ListIn(_In):
    # The rule is checked by create_list, which names it in its error; the pattern here
    # tells clients (and schemathesis) what a name looks like.
    name: ListName = Field(
        description=NAME_RULE.capitalize() + ".",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    title: str | None = Field(
        default=None, max_length=TITLE_MAX, description="What readers see; default: the name."
    )
    description: str = Field(default="", max_length=10_000)
    double_opt_in: bool = False


class ListOut(BaseModel):
    name: str
    title: str
    description: str
    double_opt_in: bool
    created_at: str
    confirmed: int
    unconfirmed: int
    unsubscribed: int


class MemberOut(BaseModel):
    email: str
    name: str
    status: SubscriptionStatus
    status_changed_at: str


class SubscriberIn(_In):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    email: str = Field(max_length=320)
    list_name: ListName = Field(alias="list")
    name: str | None = Field(default=None, max_length=300)
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    confirmed: bool = Field(
        default=False, description="The person confirmed elsewhere: no confirmation mail."
    )
    resubscribe: bool = Field(
        default=False,
        description="The person asked to come back: lifts an unsubscribe or a suppression.",
    )


class SubscriptionOut(BaseModel):
    list: str
    status: SubscriptionStatus
    status_changed_at: str
    status_source: str
    subscribed_at: str


class SubscriberOut(BaseModel):
    email: str
    name: str
    attributes: dict[str, Any]
    tags: list[str]
    timezone: str | None
    created_at: str
    updated_at: str
    subscriptions: list[SubscriptionOut]


class UnsubscribeIn(_In):
    list: ListName | None = Field(
        default=None, description="The list to leave; without one, every list (and suppress)."
    )


class UnsubscribeOut(BaseModel):
    left: list[str]


class ImportOut(BaseModel):
    list: str
    read: int
    imported: int
    updated: int
    unchanged: int
    duplicates: int
    skipped: dict[str, int]
    rejected: int
    rejected_rows: str = Field(description="The rejected rows as CSV, with line and reason.")


class CampaignIn(_In):
    content: str = Field(
        min_length=1, max_length=2_000_000, description="The article: Markdown, HTML or text."
    )
    format: Literal["markdown", "html", "text"] = "markdown"
    lists: list[ListName] = Field(min_length=1, max_length=50)
    subject: str | None = Field(default=None, max_length=998)
    segment: str | None = Field(default=None, max_length=10_000)
    from_address: str | None = Field(default=None, max_length=320)
    from_name: str | None = Field(default=None, max_length=300)
    reply_to: str | None = Field(default=None, max_length=320)
    ctas: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=20)
    template: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class CampaignEditIn(_In):
    """What ``mailer campaigns edit`` changes of a draft; what is left out stays as it is.
    Without ``content``, the article stored with the campaign is rendered again."""

    content: str | None = Field(
        default=None,
        min_length=1,
        max_length=2_000_000,
        description="Another article: Markdown, HTML or text.",
    )
    format: Literal["markdown", "html", "text"] = Field(
        default="markdown", description="The format of content."
    )
    lists: list[ListName] | None = Field(default=None, min_length=1, max_length=50)
    subject: str | None = Field(
        default=None,
        max_length=998,
        description="Another subject; an empty one: the article's title.",
    )
    segment: str | None = Field(
        default=None, max_length=10_000, description="Another segment; an empty one: everyone."
    )
    ctas: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None,
        max_length=20,
        description="Its calls-to-action instead; an empty list: the article's, the list's "
        "or the site's.",
    )


class CampaignOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    subject: str
    status: CampaignStatus
    status_reason: str
    lists: list[str]
    segment: str
    from_address: str = Field(alias="from")
    source: str
    created_at: str
    scheduled_at: str | None
    started_at: str | None
    finished_at: str | None
    deliveries: dict[str, int]


class ScheduleIn(_In):
    """What ``mailer campaigns schedule`` takes as ``--at``, ``--tz`` and ``--local-time``;
    a time without an offset needs ``tz`` or ``local_time`` here (no zone is assumed)."""

    at: str = Field(
        min_length=1,
        max_length=64,
        description="When to send: an ISO date and time with its UTC offset "
        "(2026-12-01T09:00:00+01:00), or without one, read in tz or, with local_time, "
        "in each subscriber's timezone.",
    )
    tz: str | None = Field(
        default=None, max_length=64, description="The IANA timezone of a time without an offset."
    )
    local_time: bool = Field(
        default=False,
        description="Send at that wall-clock time in each subscriber's own timezone, in waves.",
    )


class Counts(BaseModel):
    unique: int
    total: int


class CtaCounts(Counts):
    by_cta: dict[str, Counts]


class Rates(BaseModel):
    open: float
    click: float
    click_to_open: float
    bounce: float
    unsubscribe: float


class LinkStats(Counts):
    index: int | None
    url: str
    cta: str | None


class StatsOut(BaseModel):
    id: int
    subject: str
    status: CampaignStatus
    tracking: bool
    sent: int
    failed: int
    delivered: int
    deferred: int
    bounced: int
    soft_bounced: int
    dropped: int
    opened: Counts
    clicked: Counts
    cta_clicks: CtaCounts
    unsubscribed: int
    complaints: int
    rates: Rates
    links: list[LinkStats]
