"""Campaigns: a campaign's life from draft to sent, and its send ledger.

``actions``    the campaign's life (create, schedule, send, pause, cancel, ...) for the
               CLI, the API and the daemon alike; the one place a sender is built
``records``    the campaign rows: plan, store and render, get, move between states, list
``schedule``   a time (or local times) to send at
``when``       reading the times people type
``readiness``  whether the settings can send real mail
``ledger``     one row per recipient, claimed before a send and settled after
``sender``     the send loop: claim a batch, hand it over, record, pace
``dispatch``   one batch: render, build links, hand over, record the outcome
``pacing``     the rate limit between batches
``links``      a recipient's unsubscribe, preferences and archive links
``tracking``   click and open tracking in the HTML
``localtime``  wall-clock times in the subscribers' zones
``stats``      what happened: delivered, bounced, opened, clicked
``testsend``   a test send to a few addresses, outside the ledger
"""
