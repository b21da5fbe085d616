"""Map holds every rule and the settings they share; MapAdapter is a Map bound to one
server name, script root and request, and does the matching and URL building.
"""

from __future__ import annotations

import warnings
from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, overload
from urllib.parse import quote, urlencode, urljoin, urlunsplit

from treadle.exceptions import BadHost, MethodNotAllowed, NotFound
from treadle.routing.converters import DEFAULT_CONVERTERS, PATH_SAFE, BaseConverter
from treadle.routing.exceptions import BuildError, RequestRedirect, WebsocketMismatch
from treadle.routing.matcher import Matcher, NoMatch, RedirectPath, SlashRequired
from treadle.routing.rules import QUERY_SAFE, VARIABLE, Rule, query_pairs

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

_SECURE_SCHEMES = frozenset({"https", "wss"})
_DEFAULT_PORT_SUFFIX = {"http": ":80", "ws": ":80", "https": ":443", "wss": ":443"}


class RuleFactory(Protocol):
    """Anything that yields rules for a map: a Rule yields itself."""

    def get_rules(self, map: Map) -> Iterable[Rule]: ...


class Map:
    """Every URL rule of an application, plus the defaults rules inherit.

    ``converters`` adds to (or overrides) ``default_converters``; register more
    later with ``map.converters["name"] = SomeConverter`` before adding rules.
    """

    default_converters: ClassVar[Mapping[str, type[BaseConverter]]] = DEFAULT_CONVERTERS

    def __init__(
        self,
        rules: Iterable[RuleFactory] | None = None,
        default_subdomain: str = "",
        strict_slashes: bool = True,
        merge_slashes: bool = True,
        redirect_defaults: bool = True,
        converters: Mapping[str, type[BaseConverter]] | None = None,
        sort_parameters: bool = False,
        sort_key: Callable[[Any], Any] | None = None,
        host_matching: bool = False,
    ) -> None:
        self.default_subdomain = default_subdomain
        self.strict_slashes = strict_slashes
        self.merge_slashes = merge_slashes
        self.redirect_defaults = redirect_defaults
        self.host_matching = host_matching
        self.sort_parameters = sort_parameters
        self.sort_key = sort_key
        self.converters: dict[str, type[BaseConverter]] = dict(self.default_converters)
        if converters:
            self.converters.update(converters)
        self._matcher = Matcher()
        self._rules: list[Rule] = []
        self._rules_by_endpoint: dict[Any, list[Rule]] = {}
        for rulefactory in rules or ():
            self.add(rulefactory)

    def add(self, rulefactory: RuleFactory) -> None:
        """Bind and index a rule (or every rule a factory yields)."""
        for rule in rulefactory.get_rules(self):
            rule.bind(self)
            if not rule.build_only:
                self._matcher.add(rule)
            insort(
                self._rules_by_endpoint.setdefault(rule.endpoint, []),
                rule,
                key=Rule.build_compare_key,
            )
            self._rules.append(rule)

    def iter_rules(self, endpoint: Any | None = None) -> Iterator[Rule]:
        """All rules in the order added, or those of one endpoint in build order."""
        if endpoint is not None:
            return iter(self._rules_by_endpoint.get(endpoint, ()))
        return iter(self._rules)

    def is_endpoint_expecting(self, endpoint: Any, *arguments: str) -> bool:
        """True if some rule of ``endpoint`` takes all of ``arguments``."""
        wanted = set(arguments)
        return any(wanted <= rule.arguments for rule in self._rules_by_endpoint.get(endpoint, ()))

    def bind(
        self,
        server_name: str,
        script_name: str | None = None,
        subdomain: str | None = None,
        url_scheme: str = "http",
        default_method: str = "GET",
        path_info: str | None = None,
        query_args: Mapping[str, Any] | str | None = None,
    ) -> MapAdapter:
        """An adapter for one server name (and optionally one request's path)."""
        server_name = server_name.lower()
        if self.host_matching:
            if subdomain is not None:
                raise RuntimeError("host matching is enabled: bind with no subdomain")
        elif subdomain is None:
            subdomain = self.default_subdomain
        if not server_name.isascii():
            host, colon, port = server_name.partition(":")
            try:
                server_name = host.encode("idna").decode("ascii") + colon + port
            except UnicodeError as error:
                raise BadHost() from error
        return MapAdapter(
            self,
            server_name,
            "/" if script_name is None else script_name,
            subdomain,
            url_scheme,
            "/" if path_info is None else path_info,
            default_method,
            query_args,
        )

    def bind_to_environ(
        self,
        environ: WSGIEnvironment | Any,
        server_name: str | None = None,
        subdomain: str | None = None,
    ) -> MapAdapter:
        """An adapter for one WSGI request (or a request object with ``.environ``).

        Given ``server_name``, the subdomain is what the request's host has in front
        of it; a host that does not end in ``server_name`` matches no subdomain rule.
        """
        env: WSGIEnvironment = getattr(environ, "environ", environ)
        scheme = env.get("wsgi.url_scheme", "http")
        if (
            env.get("HTTP_UPGRADE", "").lower() == "websocket"
            and "upgrade" in env.get("HTTP_CONNECTION", "").lower()
        ):
            scheme = "wss" if scheme == "https" else "ws"
        request_host = _environ_host(env, scheme)
        if server_name is None:
            server_name = request_host
        else:
            server_name = server_name.lower()
            suffix = _DEFAULT_PORT_SUFFIX.get(scheme)
            if suffix and server_name.endswith(suffix):
                server_name = server_name[: -len(suffix)]
        if subdomain is None and not self.host_matching:
            request_labels = request_host.split(".")
            server_labels = server_name.split(".")
            if request_labels[-len(server_labels) :] != server_labels:
                warnings.warn(
                    f"Current server name {request_host!r} doesn't match configured"
                    f" server name {server_name!r}",
                    stacklevel=2,
                )
                subdomain = "<invalid>"
            else:
                subdomain = ".".join(filter(None, request_labels[: -len(server_labels)]))
        return self.bind(
            server_name,
            _wsgi_text(env.get("SCRIPT_NAME")),
            subdomain,
            scheme,
            env["REQUEST_METHOD"],
            _wsgi_text(env.get("PATH_INFO")),
            _wsgi_text(env.get("QUERY_STRING")),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._rules!r})"


def _environ_host(env: WSGIEnvironment, scheme: str) -> str:
    host: str = env.get("HTTP_HOST") or ""
    if not host:
        host = env.get("SERVER_NAME", "")
        port = env.get("SERVER_PORT")
        if port:
            host = f"{host}:{port}"
    suffix = _DEFAULT_PORT_SUFFIX.get(scheme)
    if suffix and host.endswith(suffix):
        host = host[: -len(suffix)]
    return host.lower()


def _wsgi_text(value: str | None) -> str | None:
    """WSGI carries bytes as latin-1 text; URLs are UTF-8."""
    if value is None or value.isascii():  # the usual case reads the same either way
        return value
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


class MapAdapter:
    """A Map bound to a server name, script root, scheme and (for matching) one request."""

    def __init__(
        self,
        map: Map,
        server_name: str,
        script_name: str,
        subdomain: str | None,
        url_scheme: str,
        path_info: str,
        default_method: str,
        query_args: Mapping[str, Any] | str | None = None,
    ) -> None:
        self.map = map
        self.server_name = server_name
        self.script_name = script_name if script_name.endswith("/") else script_name + "/"
        self.subdomain = subdomain
        self.url_scheme = url_scheme
        self.path_info = path_info
        self.default_method = default_method
        self.query_args = query_args
        self.websocket = url_scheme in {"ws", "wss"}

    @overload
    def match(
        self,
        path_info: str | None = None,
        method: str | None = None,
        return_rule: Literal[False] = False,
        query_args: Mapping[str, Any] | str | None = None,
        websocket: bool | None = None,
    ) -> tuple[Any, dict[str, Any]]: ...

    @overload
    def match(
        self,
        path_info: str | None = None,
        method: str | None = None,
        *,
        return_rule: Literal[True],
        query_args: Mapping[str, Any] | str | None = None,
        websocket: bool | None = None,
    ) -> tuple[Rule, dict[str, Any]]: ...

    def match(
        self,
        path_info: str | None = None,
        method: str | None = None,
        return_rule: bool = False,
        query_args: Mapping[str, Any] | str | None = None,
        websocket: bool | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """``(endpoint, view_args)`` (or ``(rule, view_args)``) for a request.

        Raises NotFound, MethodNotAllowed (with the valid methods), WebsocketMismatch,
        or RequestRedirect to the canonical URL.
        """
        if path_info is None:
            path_info = self.path_info
        if query_args is None:
            query_args = self.query_args or {}
        method = (method or self.default_method).upper()
        if websocket is None:
            websocket = self.websocket
        if self.map.host_matching or self.subdomain is None:
            domain = self.server_name
        else:
            domain = self.subdomain
        path = f"/{path_info.lstrip('/')}" if path_info else ""
        try:
            rule, values = self.map._matcher.match(
                domain, path, method, websocket, self.map.merge_slashes
            )
        except SlashRequired:
            new_path = quote(f"{path}/", safe=PATH_SAFE)
            raise RequestRedirect(self.make_redirect_url(new_path, query_args)) from None
        except RedirectPath as redirect:
            new_path = quote(redirect.path, safe=PATH_SAFE)
            raise RequestRedirect(self.make_redirect_url(new_path, query_args)) from None
        except NoMatch as miss:
            if miss.allowed:
                raise MethodNotAllowed(valid_methods=sorted(miss.allowed)) from None
            if miss.websocket_mismatch:
                raise WebsocketMismatch() from None
            raise NotFound() from None

        if self.map.redirect_defaults:
            if rule.alias:
                url = self.build(
                    rule.endpoint, values, method, append_unknown=False, force_external=True
                )
                if query_args:
                    url = f"{url}?{self.encode_query_args(query_args)}"
                raise RequestRedirect(url)
            redirect_url = self.get_default_redirect(rule, method, values, query_args)
            if redirect_url is not None:
                raise RequestRedirect(redirect_url)
        if rule.redirect_to is not None:
            raise RequestRedirect(self._redirect_to(rule, values))
        return (rule if return_rule else rule.endpoint), values

    def _redirect_to(self, rule: Rule, values: dict[str, Any]) -> str:
        target = rule.redirect_to
        if isinstance(target, str):

            def fill(match: Any) -> str:
                name = match["name"]
                return rule._converters[name].to_url(values[name])

            target = VARIABLE.sub(fill, target)
        else:
            assert target is not None
            target = target(self, **values)
        netloc = f"{self.subdomain}.{self.server_name}" if self.subdomain else self.server_name
        return urljoin(f"{self.url_scheme or 'http'}://{netloc}{self.script_name}", target)

    def allowed_methods(self, path_info: str | None = None) -> list[str]:
        """The methods some rule accepts for this path (empty if none matches it)."""
        try:
            self.match(path_info, method="--")
        except MethodNotAllowed as error:
            return error.valid_methods or []
        except Exception:  # NotFound, redirects: no method is allowed here as such
            pass
        return []

    def get_host(self, domain_part: str | None) -> str:
        """The host for a rule's domain part: a subdomain of ``server_name``, or the host."""
        if self.map.host_matching:
            return self.server_name if domain_part is None else domain_part
        subdomain = self.subdomain if domain_part is None else domain_part
        return f"{subdomain}.{self.server_name}" if subdomain else self.server_name

    def get_default_redirect(
        self,
        rule: Rule,
        method: str,
        values: dict[str, Any],
        query_args: Mapping[str, Any] | str,
    ) -> str | None:
        """The canonical URL when an earlier rule of the endpoint supplies these values
        as its defaults (``/page/1`` → ``/``), else None."""
        for other in self.map._rules_by_endpoint[rule.endpoint]:
            if other is rule:
                break
            if other.provides_defaults_for(rule) and other.suitable_for(values, method):
                values.update(other.defaults or {})
                built = other.build(values)
                if built is not None:
                    return self.make_redirect_url(built[1], query_args, domain_part=built[0])
        return None

    def encode_query_args(self, query_args: Mapping[str, Any] | str) -> str:
        if isinstance(query_args, str):
            return query_args
        return urlencode(list(query_pairs(query_args)), safe=QUERY_SAFE)

    def make_redirect_url(
        self,
        path_info: str,
        query_args: Mapping[str, Any] | str | None = None,
        domain_part: str | None = None,
    ) -> str:
        """An absolute URL for a path below this adapter's script root."""
        if query_args is None:
            query_args = self.query_args
        query = self.encode_query_args(query_args) if query_args else ""
        path = "/".join((self.script_name.strip("/"), path_info.lstrip("/")))
        return urlunsplit((self.url_scheme or "http", self.get_host(domain_part), path, query, ""))

    def build(
        self,
        endpoint: Any,
        values: Mapping[str, Any] | None = None,
        method: str | None = None,
        force_external: bool = False,
        append_unknown: bool = True,
        url_scheme: str | None = None,
    ) -> str:
        """The URL for ``endpoint`` with ``values`` in its variables; values the rule
        does not take become the query string (unless ``append_unknown`` is False).

        The URL is relative to the server unless ``force_external`` is set or the rule
        lives on another subdomain or host. A MultiDict (or a dict of lists) gives
        repeated query keys. Raises BuildError when no rule fits.
        """
        if values:
            lists = getattr(values, "lists", None)
            if callable(lists):
                values = {key: (v[0] if len(v) == 1 else v) for key, v in lists() if v}
            else:
                values = {key: value for key, value in values.items() if value is not None}
        else:
            values = {}
        built = self._partial_build(endpoint, values, method, append_unknown)
        if built is None:
            raise BuildError(endpoint, values, method, self)
        domain, path, websocket = built
        host = self.get_host(domain)
        if url_scheme is None:
            url_scheme = self.url_scheme
        secure = url_scheme in _SECURE_SCHEMES
        if websocket:
            force_external = True
            url_scheme = "wss" if secure else "ws"
        elif url_scheme:
            url_scheme = "https" if secure else "http"
        if not force_external and (
            host == self.server_name if self.map.host_matching else domain == self.subdomain
        ):
            return f"{self.script_name[:-1]}{path}"
        scheme = f"{url_scheme}:" if url_scheme else ""
        return f"{scheme}//{host}{self.script_name[:-1]}{path}"

    def _partial_build(
        self, endpoint: Any, values: Mapping[str, Any], method: str | None, append_unknown: bool
    ) -> tuple[str, str, bool] | None:
        """``(domain, path, websocket)`` from the first rule that can build these values."""
        if method is None:
            built = self._partial_build(endpoint, values, self.default_method, append_unknown)
            if built is not None:
                return built
        first: tuple[str, str, bool] | None = None
        for rule in self.map._rules_by_endpoint.get(endpoint, ()):
            if not rule.suitable_for(values, method):
                continue
            result = rule.build(values, append_unknown)
            if result is None:
                continue
            if not self.map.host_matching or result[0] == self.server_name:
                return result[0], result[1], rule.websocket
            if first is None:
                first = (result[0], result[1], rule.websocket)
        return first
