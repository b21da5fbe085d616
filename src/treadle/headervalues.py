"""Parsed header values: Accept-*, ETags, Range, Content-Range, Authorization, Cache-Control.

Small value classes with Werkzeug's names (re-exported by ``datastructures``); the
parsers that build them from header strings live in ``httputil``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "Accept",
    "Authorization",
    "ContentRange",
    "ETags",
    "HeaderSet",
    "LanguageAccept",
    "MIMEAccept",
    "Range",
    "ResponseCacheControl",
]


class Accept(tuple[tuple[str, float], ...]):
    """A parsed Accept-* header: (value, quality) pairs, most specific and preferred first.

    ``provided`` tells whether the client sent the header at all.
    """

    provided: bool

    def __new__(cls, values: Iterable[tuple[str, float]] | None = ()) -> Accept:
        if values is None:
            self = super().__new__(cls, ())
            self.provided = False
            return self
        ordered = sorted(
            values, key=lambda item: (cls._specificity(item[0]), item[1]), reverse=True
        )
        self = super().__new__(cls, ordered)
        self.provided = True
        return self

    @staticmethod
    def _specificity(value: str) -> tuple[bool, ...]:
        return (value != "*",)

    def _normalize(self, value: str) -> str:
        return value.lower()

    def _matches(self, offered: str, accepted: str) -> bool:
        return accepted == "*" or self._normalize(offered) == self._normalize(accepted)

    def quality(self, key: str) -> float:
        """The client's quality for ``key``: that of the most specific entry matching it."""
        for accepted, quality in self:
            if self._matches(key, accepted):
                return quality
        return 0.0

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.quality(key)
        return super().__getitem__(key)

    def __contains__(self, value: object) -> bool:
        """Whether the client accepts ``value`` (matches an entry with quality above 0)."""
        return isinstance(value, str) and self.quality(value) > 0

    def values(self) -> Iterator[str]:
        for value, _ in self:
            yield value

    def find(self, key: str) -> int:
        """The position of the entry equal to ``key``, or -1."""
        for index, (value, _) in enumerate(self):
            if self._normalize(value) == self._normalize(key):
                return index
        return -1

    def best_match(self, matches: Iterable[str], default: str | None = None) -> str | None:
        """The offer the client prefers; ties go to the earlier offer (the server's preference)."""
        result = default
        best: tuple[float, tuple[bool, ...]] = (0.0, ())
        for offered in matches:
            for accepted, quality in self:
                if self._matches(offered, accepted):
                    rank = (quality, self._specificity(accepted))
                    if quality > 0 and rank > best:
                        best = rank
                        result = offered
                    break
        return result

    @property
    def best(self) -> str | None:
        return self[0][0] if self else None

    def to_header(self) -> str:
        return ",".join(value if q == 1 else f"{value};q={q}" for value, q in self)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


def _split_mime(value: str) -> tuple[str, str, str]:
    base, _, params = value.partition(";")
    kind, _, subtype = base.strip().lower().partition("/")
    return kind, subtype or "*", params.replace(" ", "").lower()


class MIMEAccept(Accept):
    """The Accept header: ``type/subtype`` values with ``*`` wildcards on either side."""

    @staticmethod
    def _specificity(value: str) -> tuple[bool, ...]:
        kind, subtype, params = _split_mime(value)
        return (kind != "*", subtype != "*", bool(params))

    def _matches(self, offered: str, accepted: str) -> bool:
        a_kind, a_sub, a_params = _split_mime(accepted)
        o_kind, o_sub, o_params = _split_mime(offered)
        if a_kind == "*" and a_sub == "*":
            return True
        if a_kind != o_kind and a_kind != "*":
            return False
        if a_sub != o_sub and a_sub != "*":
            return False
        return not a_params or a_params == o_params

    @property
    def accept_html(self) -> bool:
        return self.quality("text/html") > 0 or self.accept_xhtml

    @property
    def accept_xhtml(self) -> bool:
        return self.quality("application/xhtml+xml") > 0

    @property
    def accept_json(self) -> bool:
        return self.quality("application/json") > 0


class LanguageAccept(Accept):
    """Accept-Language: ``en`` matches ``en-US`` and the other way round."""

    def _normalize(self, value: str) -> str:
        return value.lower().replace("_", "-")

    def _matches(self, offered: str, accepted: str) -> bool:
        if accepted == "*":
            return True
        offered, accepted = self._normalize(offered), self._normalize(accepted)
        return (
            offered == accepted
            or offered.startswith(accepted + "-")
            or accepted.startswith(offered + "-")
        )


class ETags:
    """A parsed If-Match / If-None-Match: strong tags, weak tags, or ``*``."""

    __slots__ = ("_strong", "_weak", "star_tag")

    def __init__(
        self,
        strong_etags: Iterable[str] | None = None,
        weak_etags: Iterable[str] | None = None,
        star_tag: bool = False,
    ) -> None:
        self._strong = frozenset(strong_etags or ())
        self._weak = frozenset(weak_etags or ())
        self.star_tag = star_tag

    def as_set(self, include_weak: bool = False) -> set[str]:
        return set(self._strong | self._weak) if include_weak else set(self._strong)

    def is_weak(self, etag: str) -> bool:
        return etag in self._weak

    def is_strong(self, etag: str) -> bool:
        return etag in self._strong

    def contains(self, etag: str) -> bool:
        """Strong comparison: ``*`` or one of the strong tags."""
        return self.star_tag or etag in self._strong

    def contains_weak(self, etag: str) -> bool:
        """Weak comparison, the one If-None-Match uses."""
        return self.star_tag or etag in self._strong or etag in self._weak

    def contains_raw(self, etag: str) -> bool:
        """Check a tag as sent (``W/"x"`` or ``"x"``)."""
        from treadle.httputil import unquote_etag

        tag, weak = unquote_etag(etag)
        if tag is None:
            return False
        return self.contains_weak(tag) if weak else self.contains(tag)

    def to_header(self) -> str:
        if self.star_tag:
            return "*"
        strong = [f'"{tag}"' for tag in sorted(self._strong)]
        return ", ".join(strong + [f'W/"{tag}"' for tag in sorted(self._weak)])

    def __contains__(self, etag: object) -> bool:
        return isinstance(etag, str) and self.contains(etag)

    def __iter__(self) -> Iterator[str]:
        return iter(self._strong)

    def __bool__(self) -> bool:
        return bool(self.star_tag or self._strong or self._weak)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class ContentRange:
    """A Content-Range value: ``units start-(stop-1)/length``; ``stop`` is exclusive."""

    __slots__ = ("length", "start", "stop", "units")

    def __init__(self, units: str, start: int | None, stop: int | None, length: int | None) -> None:
        self.units = units
        self.start = start
        self.stop = stop
        self.length = length

    def to_header(self) -> str:
        length = "*" if self.length is None else str(self.length)
        if self.start is None or self.stop is None:
            return f"{self.units} */{length}"
        return f"{self.units} {self.start}-{self.stop - 1}/{length}"

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class Range:
    """A parsed Range header: (start, stop) pairs with ``stop`` exclusive or None (to the end).

    A negative start with stop None is a suffix range (``bytes=-500``: the last 500).
    """

    __slots__ = ("ranges", "units")

    def __init__(self, units: str, ranges: list[tuple[int, int | None]]) -> None:
        self.units = units
        self.ranges = ranges

    def range_for_length(self, length: int | None) -> tuple[int, int] | None:
        """The one satisfiable (start, stop) for a body of ``length`` bytes, or None."""
        if self.units != "bytes" or length is None or len(self.ranges) != 1:
            return None
        start, stop = self.ranges[0]
        if stop is None:
            stop = length
            if start < 0:
                start = max(length + start, 0)
        if start >= length or start >= stop:
            return None
        return start, min(stop, length)

    def make_content_range(self, length: int | None) -> ContentRange | None:
        found = self.range_for_length(length)
        if found is None:
            return None
        return ContentRange(self.units, found[0], found[1], length)

    def to_header(self) -> str:
        parts = []
        for start, stop in self.ranges:
            if stop is None:
                parts.append(str(start) if start < 0 else f"{start}-")
            else:
                parts.append(f"{start}-{stop - 1}")
        return f"{self.units}={','.join(parts)}"

    def to_content_range_header(self, length: int | None) -> str | None:
        found = self.make_content_range(length)
        return None if found is None else found.to_header()

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class Authorization:
    """A parsed Authorization header: ``type`` plus either ``parameters`` or a ``token``.

    For Basic, ``username`` and ``password`` are read from the parameters.
    """

    __slots__ = ("parameters", "token", "type")

    def __init__(
        self, auth_type: str, data: dict[str, str] | None = None, token: str | None = None
    ) -> None:
        self.type = auth_type.lower()
        self.parameters = data or {}
        self.token = token

    @property
    def username(self) -> str | None:
        return self.parameters.get("username")

    @property
    def password(self) -> str | None:
        return self.parameters.get("password")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.parameters.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self.parameters[key]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Authorization):
            return NotImplemented
        return (self.type, self.parameters, self.token) == (
            other.type,
            other.parameters,
            other.token,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}>"


def _cache_flag(name: str) -> property:
    def read(self: ResponseCacheControl) -> bool:
        return name in self.directives

    def write(self: ResponseCacheControl, value: bool) -> None:
        if value:
            self.directives[name] = None
        else:
            self.directives.pop(name, None)
        self._changed()

    return property(read, write, doc=f"The ``{name}`` directive.")


def _cache_seconds(name: str) -> property:
    def read(self: ResponseCacheControl) -> int | None:
        value = self.directives.get(name)
        try:
            return None if value is None else int(value)
        except ValueError:
            return None

    def write(self: ResponseCacheControl, value: int | None) -> None:
        if value is None:
            self.directives.pop(name, None)
        else:
            self.directives[name] = str(int(value))
        self._changed()

    return property(read, write, doc=f"The ``{name}`` directive, in seconds.")


class ResponseCacheControl:
    """Cache-Control directives as attributes; every change rewrites the response header."""

    __slots__ = ("directives", "on_update")

    def __init__(
        self,
        directives: dict[str, str | None] | None = None,
        on_update: Callable[[ResponseCacheControl], None] | None = None,
    ) -> None:
        self.directives = directives or {}
        self.on_update = on_update

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    no_cache = _cache_flag("no-cache")
    no_store = _cache_flag("no-store")
    no_transform = _cache_flag("no-transform")
    public = _cache_flag("public")
    private = _cache_flag("private")
    must_revalidate = _cache_flag("must-revalidate")
    proxy_revalidate = _cache_flag("proxy-revalidate")
    immutable = _cache_flag("immutable")
    max_age = _cache_seconds("max-age")
    s_maxage = _cache_seconds("s-maxage")

    def to_header(self) -> str:
        return ", ".join(
            name if value is None else f"{name}={value}" for name, value in self.directives.items()
        )

    def __bool__(self) -> bool:
        return bool(self.directives)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_header()!r}>"


class HeaderSet:
    """A comma-separated header as an ordered, case-insensitive set (Vary, Allow).

    Every change calls ``on_update`` so the owning response rewrites its header.
    """

    __slots__ = ("_items", "on_update")

    def __init__(
        self,
        headers: Iterable[str] | None = None,
        on_update: Callable[[HeaderSet], None] | None = None,
    ) -> None:
        self._items: list[str] = []
        for item in headers or ():
            if item.lower() not in self:
                self._items.append(item)
        self.on_update = on_update

    def _changed(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def add(self, header: str) -> None:
        if header.lower() not in self:
            self._items.append(header)
            self._changed()

    def update(self, headers: Iterable[str]) -> None:
        changed = False
        for header in headers:
            if header.lower() not in self:
                self._items.append(header)
                changed = True
        if changed:
            self._changed()

    def discard(self, header: str) -> None:
        lowered = header.lower()
        kept = [item for item in self._items if item.lower() != lowered]
        if len(kept) != len(self._items):
            self._items = kept
            self._changed()

    def remove(self, header: str) -> None:
        if header not in self:
            raise KeyError(header)
        self.discard(header)

    def clear(self) -> None:
        self._items.clear()
        self._changed()

    def as_set(self, preserve_casing: bool = False) -> set[str]:
        return {item if preserve_casing else item.lower() for item in self._items}

    def to_header(self) -> str:
        return ", ".join(self._items)

    def __contains__(self, header: object) -> bool:
        if not isinstance(header, str):
            return False
        lowered = header.lower()
        return any(item.lower() == lowered for item in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __str__(self) -> str:
        return self.to_header()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"
