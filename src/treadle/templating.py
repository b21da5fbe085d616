"""Jinja2 integration: the app's Environment, a loader over the app's and blueprints' template
folders, and render_template / render_template_string / stream_template.

This is the only module that imports Jinja2 at load time; the app imports it on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Template, TemplateNotFound
from jinja2 import Environment as BaseEnvironment

from treadle.globals import _cv_request, current_app
from treadle.helpers import stream_with_context
from treadle.signals import before_render_template, template_rendered

if TYPE_CHECKING:
    from treadle.app import Treadle

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

TemplateName = str | Template | list[str | Template]
SourceResult = tuple[str, str | None, Callable[[], bool] | None]


# What ``getattr`` finds on a plain dict: its methods and object's, nothing per instance.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(BaseEnvironment):
    """A Jinja environment that knows its app and loads templates through it."""

    def __init__(self, app: Treadle, **options: Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        super().__init__(**options)
        self.app = app

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` in a template, with Jinja's rule: the attribute, else the item.

        For a plain dict the answer is known without trying: no dict has an attribute
        beyond its class's, so ``user.name`` goes straight to the item instead of raising
        and catching an AttributeError first (about half a microsecond each).
        """
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


class DispatchingJinjaLoader(BaseLoader):
    """Find a template in the app's folder first, then in each blueprint's, in registration order."""

    def __init__(self, app: Treadle) -> None:
        self.app = app

    def _loaders(self) -> Iterator[tuple[Any, BaseLoader]]:
        loader = self.app.jinja_loader
        if loader is not None:
            yield self.app, loader
        for blueprint in self.app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                yield blueprint, loader

    def get_source(self, environment: BaseEnvironment, template: str) -> SourceResult:
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        for _owner, loader in self._loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _get_source_explained(self, environment: BaseEnvironment, template: str) -> SourceResult:
        # EXPLAIN_TEMPLATE_LOADING: log every place looked at, to debug "template not found".
        found: SourceResult | None = None
        lines = [f"Locating template {template!r}:"]
        for index, (owner, loader) in enumerate(self._loaders(), 1):
            where = f"application {owner.import_name!r}" if owner is self.app else f"blueprint {owner.name!r} ({owner.import_name})"
            try:
                result = loader.get_source(environment, template)
            except TemplateNotFound:
                lines.append(f"{index:5}: trying loader of {where}\n       -> no match")
                continue
            lines.append(f"{index:5}: trying loader of {where}\n       -> found ({result[1]!r})")
            if found is None:
                found = result
        if found is None:
            lines.append("Error: the template was looked up in the places above and not found.")
        elif sum("-> found" in line for line in lines) > 1:
            lines.append("Warning: multiple loaders returned a match; the first one was used.")
        self.app.logger.log(logging.INFO, "\n".join(lines))
        if found is None:
            raise TemplateNotFound(template)
        return found

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for _owner, loader in self._loaders():
            names.update(loader.list_templates())
        return sorted(names)


def _render_template(template: Template, context: dict[str, Any]) -> str:
    """What ``template.render(context)`` returns, without its slow walk over the globals.

    Jinja keeps a template's globals as a ChainMap and flattens it into every render's
    context key by key in Python. Merging its maps as plain dicts (the first map wins, as
    in a ChainMap) builds the same context several microseconds sooner; templates whose
    class changes how rendering works, and async environments, take Jinja's own path.
    """
    environment = template.environment
    maps = getattr(template.globals, "maps", None)
    if (
        maps is None
        or environment.is_async
        or type(template).render is not Template.render
        or type(template).new_context is not Template.new_context
    ):
        return template.render(context)
    variables: dict[str, Any] = {}
    for mapping in reversed(maps):
        variables.update(mapping)
    variables.update(context)
    try:
        return environment.concat(
            template.root_render_func(template.new_context(variables, shared=True))
        )
    except Exception:
        environment.handle_exception()


def _render(app: Treadle, template: Template, context: dict[str, Any]) -> str:
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    rendered = _render_template(template, context)
    if template_rendered.receivers:
        template_rendered.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    return rendered


def render_template(template_name_or_list: TemplateName, **context: Any) -> str:
    """Render a template by name (the first that exists, for a list) with ``context``."""
    app: Treadle = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as source text (autoescaped like an .html template)."""
    app: Treadle = current_app._get_current_object()  # type: ignore[attr-defined]
    return _render(app, app.jinja_env.from_string(source), context)


def _generate(app: Treadle, template: Template, context: dict[str, Any]) -> Iterator[str]:
    yield from template.generate(context)
    if template_rendered.receivers:
        template_rendered.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)


def _stream(app: Treadle, template: Template, context: dict[str, Any]) -> Iterator[str]:
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(app, _async_wrapper=app.ensure_sync, template=template, context=context)
    chunks = _generate(app, template, context)
    if _cv_request.get(None) is not None:
        return stream_with_context(chunks)  # type: ignore[no-any-return]
    return chunks


def stream_template(template_name_or_list: TemplateName, **context: Any) -> Iterator[str]:
    """Render a template piece by piece, for a streamed response (keeps the request context)."""
    app: Treadle = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: Any) -> Iterator[str]:
    """``stream_template`` for template source text."""
    app: Treadle = current_app._get_current_object()  # type: ignore[attr-defined]
    return _stream(app, app.jinja_env.from_string(source), context)
