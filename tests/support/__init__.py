"""Helpers the tests share; the conftest files keep the fixtures (and pytest's hooks)
and build them from these. One concept a module:

- ``campaign_fixtures``: the fixtures of a project that sends campaigns, which the
  campaigns and the scheduling folders import into their conftest files.
- ``cli``: ``mailer`` run in-process against a test project (``Cli``).
- ``clock``: a clock that tests move, and an executor that runs at once.
- ``config``: a mailer.toml like ``mailer init`` writes (``write_config``), settings built
  in code (``make_settings``), the test secret key and a real-mail sender (``SENDER``).
- ``database``: the test databases (SQLite, and PostgreSQL when
  ``MAILER_TEST_DATABASE_URL`` is set, one a pytest-xdist worker).
- ``dns_server``: a DNS server on loopback answering TXT queries from a table.
- ``examples``: the example project's article and its donation call-to-action.
- ``http``: a request handler served on loopback (``serving``).
- ``keys``: TLS and DKIM keys made for the run, and ECDSA keys that sign webhooks.
- ``messages``: contents, recipients and batches as a backend gets them.
- ``pages``: the web app's pages and mails read as a reader would.
- ``readers``: subscribers made in bulk.
- ``rendering``: a template context, calls-to-action of every kind, HTML parsing.
- ``sendgrid``: SendGrid's mail/send and /v3/scopes played on loopback.
- ``smtp``: a recording SMTP server on loopback (aiosmtpd).
- ``spec``: SendGrid's OpenAPI description as a validator of mail/send bodies.
- ``web``: the web tests' base URL, API token, reader tokens and a sent campaign.
"""
