"""The web pages: Jinja templates in ``templates/web`` (the publisher's own
``templates/web`` next to mailer.toml first, then the ones mailer ships)."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from mailer.rendering.templates import builtin_templates
from mailer.settings import Settings

__all__ = ["Pages"]


class Pages:
    """Renders the pages of one site; every page gets ``publisher`` and ``base_url``."""

    def __init__(self, settings: Settings):
        folders = [
            folder / "web"
            for folder in (settings.base_dir / "templates", builtin_templates())
            if (folder / "web").is_dir()
        ]
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.globals = {
            "publisher": {
                "name": settings.publisher_name,
                "postal_address": settings.postal_address,
            },
            "base_url": settings.base_url,
        }

    def render(self, template: str, **context: Any) -> str:
        return self.environment.get_template(template).render({**self.globals, **context})

    def page(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(template, **context), status_code=status_code)

    def message(
        self,
        title: str,
        *lines: str,
        status_code: int = 200,
        links: list[tuple[str, str]] | None = None,
    ) -> HTMLResponse:
        """A page that says one thing: ``title``, a few lines and links onwards."""
        return self.page("message.html", status_code, title=title, lines=lines, links=links or [])
