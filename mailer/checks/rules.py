"""The settings' rules for real mail, as checks: FAIL on a backend that sends, WARN
(with what real mail would need) on one that does not."""

from __future__ import annotations

from mailer.campaigns.readiness import readiness_problems
from mailer.checks.model import Check, Status
from mailer.settings import Settings

__all__ = ["settings_checks"]


def settings_checks(settings: Settings) -> list[Check]:
    problems = readiness_problems(settings)
    if not problems:
        domain = settings.sender.address.rpartition("@")[2]
        return [
            Check(
                "settings",
                Status.OK,
                f"base_url is https://, postal_address is set, the sender is at {domain}",
            )
        ]
    if settings.sends_real_mail:
        return [Check(p.key, Status.FAIL, p.message, p.fix) for p in problems]
    note = f" ({settings.backend}: nothing is sent)"
    return [Check(p.key, Status.WARN, p.message + note, p.fix) for p in problems]
