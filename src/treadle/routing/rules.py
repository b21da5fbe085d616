"""Rule: one URL pattern, compiled into trie parts for matching and pieces for building."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from treadle.routing.converters import (
    PATH_SAFE,
    BaseConverter,
    ValidationError,
    parse_converter_args,
)

if TYPE_CHECKING:
    from treadle.routing.map import Map

VARIABLE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<arguments>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>"
)
SLASHES = re.compile("/{2,}")
# Characters left as they are in a query string.
QUERY_SAFE = "!$'()*,/:;?@"

_Token = tuple[bool, str, BaseConverter | None]


class _Part:
    """One step of a rule in the trie: a static segment or a regex over one (or, when
    ``final``, all remaining) segments."""

    __slots__ = ("final", "group_names", "key", "pattern", "static", "suffixed", "weight")

    def __init__(
        self,
        static: str | None,
        regex: str = "",
        group_names: tuple[str, ...] = (),
        final: bool = False,
        suffixed: bool = False,
        weight: tuple[Any, ...] = (),
    ) -> None:
        self.static = static
        self.pattern = re.compile(regex) if static is None else None
        self.group_names = group_names
        self.final = final
        self.suffixed = suffixed
        self.weight = weight
        self.key = (static, regex, final, suffixed)


class Rule:
    """One URL pattern and what it maps to.

    ``methods`` is upper-cased and gains HEAD when GET is present. ``defaults``
    fill view arguments the URL does not carry. ``redirect_to`` (a rule-like
    string or ``callable(adapter, **values)``) turns a match into a redirect.
    """

    map: Map | None
    provide_automatic_options: bool  # set by the app layer

    def __init__(
        self,
        string: str,
        defaults: Mapping[str, Any] | None = None,
        subdomain: str | None = None,
        methods: Iterable[str] | None = None,
        build_only: bool = False,
        endpoint: Any = None,
        strict_slashes: bool | None = None,
        merge_slashes: bool | None = None,
        redirect_to: str | Callable[..., str] | None = None,
        alias: bool = False,
        host: str | None = None,
        websocket: bool = False,
    ) -> None:
        if not string.startswith("/"):
            raise ValueError(f"URL rule {string!r} must start with a slash.")
        self.rule = string
        self.is_leaf = not string.endswith("/")
        self.is_branch = not self.is_leaf
        self.map = None
        self.strict_slashes = strict_slashes
        self.merge_slashes = merge_slashes
        self.subdomain = subdomain
        self.host = host
        self.defaults = dict(defaults) if defaults is not None else None
        self.build_only = build_only
        self.alias = alias
        self.websocket = websocket
        if methods is not None:
            if isinstance(methods, str):
                raise TypeError("'methods' should be a list of strings, e.g. ['GET', 'POST'].")
            methods = {method.upper() for method in methods}
            if "GET" in methods:
                methods.add("HEAD")
            if websocket and methods - {"GET", "HEAD", "OPTIONS"}:
                raise ValueError("WebSocket rules can only use 'GET', 'HEAD', and 'OPTIONS'.")
        self.methods: set[str] | None = methods
        self.endpoint: Any = endpoint
        self.redirect_to = redirect_to
        self.arguments: set[str] = set(map(str, defaults or ()))
        self.provide_automatic_options = False
        self._converters: dict[str, BaseConverter] = {}
        self._parts: list[_Part] = []
        self._domain_pieces: list[tuple[bool, str]] = []
        self._path_pieces: list[tuple[bool, str]] = []
        self._static_key: tuple[str, str] | None = None

    def empty(self) -> Rule:
        """An unbound copy, to add to another map."""
        return type(self)(
            self.rule,
            defaults=self.defaults,
            subdomain=self.subdomain,
            methods=self.methods,
            build_only=self.build_only,
            endpoint=self.endpoint,
            strict_slashes=self.strict_slashes,
            merge_slashes=self.merge_slashes,
            redirect_to=self.redirect_to,
            alias=self.alias,
            host=self.host,
            websocket=self.websocket,
        )

    def get_rules(self, map: Map) -> Iterator[Rule]:
        yield self

    def bind(self, map: Map, rebind: bool = False) -> None:
        """Attach to ``map``, take its defaults and compile."""
        if self.map is not None and not rebind:
            raise RuntimeError(f"url rule {self!r} already bound to map {self.map!r}")
        self.map = map
        if self.strict_slashes is None:
            self.strict_slashes = map.strict_slashes
        if self.merge_slashes is None:
            self.merge_slashes = map.merge_slashes
        if self.subdomain is None:
            self.subdomain = map.default_subdomain
        self._compile(map)

    def get_converter(
        self,
        variable_name: str,
        converter_name: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> BaseConverter:
        """Instantiate the converter for one variable of this rule."""
        assert self.map is not None
        converter = self.map.converters.get(converter_name)
        if converter is None:
            known = ", ".join(sorted(self.map.converters))
            raise LookupError(
                f"the converter {converter_name!r} in rule {self.rule!r} does not exist;"
                f" known converters: {known} (register others in Map.converters)"
            )
        return converter(self.map, *args, **kwargs)

    def _compile(self, map: Map) -> None:
        domain = (self.host if map.host_matching else self.subdomain) or ""
        path = SLASHES.sub("/", self.rule) if self.merge_slashes else self.rule
        self._converters = {}
        domain_tokens = self._tokens(domain)
        path_tokens = self._tokens(path[1:])
        self._domain_pieces = [(is_variable, text) for is_variable, text, _ in domain_tokens]
        self._path_pieces = [
            (is_variable, text if is_variable else quote(text, safe=PATH_SAFE))
            for is_variable, text, _ in path_tokens
        ]
        self._parts = [*_segment_parts(domain_tokens, split=False), *_segment_parts(path_tokens)]
        if not any(is_variable for is_variable, _, _ in domain_tokens + path_tokens):
            self._static_key = (domain, path)
        else:
            self._static_key = None

    def _tokens(self, text: str) -> list[_Token]:
        """Split rule text into static text and variables (with their converters)."""
        tokens: list[_Token] = []
        position = 0
        for match in VARIABLE.finditer(text):
            self._static_token(tokens, text[position : match.start()])
            name = match["name"]
            if name in self._converters:
                raise ValueError(f"variable {name!r} appears twice in rule {self.rule!r}")
            try:
                args, kwargs = parse_converter_args(match["arguments"] or "")
            except ValueError as error:
                raise ValueError(f"{error} in rule {self.rule!r}") from None
            converter = self.get_converter(name, match["converter"] or "default", args, kwargs)
            self._converters[name] = converter
            self.arguments.add(name)
            tokens.append((True, name, converter))
            position = match.end()
        self._static_token(tokens, text[position:])
        return tokens

    def _static_token(self, tokens: list[_Token], text: str) -> None:
        if "<" in text or ">" in text:
            raise ValueError(
                f"malformed url rule {self.rule!r}: write variables as <name> or"
                " <converter(arguments):name>"
            )
        if text:
            tokens.append((False, text, None))

    def _convert(self, raw: list[str]) -> dict[str, Any] | None:
        """Turn the matched strings into view arguments; None if a converter refuses."""
        values: dict[str, Any] = {}
        try:
            for (name, converter), text in zip(self._converters.items(), raw, strict=True):
                values[name] = converter.to_python(text)
        except ValidationError:
            return None
        if self.defaults:
            values.update(self.defaults)
        return values

    def build(
        self, values: Mapping[str, Any], append_unknown: bool = True
    ) -> tuple[str, str] | None:
        """``(domain, path?query)`` for ``values``, or None if a converter refuses."""
        defaults = self.defaults or {}
        converters = self._converters
        try:
            domain = "".join(
                converters[text].to_url(values[text] if text in values else defaults[text])
                if is_variable
                else text
                for is_variable, text in self._domain_pieces
            )
            path = "".join(
                converters[text].to_url(values[text] if text in values else defaults[text])
                if is_variable
                else text
                for is_variable, text in self._path_pieces
            )
        except ValidationError:
            return None
        if append_unknown:
            query = self._query(values)
            if query:
                path = f"{path}?{query}"
        return domain, f"/{path}"

    def _query(self, values: Mapping[str, Any]) -> str:
        arguments = self.arguments
        pairs = [pair for pair in query_pairs(values) if pair[0] not in arguments]
        if not pairs:
            return ""
        assert self.map is not None
        if self.map.sort_parameters:
            pairs.sort(key=self.map.sort_key)
        return urlencode(pairs, safe=QUERY_SAFE)

    def provides_defaults_for(self, rule: Rule) -> bool:
        """True if this rule is the canonical (defaults-filled) URL of ``rule``."""
        return bool(
            not self.build_only
            and self.defaults
            and self.endpoint == rule.endpoint
            and self != rule
            and self.arguments == rule.arguments
        )

    def suitable_for(self, values: Mapping[str, Any], method: str | None = None) -> bool:
        """True if ``values`` (and ``method``) are enough to build this rule."""
        if method is not None and self.methods is not None and method not in self.methods:
            return False
        defaults = self.defaults or {}
        for key in self.arguments:
            if key not in defaults and key not in values:
                return False
        return all(key not in values or values[key] == value for key, value in defaults.items())

    def build_compare_key(self) -> tuple[int, int, int]:
        """Build order: non-aliases first, then rules using more values."""
        return (1 if self.alias else 0, -len(self.arguments), -len(self.defaults or ()))

    def __str__(self) -> str:
        return self.rule

    def __repr__(self) -> str:
        if self.map is None:
            return f"<{type(self).__name__} (unbound)>"
        methods = f" ({', '.join(sorted(self.methods))})" if self.methods is not None else ""
        return f"<{type(self).__name__} {self.rule!r}{methods} -> {self.endpoint}>"


def _segment_parts(tokens: list[_Token], split: bool = True) -> list[_Part]:
    """Cut tokens into trie parts at slashes; a slash-matching converter makes the
    rest of the rule one final part."""
    segments: list[list[_Token]] = [[]]
    final_from: int | None = None
    for token in tokens:
        is_variable, text, converter = token
        if is_variable:
            assert converter is not None
            segments[-1].append(token)
            if not converter.part_isolating and final_from is None:
                final_from = len(segments) - 1
            continue
        chunks = text.split("/") if split and final_from is None else [text]
        segments[-1].append((False, chunks[0], None))
        for chunk in chunks[1:]:
            segments.append([(False, chunk, None)])
    if final_from is None:
        return [_part(segment) for segment in segments]
    head = [_part(segment) for segment in segments[:final_from]]
    tail = [token for segment in segments[final_from:] for token in segment]
    return [*head, *_final_parts(tail)]


def _weight(tokens: list[_Token]) -> tuple[Any, ...]:
    """Sort key among a state's converter parts: more static text first, then more
    converters, then lighter (more specific) converters."""
    texts = [text for is_variable, text, _ in tokens if not is_variable and text]
    statics = [(index, -len(text)) for index, text in enumerate(texts)]
    arguments = [converter.weight for _, _, converter in tokens if converter is not None]
    return (-len(statics), statics, -len(arguments), arguments)


def _regex(tokens: list[_Token]) -> tuple[str, tuple[str, ...]]:
    pieces: list[str] = []
    names: list[str] = []
    for _, text, converter in tokens:
        if converter is None:
            pieces.append(re.escape(text))
        else:
            names.append(f"v{len(names)}")
            pieces.append(f"(?P<{names[-1]}>{converter.regex})")
    return "".join(pieces), tuple(names)


def _part(tokens: list[_Token]) -> _Part:
    if all(converter is None for _, _, converter in tokens):
        return _Part("".join(text for _, text, _ in tokens))
    regex, names = _regex(tokens)
    return _Part(None, regex + r"\Z", names, weight=_weight(tokens))


def _final_parts(tokens: list[_Token]) -> list[_Part]:
    """The part that spans slashes. A trailing slash becomes optional in its regex, so
    that its absence is answered with a redirect rather than a 404."""
    regex, names = _regex(tokens)
    weight = _weight(tokens)
    if not regex.endswith("/"):
        return [_Part(None, regex + r"\Z", names, final=True, weight=weight)]
    regex = regex[:-1] + r"(?<!/)(?P<slash>/?)\Z"
    return [_Part(None, regex, names, final=True, suffixed=True, weight=weight), _Part("")]


def query_pairs(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(key, text)`` pairs; a list value (or a MultiDict's lists) repeats the key."""
    lists = getattr(values, "lists", None)
    items = lists() if callable(lists) else values.items()
    for key, value in items:
        for item in value if isinstance(value, list | tuple) else (value,):
            if item is not None:
                yield key, str(item)
