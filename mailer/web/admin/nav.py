"""The admin's navigation: where each section is, and the path prefix that marks it as
the current one."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["NAV", "NavItem"]


class NavItem(NamedTuple):
    href: str
    label: str
    # Pages under this prefix belong to the section ("" only the dashboard itself).
    prefix: str


NAV: tuple[NavItem, ...] = (
    NavItem("/admin", "Dashboard", ""),
    NavItem("/admin/campaigns", "Campaigns", "/admin/campaigns"),
    NavItem("/admin/lists", "Lists", "/admin/lists"),
    NavItem("/admin/subscribers", "Subscribers", "/admin/subscribers"),
    NavItem("/admin/digests", "Digests", "/admin/digests"),
    NavItem("/admin/audit", "Audit log", "/admin/audit"),
    NavItem("/admin/settings", "Settings", "/admin/settings"),
    NavItem("/admin/users", "Accounts", "/admin/users"),
)
