"""URL converters: what a ``<converter(args):name>`` variable matches and how its value
converts both ways. ``ValidationError`` from ``to_python`` means "try the next rule".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import uuid

    from treadle.routing.map import Map

# Characters left as they are in a URL path (the WHATWG path-segment safe set).
PATH_SAFE = "!$&'()*+,/:;=@"

# One ``name=value`` or ``value`` of a converter's arguments; compiled on first use (by
# re's own cache), as most apps never give a converter arguments.
_ARGUMENT = r"""\s*(?:(?P<name>\w+)\s*=\s*)?(?P<value>"[^"]*"|'[^']*'|[\w.+-]+)\s*(?:,|$)"""
_CONSTANTS: dict[str, Any] = {"None": None, "True": True, "False": False}


class ValidationError(ValueError):
    """Raised by a converter's ``to_python``: this rule does not match, try the next one."""


class BaseConverter:
    """Turns one URL variable into a Python value and back.

    ``regex`` is what the variable matches; a lower ``weight`` is tried first;
    a converter that is not ``part_isolating`` may match slashes.
    """

    regex: str = "[^/]+"
    weight: int = 100
    part_isolating: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "regex" in cls.__dict__ and "part_isolating" not in cls.__dict__:
            cls.part_isolating = "/" not in cls.regex

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        self.map = map

    def to_python(self, value: str) -> Any:
        return value

    def to_url(self, value: Any) -> str:
        return quote(str(value), safe=PATH_SAFE)


class UnicodeConverter(BaseConverter):
    """The default: one path segment, optionally of a given ``length`` or length range."""

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map)
        if length is not None:
            self.regex = f"[^/]{{{int(length)}}}"
        else:
            upper = "" if maxlength is None else str(int(maxlength))
            self.regex = f"[^/]{{{int(minlength)},{upper}}}"


class AnyConverter(BaseConverter):
    """One of the given items, e.g. ``<any(about, help, "a,b"):page>``."""

    def __init__(self, map: Map, *items: str) -> None:
        super().__init__(map)
        if not items:
            raise ValueError("the 'any' converter needs at least one item, e.g. <any(a, b):x>")
        self.items = set(items)
        self.regex = f"(?:{'|'.join(re.escape(item) for item in items)})"

    def to_url(self, value: Any) -> str:
        if value in self.items:
            return str(value)
        choices = ", ".join(repr(item) for item in sorted(self.items))
        raise ValueError(f"{value!r} is not one of {choices}")


class PathConverter(BaseConverter):
    """Like the default converter, but slashes are part of the value."""

    part_isolating = False
    regex = "[^/].*?"
    weight = 200


class NumberConverter(BaseConverter):
    """Shared by ``int`` and ``float``: optional fixed digits, bounds and sign."""

    weight = 50
    num_convert: Callable[[Any], Any] = int

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: float | None = None,
        max: float | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map)
        if signed:
            self.regex = f"-?{self.regex}"
        self.fixed_digits = fixed_digits
        self.min = min
        self.max = max
        self.signed = signed

    def to_python(self, value: str) -> Any:
        if self.fixed_digits and len(value) != self.fixed_digits:
            raise ValidationError()
        try:
            number = self.num_convert(value)
        except ValueError as error:
            raise ValidationError() from error
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        text = str(self.num_convert(value))
        return text.zfill(self.fixed_digits) if self.fixed_digits else text


class IntegerConverter(NumberConverter):
    """Unsigned integers unless ``signed=True``: ``<int:id>``, ``<int(min=1):page>``."""

    regex = r"\d+"


class FloatConverter(NumberConverter):
    """Floats written with a dot: ``<float:ratio>``."""

    regex = r"\d+\.\d+"
    num_convert = float

    def __init__(
        self, map: Map, min: float | None = None, max: float | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, min=min, max=max, signed=signed)


class UUIDConverter(BaseConverter):
    """A UUID in its canonical hyphenated form, given to the view as ``uuid.UUID``."""

    regex = r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        from uuid import UUID  # uuid loads platform: only apps with UUID routes pay for it

        return UUID(value)

    def to_url(self, value: Any) -> str:
        return str(value)


DEFAULT_CONVERTERS: Mapping[str, type[BaseConverter]] = MappingProxyType(
    {
        "default": UnicodeConverter,
        "string": UnicodeConverter,
        "any": AnyConverter,
        "path": PathConverter,
        "int": IntegerConverter,
        "float": FloatConverter,
        "uuid": UUIDConverter,
    }
)


def parse_converter_args(text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Parse ``1, "a", min=2`` from ``<conv(1, "a", min=2):x>`` into args and kwargs."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    position = 0
    text = text.strip()
    argument = re.compile(_ARGUMENT)
    while position < len(text):
        match = argument.match(text, position)
        if match is None:
            raise ValueError(f"cannot parse converter argument {text[position:]!r}")
        value = _literal(match["value"])
        if match["name"]:
            kwargs[match["name"]] = value
        else:
            args.append(value)
        position = match.end()
    return tuple(args), kwargs


def _literal(text: str) -> Any:
    if text[:1] in "\"'":
        return text[1:-1]
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text
