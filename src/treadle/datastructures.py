"""The containers requests and responses are made of: multi-dicts, headers and uploads.

They keep Werkzeug's names and semantics so Flask code runs unchanged; the parsed
header values (Accept, ETags, Range...) are re-exported from ``headervalues``.
Parsing header strings lives in ``httputil``, imported lazily so every module may import this one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar, overload

from treadle.headervalues import (
    Accept,
    Authorization,
    ContentRange,
    ETags,
    HeaderSet,
    LanguageAccept,
    MIMEAccept,
    Range,
    ResponseCacheControl,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "Accept",
    "Authorization",
    "CombinedMultiDict",
    "ContentRange",
    "ETags",
    "EnvironHeaders",
    "FileStorage",
    "HeaderSet",
    "Headers",
    "ImmutableMultiDict",
    "LanguageAccept",
    "MIMEAccept",
    "MultiDict",
    "Range",
    "ResponseCacheControl",
]

T = TypeVar("T")


def _missing_key(key: object) -> NoReturn:
    from treadle.exceptions import BadRequestKeyError  # exceptions imports us indirectly

    raise BadRequestKeyError(key)


def _pairs(mapping: Any) -> Iterator[tuple[Any, Any]]:
    """(key, value) pairs from a MultiDict, a dict of values or lists, or an iterable of pairs."""
    if isinstance(mapping, MultiDict):
        yield from mapping.items(multi=True)
    elif isinstance(mapping, Mapping):
        for key, value in mapping.items():
            if isinstance(value, list | tuple):
                for item in value:
                    yield key, item
            else:
                yield key, value
    elif mapping is not None:
        yield from mapping


class MultiDict(dict[Any, list[Any]]):
    """A dict where a key may hold several values; ``md[key]`` is the first one.

    A missing key raises ``BadRequestKeyError`` (a KeyError that is also a 400), so
    ``request.form["name"]`` answers a bad request instead of crashing the view.
    """

    def __init__(self, mapping: Any = None) -> None:
        super().__init__()
        if isinstance(mapping, MultiDict):
            for key, values in mapping.lists():
                dict.__setitem__(self, key, values)
        else:
            for key, value in _pairs(mapping):
                dict.setdefault(self, key, []).append(value)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return type(self), (list(self.items(multi=True)),)

    def __getitem__(self, key: Any) -> Any:
        values = dict.get(self, key)
        if values:
            return values[0]
        _missing_key(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, [value])

    def add(self, key: Any, value: Any) -> None:
        """Append a value to the key's list, keeping those already there."""
        dict.setdefault(self, key, []).append(value)

    def get(self, key: Any, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:
        """The first value, or ``default``; with ``type``, converted, or ``default`` if that fails."""
        values = dict.get(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (ValueError, TypeError):
            return default

    def getlist(self, key: Any, type: Callable[[Any], Any] | None = None) -> list[Any]:
        """Every value of the key (a copy); with ``type``, those that convert."""
        values = dict.get(self, key, ())
        if type is None:
            return list(values)
        result = []
        for value in values:
            with suppress(ValueError, TypeError):
                result.append(type(value))
        return result

    def setlist(self, key: Any, new_list: Iterable[Any]) -> None:
        dict.__setitem__(self, key, list(new_list))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def setlistdefault(self, key: Any, default_list: Iterable[Any] | None = None) -> list[Any]:
        if key not in self:
            dict.__setitem__(self, key, list(default_list or ()))
        return dict.__getitem__(self, key)

    def items(self, multi: bool = False) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        """(key, first value) pairs, or every (key, value) pair with ``multi=True``."""
        for key, values in dict.items(self):
            if multi:
                for value in values:
                    yield key, value
            elif values:
                yield key, values[0]

    def lists(self) -> Iterator[tuple[Any, list[Any]]]:
        for key, values in dict.items(self):
            yield key, list(values)

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        for values in dict.values(self):
            if values:
                yield values[0]

    def listvalues(self) -> Iterator[list[Any]]:
        return iter(dict.values(self))

    def copy(self) -> MultiDict:
        return MultiDict(self)

    def to_dict(self, flat: bool = True) -> dict[Any, Any]:
        """A plain dict: first values, or every value as a list with ``flat=False``."""
        if flat:
            return dict(self.items())
        return dict(self.lists())

    def update(self, mapping: Any = None, /, **kwargs: Any) -> None:
        """Add values from another mapping, extending (not replacing) existing keys."""
        for key, value in _pairs(mapping):
            self.add(key, value)
        for key, value in _pairs(kwargs):
            self.add(key, value)

    def pop(self, key: Any, *default: Any) -> Any:
        """Remove the key and return its first value."""
        try:
            values = dict.pop(self, key)
        except KeyError:
            if default:
                return default[0]
            _missing_key(key)
        if not values:
            if default:
                return default[0]
            _missing_key(key)
        return values[0]

    def poplist(self, key: Any) -> list[Any]:
        return dict.pop(self, key, [])

    def popitem(self) -> tuple[Any, Any]:
        key, values = dict.popitem(self)
        return key, values[0]

    def popitemlist(self) -> tuple[Any, list[Any]]:
        return dict.popitem(self)

    def __copy__(self) -> MultiDict:
        return self.copy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.items(multi=True))!r})"


class ImmutableMultiDict(MultiDict):
    """A MultiDict that refuses changes; ``copy()`` gives a mutable one."""

    def _immutable(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__!r} objects are immutable: call .copy() for a mutable MultiDict"
        )

    __setitem__ = __delitem__ = add = setlist = setlistdefault = _immutable
    update = pop = poplist = popitem = popitemlist = clear = _immutable

    def setdefault(self, key: Any, default: Any = None) -> NoReturn:
        self._immutable()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items(multi=True)))

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        self._immutable()


class CombinedMultiDict(ImmutableMultiDict):
    """A read-only view over several MultiDicts, earlier ones winning (``request.values``)."""

    def __init__(self, dicts: Iterable[MultiDict] | None = None) -> None:
        super().__init__()
        self.dicts: list[MultiDict] = list(dicts or ())

    def __reduce_ex__(self, protocol: Any) -> Any:
        return type(self), (self.dicts,)

    def __getitem__(self, key: Any) -> Any:
        for d in self.dicts:
            if key in d:
                return d[key]
        _missing_key(key)

    def get(self, key: Any, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:
        for d in self.dicts:
            if key in d:
                return d.get(key, default, type)
        return default

    def getlist(self, key: Any, type: Callable[[Any], Any] | None = None) -> list[Any]:
        result = []
        for d in self.dicts:
            result.extend(d.getlist(key, type))
        return result

    def _keys(self) -> list[Any]:
        return list(dict.fromkeys(key for d in self.dicts for key in d))

    def keys(self) -> Any:
        return self._keys()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key: object) -> bool:
        return any(key in d for d in self.dicts)

    def items(self, multi: bool = False) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        if multi:
            for d in self.dicts:
                yield from d.items(multi=True)
        else:
            for key in self._keys():
                yield key, self[key]

    def lists(self) -> Iterator[tuple[Any, list[Any]]]:
        for key in self._keys():
            yield key, self.getlist(key)

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        for _, value in self.items():
            yield value

    def listvalues(self) -> Iterator[list[Any]]:
        for _, values in self.lists():
            yield values

    def copy(self) -> MultiDict:
        return MultiDict(list(self.items(multi=True)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CombinedMultiDict):
            return self.dicts == other.dicts
        if isinstance(other, Mapping):
            return dict(self.lists()) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items(multi=True)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dicts!r})"


def _header_value(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"Header values must not contain newline characters: {text!r}")
    return text


def _with_options(value: object, options: dict[str, Any]) -> str:
    if not options:
        return _header_value(value)
    from treadle.httputil import dump_options_header

    named = {key.replace("_", "-"): option for key, option in options.items()}
    return _header_value(dump_options_header(str(value), named))


class Headers:
    """Ordered, case-insensitive HTTP headers that may repeat; iterates (name, value) pairs.

    ``headers["X"]`` is the first value; a missing name raises ``BadRequestKeyError``.
    """

    __slots__ = ("_list",)

    def __init__(self, defaults: Any = None) -> None:
        self._list: list[tuple[str, str]] = []
        if defaults is not None:
            self.extend(defaults)

    @overload
    def __getitem__(self, key: str) -> str: ...
    @overload
    def __getitem__(self, key: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, key: slice) -> Headers: ...
    def __getitem__(self, key: str | int | slice) -> str | tuple[str, str] | Headers:
        if isinstance(key, str):
            lowered = key.lower()
            for name, value in self._list:
                if name.lower() == lowered:
                    return value
            _missing_key(key)
        if isinstance(key, int):
            return self._list[key]
        return Headers(self._list[key])

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:
        lowered = key.lower()
        for name, value in self._list:
            if name.lower() == lowered:
                if type is None:
                    return value
                try:
                    return type(value)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key: str, type: Callable[[str], Any] | None = None) -> list[Any]:
        lowered = key.lower()
        result = []
        for name, value in self._list:
            if name.lower() == lowered:
                if type is None:
                    result.append(value)
                else:
                    with suppress(ValueError, TypeError):
                        result.append(type(value))
        return result

    get_all = getlist

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lowered = key.lower()
        return any(name.lower() == lowered for name, _ in self._list)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __bool__(self) -> bool:
        return bool(self._list)

    def keys(self, lower: bool = False) -> Iterator[str]:
        for name, _ in self:
            yield name.lower() if lower else name

    def values(self) -> Iterator[str]:
        for _, value in self:
            yield value

    def items(self, lower: bool = False) -> Iterator[tuple[str, str]]:
        for name, value in self:
            yield (name.lower() if lower else name), value

    def add(self, key: str, value: object, **options: Any) -> None:
        """Append a header; keyword options become ``; name=value`` parameters."""
        self._list.append((_header_value(key), _with_options(value, options)))

    add_header = add

    def set(self, key: str, value: object, **options: Any) -> None:
        """Replace every header of that name with one value, keeping the first one's position."""
        new = (_header_value(key), _with_options(value, options))
        lowered = key.lower()
        items = self._list
        for index, (name, _) in enumerate(items):
            if name.lower() == lowered:
                items[index] = new
                rest = items[index + 1 :]
                if any(other.lower() == lowered for other, _ in rest):
                    items[index + 1 :] = [item for item in rest if item[0].lower() != lowered]
                return
        items.append(new)

    def setlist(self, key: str, values: Iterable[object]) -> None:
        values = list(values)
        if not values:
            self.remove(key)
            return
        self.set(key, values[0])
        for value in values[1:]:
            self.add(key, value)

    def setdefault(self, key: str, default: object) -> str:
        value = self.get(key)
        if value is None:
            self.add(key, default)
            return _header_value(default)
        return str(value)

    def setlistdefault(self, key: str, default: Iterable[object]) -> list[str]:
        if key not in self:
            self.setlist(key, default)
        return self.getlist(key)

    def extend(self, *args: Any, **kwargs: Any) -> None:
        """Add every header from a mapping, Headers or iterable of pairs, keeping existing ones."""
        if len(args) > 1:
            raise TypeError(f"extend() takes at most one positional argument, got {len(args)}")
        if args:
            source = args[0]
            pairs = source if isinstance(source, Headers) else _pairs(source)
            for key, value in pairs:
                self.add(key, value)
        for key, value in _pairs(kwargs):
            self.add(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Replace the named headers with the values given (lists set several values)."""
        if len(args) > 1:
            raise TypeError(f"update() takes at most one positional argument, got {len(args)}")
        incoming = Headers()
        if args:
            incoming.extend(args[0])
        incoming.extend(kwargs)
        names = {name.lower(): name for name, _ in reversed(incoming._list)}
        for name in names.values():
            self.setlist(name, incoming.getlist(name))

    def remove(self, key: str) -> None:
        lowered = key.lower()
        self._list = [item for item in self._list if item[0].lower() != lowered]

    def __delitem__(self, key: str | int | slice) -> None:
        if isinstance(key, str):
            self.remove(key)
        else:
            del self._list[key]

    def __setitem__(self, key: str | int, value: Any) -> None:
        if isinstance(key, str):
            self.set(key, value)
        else:
            name, text = value
            self._list[key] = (_header_value(name), _header_value(text))

    def pop(self, key: str | int | None = None, default: Any = ...) -> Any:
        if key is None:
            return self._list.pop()
        if isinstance(key, int):
            return self._list.pop(key)
        try:
            value = self[key]
        except KeyError:
            if default is ...:
                raise
            return default
        self.remove(key)
        return value

    def popitem(self) -> tuple[str, str]:
        return self._list.pop()

    def clear(self) -> None:
        self._list.clear()

    def copy(self) -> Headers:
        new = Headers()
        new._list = list(self._list)
        return new

    __copy__ = copy

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        """The headers as the list ``start_response`` takes."""
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        mine = sorted((name.lower(), value) for name, value in self)
        return mine == sorted((name.lower(), value) for name, value in other)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return "".join(f"{name}: {value}\r\n" for name, value in self) + "\r\n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class EnvironHeaders(Headers):
    """The request headers, read lazily from a WSGI environ; changing them is an error."""

    __slots__ = ("environ",)

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ

    @staticmethod
    def _environ_key(key: str) -> str:
        key = key.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            return key
        return "HTTP_" + key

    @property
    def _list(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return list(self)

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            return list(self)[key]
        value = self.environ.get(self._environ_key(key))
        if value is None:
            _missing_key(key)
        return value

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:
        value = self.environ.get(self._environ_key(key))
        if value is None:
            return default
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    def getlist(self, key: str, type: Callable[[str], Any] | None = None) -> list[Any]:
        value = self.get(key, None, type)
        return [] if value is None else [value]

    get_all = getlist

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._environ_key(key) in self.environ

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                    continue
                yield key[5:].replace("_", "-").title(), value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.replace("_", "-").title(), value

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def copy(self) -> NoReturn:
        raise TypeError(f"cannot copy {type(self).__name__}: use Headers(request.headers)")

    def _immutable(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("request headers are read-only: build a Headers() to change them")

    add = add_header = set = setlist = setdefault = setlistdefault = _immutable
    extend = update = remove = pop = popitem = clear = _immutable
    __delitem__ = __setitem__ = _immutable


class FileStorage:
    """One uploaded file: a stream plus the filename, field name and headers it came with."""

    def __init__(
        self,
        stream: IO[bytes] | None = None,
        filename: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        from io import BytesIO

        self.name = name
        self.stream: IO[bytes] = stream if stream is not None else BytesIO()
        if filename is None:
            guessed = getattr(stream, "name", None)
            if isinstance(guessed, str) and not guessed.startswith("<"):
                filename = os.path.basename(guessed)
        self.filename = filename
        self.headers = headers if headers is not None else Headers()
        if content_type is not None:
            self.headers.set("Content-Type", content_type)
        if content_length is not None:
            self.headers.set("Content-Length", str(content_length))

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")  # type: ignore[no-any-return]

    @property
    def content_length(self) -> int:
        length = self.headers.get("Content-Length", 0, type=int)
        return max(int(length), 0)

    @property
    def mimetype(self) -> str:
        """The content type without parameters, lower-cased (``text/plain``)."""
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        from treadle.httputil import parse_options_header

        return parse_options_header(self.content_type)[1]

    def save(self, dst: str | os.PathLike[str] | IO[bytes], buffer_size: int = 16384) -> None:
        """Copy the upload to a path or an open binary file (which stays open)."""
        import shutil  # shutil loads bz2 and lzma: only saving an upload needs it

        if isinstance(dst, str | os.PathLike):
            with open(dst, "wb") as out:
                shutil.copyfileobj(self.stream, out, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        self.stream.close()

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __getattr__(self, name: str) -> Any:
        # read, seek, tell... go to the stream, as file-handling code expects.
        if name == "stream":
            raise AttributeError(name)
        return getattr(self.stream, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.filename!r} ({self.content_type!r})>"
