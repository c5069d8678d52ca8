"""Settings: ``mailer.toml`` (or the file named by ``--config`` / ``MAILER_CONFIG``),
overridden key by key by environment variables ``MAILER_<KEY>`` (pydantic-settings).

Relative paths in the file (the SQLite database, the outbox) are resolved against the
folder the file is in, so a project folder can be moved as a whole.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mailer.exceptions import ConfigError

__all__ = ["CONFIG_FILENAME", "Settings", "find_config", "load_settings"]

CONFIG_FILENAME = "mailer.toml"
ENV_PREFIX = "MAILER_"

Backend = Literal["outbox", "smtp", "sendgrid", "memory"]


class Settings(BaseSettings):
    """Every setting mailer reads; the commented ``mailer.toml`` that ``mailer init``
    writes documents each of them."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # The folder relative paths are resolved against: the config file's folder.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    config_file: Path | None = Field(default=None, exclude=True)

    database_url: str = ""
    base_url: str = "http://localhost:8000"
    secret_key: SecretStr
    publisher_name: str = "Newsletter"
    from_address: str = ""
    reply_to: str = ""
    postal_address: str = ""
    timezone: str = "UTC"
    backend: Backend = "outbox"
    outbox_dir: Path = Path("var/outbox")
    smtp_url: SecretStr | None = None
    sendgrid_api_key: SecretStr | None = None
    sendgrid_host: str = "https://api.sendgrid.com"

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
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
            ) from err
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str) -> str:
        if value:
            from mailer.subscribers.addresses import normalize_address

            normalize_address(value)
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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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
    env_name = f"{ENV_PREFIX}{top.upper()}"
    if top and env_name in os.environ:
        source = f"environment variable {env_name}"
    elif path is not None:
        source = str(path)
    else:
        source = f"no {CONFIG_FILENAME} found and no {env_name}"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "missing (set it in mailer.toml or as " + env_name + "; mailer init writes one)"
    more = len(err.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, key=key, source=source)
