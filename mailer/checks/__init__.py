"""``mailer check``: whether this configuration is ready to send real mail.

Each check is one :class:`Check` (OK, WARN or FAIL, a message and the fix), one module
per thing looked at: the settings' rules (:mod:`mailer.campaigns.readiness`, the same
ones ``campaigns create`` and ``send`` enforce), the database, Redis when ``redis_url``
is set, the backend's server or account, the sender domain's DNS (DKIM, SPF, DMARC) and
the web app behind ``base_url``. Nothing is changed and nothing is sent::

    checks = run_checks(settings, CheckOptions(nameserver="127.0.0.1:5353"))
    ready = not any(check.status is Status.FAIL for check in checks)
"""

from mailer.checks.model import Check, CheckOptions, Status
from mailer.checks.runner import run_checks

__all__ = ["Check", "CheckOptions", "Status", "run_checks"]
