"""Settings, at the bottom of the house: ``mailer.toml`` and ``MAILER_*`` variables
(pydantic-settings), with the parsers they need to check a value (SMTP URLs, keys).
They import nothing above them.

``model``      the fields, their checks and loading
``smtp_url``   ``smtp_url`` parsed into host, port, TLS and login
``keys``       the DKIM private key and SendGrid's webhook verification key
"""

from mailer.settings.model import (
    CONFIG_FILENAME,
    ENV_PREFIX,
    CtaSettings,
    Settings,
    find_config,
    load_settings,
)

__all__ = [
    "CONFIG_FILENAME",
    "ENV_PREFIX",
    "CtaSettings",
    "Settings",
    "find_config",
    "load_settings",
]
