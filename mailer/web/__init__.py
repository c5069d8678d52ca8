"""The web app: every link in our emails leads here, and what subscribers and mail
providers tell us comes back here.

``mailer.web.app.create_app(settings)`` builds it (FastAPI); ``mailer serve`` runs it
with uvicorn. One module per concern:

=====================  ==============================================================
``app``                the app factory: middleware, error pages, routers
``context``            what every request shares (settings, database, clock, limits)
``headers``            security headers on every answer
``limits``             request size limits
``csrf``               form tokens that work without cookies, and the origin check
``ratelimit``          the sliding window against list bombing
``access_log``         an access log without personal data
``errors``             clear 4xx pages and JSON errors; a bug is a 500 logged without data
``templating``         the Jinja pages in ``templates/web``
``subscribe``          the subscribe form and the confirmation link
``confirmation``       the confirmation mail of double opt-in
``unsubscribe``        one-click unsubscribe (RFC 8058)
``preferences``        lists, name, data download and forgetting
``archive``            sent campaigns as web pages
``tracking``           the open pixel and click redirects
``recording``          events our own pages and tracking record
``webhooks``           ``POST /webhooks/{provider}``, for every registered provider
``api``                the admin REST API under ``/api``
``server``             uvicorn, for ``mailer serve`` and ``mailer run``
=====================  ==============================================================

The providers themselves (verifying their requests, their events in our terms) and what
an event does (suppressions, unsubscribes) are in :mod:`mailer.events`.

A campaign's statistics are :func:`mailer.campaigns.stats.campaign_stats`, which the
API and the command line share.
"""
