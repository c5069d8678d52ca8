"""The Jinja templates of the mailings: the publisher's own ``templates/`` folder next to
``mailer.toml`` first, then the ones mailer ships. Any failure becomes a RenderError that
names the template file and line."""

from __future__ import annotations

import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

import mailer
from mailer.exceptions import RenderError
from mailer.rendering.text import wrap
from mailer.settings import Settings

__all__ = [
    "TemplateEnvironment",
    "builtin_templates",
    "render_template",
    "template_environment",
    "template_exists",
]


def builtin_templates() -> Path:
    """The shipped templates: ``mailer/templates`` in an installed wheel, the repository's
    ``templates/`` in a development (editable) install."""
    package = Path(mailer.__file__).parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


def template_environment(settings: Settings) -> TemplateEnvironment:
    """The environment for ``settings``' project (cached: compiled templates are reused)."""
    override = settings.base_dir / "templates"
    return _environment(override if override.is_dir() else None)


class TemplateEnvironment(jinja2.Environment):
    """A Jinja environment that knows the folders it loads from, for error messages."""

    folders: tuple[str, ...] = ()


@lru_cache(maxsize=8)
def _environment(override: Path | None) -> TemplateEnvironment:
    folders = tuple(str(p) for p in (override, builtin_templates()) if p is not None)
    environment = TemplateEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        # Templates are written by the publisher and trusted; text from articles is
        # sanitised before it reaches them. Escaping is on for .html, off for .txt.
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.folders = folders
    # Wraps at 72 columns without breaking URLs, unlike Jinja's wordwrap.
    environment.filters["wrap"] = wrap
    return environment


def template_exists(environment: TemplateEnvironment, name: str) -> bool:
    try:
        environment.get_template(name)
    except jinja2.TemplateNotFound:
        return False
    except jinja2.TemplateSyntaxError:
        return True
    return True


def render_template(environment: TemplateEnvironment, name: str, context: dict[str, Any]) -> str:
    """``name`` rendered with ``context``; a RenderError naming the file and line if not."""
    try:
        return environment.get_template(name).render(context)
    except jinja2.TemplateNotFound as err:
        folders = " or ".join(environment.folders)
        missing = err.name if isinstance(err.name, str) else name
        raise RenderError(missing, f"no such template (looked in {folders})") from None
    except jinja2.TemplateSyntaxError as err:
        where = err.filename or err.name or name
        raise RenderError(where, f"syntax error: {err.message}", line=err.lineno) from None
    except RenderError:
        raise
    except Exception as err:  # any failure in template code is the template's to fix
        where, line = _template_frame(err, environment, name)
        raise RenderError(where, f"{type(err).__name__}: {err}", line=line) from err


def _template_frame(
    err: BaseException, environment: TemplateEnvironment, name: str
) -> tuple[str, int | None]:
    """The innermost template file and line in the traceback: Jinja rewrites the
    frames of template code to point at the template's own lines."""
    folders = [str(Path(f).resolve()) for f in environment.folders]
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        filename = str(Path(frame.filename).resolve()) if frame.filename else ""
        if any(filename.startswith(folder) for folder in folders):
            return frame.filename, frame.lineno
    return name, None
