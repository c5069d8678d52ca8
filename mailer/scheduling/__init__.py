"""Scheduling: campaigns at a time, recurring feed digests, and the ``mailer run`` daemon.

The campaigns table is the truth about what is due; APScheduler (3.11, its SQLAlchemy job
store in the project's database) turns it into timers. The daemon reconciles the two on
start and every few seconds, so that a schedule set from another shell is picked up, and
a run missed while nothing was running is sent late (within ``late_send_limit``) or
marked missed, never dropped silently.
"""
