"""Settings: ``mailer.toml`` (or the file named by ``--config`` / ``MAILER_CONFIG``),
overridden key by key by environment variables ``MAILER_<KEY>`` (pydantic-settings).

Relative paths in the file (the SQLite database, the outbox) are resolved against the
folder the file is in, so a project folder can be moved as a whole.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mailer.exceptions import ConfigError

if TYPE_CHECKING:
    from mailer.addresses import Mailbox

__all__ = ["CONFIG_FILENAME", "CtaSettings", "Settings", "find_config", "load_settings"]

CONFIG_FILENAME = "mailer.toml"
ENV_PREFIX = "MAILER_"

Backend = Literal["outbox", "smtp", "sendgrid", "memory"]

_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_CTA_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class CtaSettings(BaseModel):
    """A named call-to-action (``[cta.NAME]`` in mailer.toml), such as a donation box.

    Each field's description is what the commented mailer.toml and the README say of it
    (``mailer.settings.template`` renders both)."""

    model_config = ConfigDict(extra="forbid")

    heading: str = Field(default="", description="The box's heading.")
    text: str = Field(default="", description="A line or two under the heading.")
    button_label: str = Field(description="The main button's label.")
    url: str = Field(
        description="Where the buttons lead (an absolute `https://` URL), such as your "
        "donation page."
    )
    amounts: list[PositiveFloat] = Field(
        default=[],
        description="Amounts, each a button of its own, linking to `url?amount=10` "
        "(the parameter named by `amount_param`); none: only the main button.",
    )
    amount_param: str = Field(
        default="amount", description="The query parameter that carries an amount."
    )
    currency: str = Field(
        default="$",
        description="Written before each amount (`$10`), or after it when it is a word (`10 EUR`).",
    )
    gifts: list[str] = Field(
        default=[],
        description="What gifts pay for, one line each, listed in the box.",
        examples=[["$5 pays for an hour of fact-checking", "$25 a day in court"]],
    )
    placement: Literal["top", "bottom"] | PositiveInt = Field(
        default="bottom",
        description="Where the box goes: `top`, `bottom`, or after paragraph N of the "
        "article (item N of a digest), like 3.",
    )
    button_color: str = Field(
        default="#b3261e",
        description="The buttons' colour (hex: named and rgb() colours are not understood "
        "by every email client).",
    )
    background_color: str = Field(default="#f6f1e7", description="The box's background (hex).")
    text_color: str = Field(default="#1f1f1f", description="The box's text colour (hex).")

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
            raise ValueError(f"must be an absolute http:// or https:// URL, not {value!r}")
        return value

    @field_validator("button_color", "background_color", "text_color")
    @classmethod
    def _hex_color(cls, value: str) -> str:
        # Hex only: named and rgb() colours are not understood by every email client.
        if not _COLOR.fullmatch(value):
            raise ValueError(f"must be a hex colour like #b3261e, not {value!r}")
        return value

    @field_validator("amount_param")
    @classmethod
    def _param_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+", value):
            raise ValueError(f"must be a query parameter name, not {value!r}")
        return value


class Settings(BaseSettings):
    """Every setting mailer reads. Each field's description is what the commented
    ``mailer.toml`` that ``mailer init`` writes and the README's table say of it
    (``mailer.settings.template`` renders both from the fields)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # The folder relative paths are resolved against: the config file's folder.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    config_file: Path | None = Field(default=None, exclude=True)

    database_url: str = Field(
        default="",
        description="Where subscribers, campaigns and events are stored. PostgreSQL: "
        "`postgresql+psycopg://user:password@host:5432/dbname`. A SQLite URL's "
        "`?timeout=SECONDS` (30) is how long a statement waits for another process's lock.",
        examples=["sqlite:///var/mailer.db"],
        json_schema_extra={"default_text": "SQLite in `var/mailer.db`"},
    )
    base_url: str = Field(
        default="http://localhost:8000",
        description="The public address of the web app (subscribe, unsubscribe, archive, "
        "tracking), which every link in the mail uses (the one in force when a message is "
        "sent). A local `http://` address is fine while the backend is `outbox`; real mail "
        "(`smtp`, `sendgrid`) needs the public `https://` one.",
    )
    secret_key: SecretStr = Field(
        description="Signs unsubscribe, confirmation and preference links: at least 16 "
        "characters. Keep it secret; changing it invalidates every link already sent.",
        json_schema_extra={"default_text": "written by `init`"},
    )
    publisher_name: str = Field(
        default="Newsletter",
        description="The name readers know you by: the sender's name, unless "
        "`from_address` has one of its own.",
    )
    from_address: str = Field(
        default="",
        description="Who the mail comes from: `news@your-domain.org` or "
        '`"The Weekly <news@your-domain.org>"`, whose name then wins over '
        "`publisher_name`. Real mail needs an address at your own domain.",
    )
    reply_to: str = Field(
        default="",
        description="Where replies go, when not to `from_address`.",
        examples=["editor@example.org"],
    )
    postal_address: str = Field(
        default="",
        description="Goes in every footer: the law (CAN-SPAM, GDPR imprint rules) wants a "
        "postal address in every mailing.",
    )
    timezone: str = Field(
        default="UTC",
        description="The timezone of schedules that name none (an IANA name like `Europe/Berlin`).",
    )
    backend: Backend = Field(
        default="outbox",
        description="How mail leaves: `outbox` writes `.eml` files to `outbox_dir` (nothing "
        "is sent), `smtp` uses `smtp_url`, `sendgrid` uses `sendgrid_api_key`; `memory` "
        "keeps messages in a list (for tests).",
    )
    outbox_dir: Path = Field(
        default=Path("var/outbox"), description="Where the outbox backend writes."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="The SMTP server: `smtp://user:pass@host:587?starttls=true`, or "
        "`smtps://user:pass@host` (TLS from the start), with options like "
        "`?concurrency=8&timeout=30&helo=mail.example.org`. An `@` in the user or the "
        "password is written `%40`.",
        examples=["smtp://user:password@mail.example.org:587?starttls=true"],
    )
    sendgrid_api_key: SecretStr | None = Field(
        default=None, description="The SendGrid account's API key.", examples=["SG.xxxxx"]
    )
    sendgrid_host: str = Field(
        default="https://api.sendgrid.com",
        description="SendGrid's API; it can point elsewhere for tests.",
    )
    smtp_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="SMTP connections kept open and used at once (`smtp_url`'s "
        "`?concurrency=` wins).",
    )
    dkim_private_key: SecretStr | None = Field(
        default=None,
        description="DKIM signing of SMTP mail needs all three `dkim_` keys, or none. The "
        "key: a PEM file's path (relative to this file's folder) or the PEM text itself.",
        examples=["dkim.pem"],
    )
    dkim_selector: str | None = Field(
        default=None,
        description="The DKIM selector: the public key is in DNS at `SELECTOR._domainkey.DOMAIN`.",
        examples=["mail"],
    )
    dkim_domain: str | None = Field(
        default=None,
        description="The domain that signs (the signature's `d=`), usually `from_address`'s.",
        examples=["example.org"],
    )
    rate_per_second: float | None = Field(
        default=None,
        gt=0,
        description="At most this many messages a second; unset, no limit.",
        examples=[50],
    )
    rate_per_hour: int | None = Field(
        default=None,
        gt=0,
        description="At most this many messages an hour; unset, no limit.",
        examples=[100000],
    )
    send_batch_size: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Recipients claimed from the ledger and handed to the backend at a "
        "time; unset, the backend's own: 1,000 for SendGrid (the most one request takes), "
        "500 for the others.",
        examples=[500],
        json_schema_extra={"default_text": "1,000 on SendGrid, 500 otherwise"},
    )
    send_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Worker processes that load, build and send batches beside the one "
        "that claims them (0: one process, with four SendGrid requests in flight on "
        "threads). Building messages is CPU work: for large SendGrid campaigns, the number "
        "of cores.",
    )
    dispatch: Literal["local", "procrastinate"] = Field(
        default="local",
        description="Who sends the batches a send claims: `local`, the sending process "
        "itself (and its `send_processes`); `procrastinate`, `mailer worker` processes on "
        "any number of machines, through a job queue in the PostgreSQL database (see "
        "Deployment: several machines).",
    )
    worker_stalled_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description='With `dispatch = "procrastinate"`: a worker silent for this long is '
        "taken for dead, and the recipients of the batch it had in hand become `unknown` "
        "(only `resend-unknown` sends them again). Workers show a sign of life every third "
        "of it.",
    )
    error_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A campaign pauses itself, saying why, when this share of its last 200 "
        "messages failed (a blocked account, a broken template, a dead server).",
    )
    late_send_limit: timedelta = Field(
        default=timedelta(hours=12),
        description="A scheduled campaign that the scheduler finds overdue by less than "
        "this (it was not running at the time) is sent late, with a log line; an older one "
        "is marked missed. Seconds, or an ISO duration like `PT12H`.",
    )
    database_retry_seconds: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="How long a send waits for a lost database (a restarted server, a "
        "dropped connection, a SQLite file another process keeps locked) before it pauses "
        "the campaign; `mailer run` waits for as long as it takes.",
    )
    # cta comes before default_cta, whose check reads it.
    cta: dict[str, CtaSettings] = Field(
        default={},
        description="Calls-to-action by name, one `[cta.NAME]` table each (the keys "
        "`cta.NAME.*` below); articles and lists pick them by name.",
        json_schema_extra={"default_text": "none"},
    )
    default_cta: list[str] = Field(
        default=[],
        description="The calls-to-action every mailing gets unless its article (front "
        "matter `cta: donate`, or `cta: none`) or its list says otherwise.",
        examples=[["donate"]],
    )
    utm_source: str = Field(
        default="",
        description="Every link in a mailing gets UTM parameters: `utm_source` (this), "
        "`utm_medium`, `utm_campaign` (the campaign) and, on calls-to-action, "
        "`utm_content` (its name).",
        examples=["example-times"],
        json_schema_extra={"default_text": "`publisher_name` as a slug"},
    )
    utm_medium: str = Field(default="email", description="The links' `utm_medium`.")
    api_token: SecretStr | None = Field(
        default=None,
        description="The admin API under `/api` answers only requests with "
        "`Authorization: Bearer <api_token>`; unset, it refuses every one. At least 16 "
        "characters (`openssl rand -hex 24` makes one).",
        examples=["a long random string (openssl rand -hex 24)"],
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None,
        description="SendGrid's event webhook: the verification key (base64) that "
        "SendGrid shows in Settings > Mail Settings > Event Webhook > Signature "
        "Verification.",
        examples=["MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE..."],
    )
    webhook_max_age: int = Field(
        default=600,
        ge=10,
        le=86_400,
        description="How many seconds old a signed webhook request may be before it "
        "counts as a replay.",
    )
    confirm_token_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="How many days a confirmation link of a double opt-in list works.",
    )
    tracking: bool = Field(
        default=True,
        description="Open and click tracking of new campaigns (a campaign can turn it off "
        "for itself).",
    )
    subscribe_rate_limit: int = Field(
        default=5,
        ge=1,
        le=10_000,
        description="Subscribe attempts allowed per hour from one IP address, and for one "
        "email address.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Where the subscribe rate limits are counted when it is set: a Redis "
        "server that every web worker reaches (`redis://host:6379/0`, `rediss://` for TLS, "
        "`unix:///path/redis.sock`); unset, they are counted in the database. While Redis "
        "does not answer, they are counted in the database, with a warning in the log.",
        examples=["redis://127.0.0.1:6379/0"],
    )
    admin_idle_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="A sign-in to the admin under `/admin` ends after this many minutes "
        "without a request.",
    )
    admin_session_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description="A sign-in to the admin ends this many hours after it began, however busy.",
    )
    admin_login_limit: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Failed admin sign-ins allowed per 15 minutes for one account; one IP "
        "address may fail three times as often.",
    )
    fetch_private_addresses: bool = Field(
        default=False,
        description="Whether the admin may fetch an article from a loopback, private, "
        "link-local or reserved address (a site on the publisher's own network). Off, an "
        "editor cannot make the server fetch what only it can reach, such as the database "
        "or a cloud's metadata; `mailer` on the command line fetches any address.",
    )
    soft_bounce_limit: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Soft bounces (a full mailbox, a server refusing for now) in a row, "
        "with no delivery in between, after which an address is suppressed like a hard "
        "bounce.",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="The largest request body the web app reads.",
        json_schema_extra={"default_text": "1 MiB"},
    )
    max_webhook_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        description="The largest webhook request (SendGrid sends its events in batches).",
        json_schema_extra={"default_text": "5 MiB"},
    )
    max_import_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="The largest CSV file imported through the API or uploaded in the admin.",
        json_schema_extra={"default_text": "100 MiB"},
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values come in as init arguments; the environment wins over them.
        return (env_settings, init_settings)

    @field_validator("secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (mailer init writes a random one)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from mailer.timezones import zone

        zone(value)  # its InputError is a ValueError, which pydantic reports
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("from_address")
    @classmethod
    def _sender(cls, value: str) -> str:
        # "news@example.org" or "The Weekly <news@example.org>"; the address is checked
        # as any other, the name as a header value (no line breaks).
        if value:
            from mailer.addresses import normalize_address, parse_mailbox

            normalize_address(parse_mailbox(value).address)
        return value.strip()

    @field_validator("reply_to")
    @classmethod
    def _address(cls, value: str) -> str:
        if value:
            from mailer.addresses import normalize_address

            normalize_address(value)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from mailer.settings.smtp_url import parse_smtp_url

            if not value.get_secret_value().strip():
                raise ValueError("is empty: give smtp://user:pass@host:587?starttls=true or so")
            parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Empty, as an environment variable left blank is: not configured.
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not url.startswith(("redis://", "rediss://", "unix://")):
            # The URL may hold a password: the message shows its scheme alone.
            scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url)
            given = f"not {scheme.group()}..." if scheme else "not a URL"
            raise ValueError(f"must be a redis://, rediss:// or unix:// URL ({given})")
        from redis import ConnectionPool

        try:
            # Parses the port, the db and the options (?socket_timeout=...) now, not at
            # the first hit; connects to nothing.
            ConnectionPool.from_url(url).disconnect()
        except ValueError as err:
            raise ValueError(f"is not a Redis URL: {err}") from None
        return SecretStr(url)

    @field_validator("api_token")
    @classmethod
    def _api_token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (openssl rand -hex 24 makes one)")
        return value

    @field_validator("sendgrid_webhook_public_key")
    @classmethod
    def _webhook_key(cls, value: str | None) -> str | None:
        if not value:
            return None
        from mailer.settings.keys import load_public_key

        # Read now, so that a key pasted wrongly fails at start and not at every event.
        load_public_key(value)
        return value.strip()

    @field_validator("sendgrid_host")
    @classmethod
    def _sendgrid_host(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("dkim_selector", "dkim_domain")
    @classmethod
    def _dkim_name(cls, value: str | None) -> str | None:
        # Both become DNS labels (selector._domainkey.domain), and the tags of a signature.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value):
            raise ValueError(f"must be a DNS name like mail or example.org, not {value!r}")
        return value

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        given = [
            self.dkim_private_key is not None,
            bool(self.dkim_selector),
            bool(self.dkim_domain),
        ]
        if any(given) and not all(given):
            raise ValueError(
                "DKIM signing needs all of dkim_private_key, dkim_selector and dkim_domain"
            )
        if self.dkim_private_key is not None:
            from mailer.settings.keys import load_private_key

            # Read now, so that a missing or broken key fails at start and not mid-send.
            load_private_key(self.dkim_private_key.get_secret_value(), self.base_dir)
        return self

    @model_validator(mode="after")
    def _dispatch_needs_postgresql(self) -> Settings:
        if self.dispatch == "procrastinate" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                'dispatch = "procrastinate" needs a PostgreSQL database_url (its job queue '
                "lives there); on SQLite a send is local"
            )
        return self

    @field_validator("cta")
    @classmethod
    def _cta_names(cls, value: dict[str, CtaSettings]) -> dict[str, CtaSettings]:
        for name in value:
            if name == "none" or not _CTA_NAME.fullmatch(name):
                raise ValueError(
                    f"call-to-action name {name!r} must be lower-case letters, digits, - and _ "
                    "(and not 'none')"
                )
        return value

    @field_validator("default_cta")
    @classmethod
    def _default_cta_known(cls, value: list[str], info: ValidationInfo) -> list[str]:
        configured = info.data.get("cta", {})
        unknown = [name for name in value if name not in configured]
        if unknown:
            known = ", ".join(sorted(configured)) or "none configured"
            raise ValueError(f"unknown call-to-action {unknown[0]!r} (known: {known})")
        return value

    def model_post_init(self, context: Any, /) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.base_dir / 'var' / 'mailer.db'}"
        elif self.database_url.startswith("sqlite:///") and not self.database_url.startswith(
            "sqlite:////"
        ):
            relative = self.database_url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                self.database_url = f"sqlite:///{self.base_dir / relative}"
        if not self.outbox_dir.is_absolute():
            self.outbox_dir = self.base_dir / self.outbox_dir
        if not self.utm_source:
            # The publisher's name as a slug ("The Example Times" → "the-example-times").
            ascii_name = unicodedata.normalize("NFKD", self.publisher_name).encode(
                "ascii", "ignore"
            )
            slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.decode().lower()).strip("-")
            self.utm_source = slug or "newsletter"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sends_real_mail(self) -> bool:
        """Whether the backend hands mail to a server (smtp, sendgrid); the outbox and
        memory backends keep it here, where a local http:// base_url is fine."""
        return self.backend in ("smtp", "sendgrid")

    @property
    def sender(self) -> Mailbox:
        """The sender's name and address: ``from_address``'s own name if it has one
        (``The Weekly <news@example.org>``), else ``publisher_name``."""
        from mailer.addresses import Mailbox, parse_mailbox

        name, address = parse_mailbox(self.from_address)
        return Mailbox(name or self.publisher_name, address)


def find_config(explicit: Path | str | None = None) -> Path | None:
    """The config file to use: the one named, else ``$MAILER_CONFIG``, else
    ``./mailer.toml`` if it exists. A named file that does not exist is an error."""
    named = explicit or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (mailer init writes one)")
        return path.resolve()
    default = Path.cwd() / CONFIG_FILENAME
    return default if default.is_file() else None


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the settings; every problem becomes one ConfigError naming key and source."""
    path = find_config(config)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"not valid TOML: {err}", source=str(path)) from err
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read: {err}", source=str(path)) from err
        for reserved in ("base_dir", "config_file"):
            if reserved in data:
                raise ConfigError("is not a setting", key=reserved, source=str(path))
    data.update(overrides)
    base_dir = path.parent if path is not None else Path.cwd()
    try:
        return Settings(base_dir=base_dir, config_file=path, **data)
    except ValidationError as err:
        raise _config_error(err, path) from None


def _config_error(err: ValidationError, path: Path | None) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    top = str(first["loc"][0]) if first["loc"] else ""
    message = first["msg"].removeprefix("Value error, ")
    named = re.match(r"(\w+): ", message)
    if not top and named and named.group(1) in Settings.model_fields:
        # A check across settings (the DKIM key is read there) names its key in front.
        key = top = named.group(1)
        message = message[named.end() :]
    env_name = f"{ENV_PREFIX}{top.upper()}"
    if top and env_name in os.environ:
        source = f"environment variable {env_name}"
    elif path is not None:
        source = str(path)
    else:
        source = f"no {CONFIG_FILENAME} found and no {env_name}"
    if first["type"] == "missing":
        message = "missing (set it in mailer.toml or as " + env_name + "; mailer init writes one)"
    more = len(err.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, key=key, source=source)
