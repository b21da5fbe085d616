"""HTTP field helpers for the app layer: status reasons, dates, options headers, cookies, ETags, ranges.

Everything here is pure (strings in, values out) and tolerant where browsers are
tolerant: parsers return None or skip junk instead of raising. ``HTTP_STATUS_CODES``
is the one table of reason phrases; every other module reads it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from treadle.datastructures import (
    Accept,
    Authorization,
    ContentRange,
    ETags,
    MultiDict,
    Range,
    ResponseCacheControl,
)
from treadle.http.status import HTTP_STATUS_CODES

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "HTTP_STATUS_CODES",
    "dump_cookie",
    "dump_options_header",
    "escape_html",
    "generate_etag",
    "get_content_type",
    "http_date",
    "iri_to_uri",
    "is_resource_modified",
    "parse_accept_header",
    "parse_authorization_header",
    "parse_cache_control_header",
    "parse_content_range_header",
    "parse_cookie",
    "parse_date",
    "parse_dict_header",
    "parse_etags",
    "parse_if_range_header",
    "parse_list_header",
    "parse_options_header",
    "parse_query_string",
    "parse_range_header",
    "quote_etag",
    "quote_header_value",
    "unquote_etag",
]



_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(value: datetime | date | float | None = None) -> str:
    """Format a moment as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``).

    Naive datetimes are taken as UTC; numbers are Unix timestamps; None is now.
    """
    if value is None:
        dt = datetime.now(UTC)
    elif isinstance(value, datetime):
        dt = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        dt = datetime.fromtimestamp(value, UTC)
    return (
        f"{_WEEKDAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} GMT"
    )


def parse_date(value: str | None) -> datetime | None:
    """Parse any of the three HTTP date formats into an aware UTC datetime; junk gives None."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime  # email.* costs ~10 ms at start-up

    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- parameters: "text/html; charset=utf-8" --------------------------------------------

_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def _is_token(value: str) -> bool:
    return bool(value) and all(char in _TOKEN_CHARS for char in value)


def quote_header_value(value: object) -> str:
    """A token stays bare; anything else becomes a quoted string with ``\\`` and ``"`` escaped."""
    text = str(value)
    if _is_token(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read_quoted(text: str, pos: int, keep_backslashes: bool) -> tuple[str, int]:
    """Read a quoted string starting after its opening quote; return (value, index after it)."""
    out: list[str] = []
    n = len(text)
    while pos < n:
        char = text[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < n and (not keep_backslashes or text[pos + 1] == '"'):
            out.append(text[pos + 1])
            pos += 2
            continue
        out.append(char)
        pos += 1
    return "".join(out), n  # unterminated: take what there is, as browsers do


def parse_options_header(value: str | None) -> tuple[str, dict[str, str]]:
    """Split ``value; key=val; key="quoted"`` into the value and a dict of lower-cased keys.

    ``key*=utf-8''%e2%82%ac`` (RFC 2231) is decoded into ``key``. Parameters without ``=``
    are skipped. A quoted ``filename`` keeps its backslashes, since browsers send Windows
    paths unescaped.
    """
    if not value:
        return "", {}
    main, sep, rest = value.partition(";")
    main = main.strip()
    if not sep:
        return main, {}
    params: dict[str, str] = {}
    extended: set[str] = set()
    pos, n = 0, len(rest)
    while pos < n:
        while pos < n and rest[pos] in " \t;":
            pos += 1
        end = pos
        while end < n and rest[end] not in "=;":
            end += 1
        key = rest[pos:end].strip().lower()
        if end >= n or rest[end] == ";":
            pos = end
            continue
        pos = end + 1
        while pos < n and rest[pos] in " \t":
            pos += 1
        if pos < n and rest[pos] == '"':
            item, pos = _read_quoted(rest, pos + 1, keep_backslashes=key == "filename")
        else:
            end = rest.find(";", pos)
            end = n if end < 0 else end
            item, pos = rest[pos:end].strip(), end
        if not key:
            continue
        if key.endswith("*"):
            key = key[:-1]
            charset, _, encoded = item.partition("'")
            _language, _, encoded = encoded.partition("'")
            try:
                item = unquote(encoded, encoding=charset or "utf-8", errors="replace")
            except LookupError:  # an unknown charset name
                item = unquote(encoded, errors="replace")
            extended.add(key)
        elif key in extended:
            continue  # the RFC 2231 form wins over the plain fallback, wherever it appears
        params[key] = item
    return main, params


def dump_options_header(header: str | None, options: Mapping[str, object]) -> str:
    """The inverse of ``parse_options_header``; a None option is written as a bare key."""
    parts = [header] if header else []
    for key, value in options.items():
        parts.append(key if value is None else f"{key}={quote_header_value(value)}")
    return "; ".join(parts)


def parse_list_header(value: str | None) -> list[str]:
    """Split a comma-separated header, honouring quoted strings (which are unquoted)."""
    if not value:
        return []
    items: list[str] = []
    current: list[str] = []
    pos, n = 0, len(value)
    while pos < n:
        char = value[pos]
        if char == '"':
            quoted, pos = _read_quoted(value, pos + 1, keep_backslashes=False)
            current.append(quoted)
            continue
        if char == ",":
            item = "".join(current).strip()
            if item:
                items.append(item)
            current = []
        else:
            current.append(char)
        pos += 1
    item = "".join(current).strip()
    if item:
        items.append(item)
    return items


def parse_dict_header(value: str | None) -> dict[str, str | None]:
    """``a=1, b="two", c`` -> ``{"a": "1", "b": "two", "c": None}`` (keys lower-cased)."""
    result: dict[str, str | None] = {}
    for item in parse_list_header(value):
        key, sep, val = item.partition("=")
        key = key.strip().lower()
        if key:
            result[key] = val.strip() if sep else None
    return result


def get_content_type(mimetype: str, charset: str) -> str:
    """Add ``; charset=`` to text types (text/*, XML, JavaScript) that lack one."""
    if "charset" in mimetype:
        return mimetype
    if mimetype.startswith("text/") or mimetype in _CHARSET_MIMETYPES or mimetype.endswith("+xml"):
        return f"{mimetype}; charset={charset}"
    return mimetype


_CHARSET_MIMETYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/sql",
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    }
)


# --- cookies ----------------------------------------------------------------------------

# RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon, backslash.
_COOKIE_UNSAFE = re.compile(r"[^\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]")
_COOKIE_SAFE_BYTES = frozenset(b for b in range(0x21, 0x7F) if b not in (0x22, 0x2C, 0x3B, 0x5C))
_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7]{2})|(.))")
_COOKIE_PATH_SAFE = "%!$&'()*+,/:=@"
_SAMESITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def _quote_cookie(value: str) -> str:
    if not _COOKIE_UNSAFE.search(value):
        return value
    chars = [chr(b) if b in _COOKIE_SAFE_BYTES else f"\\{b:03o}" for b in value.encode()]
    return '"' + "".join(chars) + '"'


def _unescape_cookie(match: re.Match[str]) -> str:
    octal = match.group(1)
    return chr(int(octal, 8)) if octal else match.group(2)


def _unquote_cookie(value: str) -> str:
    if "\\" not in value:
        return value
    raw = _COOKIE_ESCAPE.sub(_unescape_cookie, value)
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # real non-ASCII text was quoted too; keep it as is
        return raw


def parse_cookie(header: str | None, cls: type[MultiDict] | None = None) -> MultiDict:
    """Parse a Cookie header as browsers do: skip junk, never raise, keep repeated names.

    The header is expected as WSGI gives it (latin-1 decoded); UTF-8 bytes are recovered.
    """
    cls = cls or MultiDict
    if not header:
        return cls()
    if not header.isascii():
        with suppress(UnicodeEncodeError):  # else it is already proper text
            header = header.encode("latin-1").decode("utf-8", "replace")
    pairs: list[tuple[str, str]] = []
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = _unquote_cookie(value[1:-1])
        pairs.append((name, value))
    return cls(pairs)


def dump_cookie(
    key: str,
    value: str = "",
    max_age: timedelta | int | None = None,
    expires: str | datetime | float | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = None,
    partitioned: bool = False,
    max_size: int = 4093,
) -> str:
    """Build a Set-Cookie value. Values outside RFC 6265's safe set are quoted and escaped.

    ``max_age`` without ``expires`` also sets Expires, for old clients. ``partitioned``
    implies ``secure``. A cookie larger than ``max_size`` bytes is sent with a warning,
    since browsers silently drop it.
    """
    if not _is_token(key):
        raise ValueError(
            f"invalid cookie name {key!r}: use letters, digits and !#$%&'*+-.^_`|~ only"
        )
    parts = [f"{key}={_quote_cookie(value)}"]
    if domain:
        if any(char in domain for char in ";, \t\r\n"):
            raise ValueError(f"invalid cookie domain {domain!r}: it must be a bare host name")
        parts.append(f"Domain={domain}")
    if isinstance(max_age, timedelta):
        max_age = int(max_age.total_seconds())
    if expires is None and max_age is not None:
        expires = datetime.now(UTC) + timedelta(seconds=max_age)
    if expires is not None:
        parts.append(f"Expires={expires if isinstance(expires, str) else http_date(expires)}")
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
    if secure or partitioned:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if path is not None:
        parts.append("Path=" + quote(path, safe=_COOKIE_PATH_SAFE))
    if samesite is not None:
        canonical = _SAMESITE.get(samesite.lower())
        if canonical is None:
            raise ValueError(f"SameSite must be 'Strict', 'Lax' or 'None', not {samesite!r}")
        parts.append(f"SameSite={canonical}")
    if partitioned:
        parts.append("Partitioned")
    cookie = "; ".join(parts)
    size = len(cookie.encode())
    if max_size and size > max_size:
        warnings.warn(
            f"The {key!r} cookie is {size} bytes, over the {max_size}-byte limit browsers"
            " enforce; they will probably ignore it. Store less in it.",
            stacklevel=2,
        )
    return cookie


# --- ETags and conditional requests ----------------------------------------------------


def quote_etag(etag: str, weak: bool = False) -> str:
    """Wrap a tag in quotes (and ``W/`` when weak) for the ETag header."""
    if '"' in etag:
        raise ValueError(f"an ETag cannot contain a double quote: {etag!r}")
    return f'W/"{etag}"' if weak else f'"{etag}"'


def unquote_etag(etag: str | None) -> tuple[str | None, bool]:
    """``W/"abc"`` -> ``("abc", True)``; None stays None."""
    if not etag:
        return None, False
    etag = etag.strip()
    weak = etag[:2] in ("W/", "w/")
    if weak:
        etag = etag[2:]
    if len(etag) >= 2 and etag[0] == etag[-1] == '"':
        etag = etag[1:-1]
    return etag, weak


def generate_etag(data: bytes) -> str:
    """A tag for a body: its SHA-1, used as a fingerprint, not for security."""
    from hashlib import sha1  # OpenSSL's loading is deferred until a tag is wanted

    return sha1(data, usedforsecurity=False).hexdigest()


def parse_etags(value: str | None) -> ETags:
    """Parse If-Match / If-None-Match; unquoted tags are accepted, as clients send them."""
    if not value:
        return ETags()
    strong: list[str] = []
    weak: list[str] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and value[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        is_weak = value[pos : pos + 2] in ("W/", "w/")
        if is_weak:
            pos += 2
        if pos < n and value[pos] == '"':
            end = value.find('"', pos + 1)
            end = n if end < 0 else end
            tag, pos = value[pos + 1 : end], end + 1
        else:
            end = value.find(",", pos)
            end = n if end < 0 else end
            tag, pos = value[pos:end].strip(), end
        if tag == "*" and not is_weak:
            return ETags(star_tag=True)
        (weak if is_weak else strong).append(tag)
    return ETags(strong, weak)


def parse_if_range_header(value: str | None) -> tuple[str | None, datetime | None]:
    """If-Range holds a date or an ETag: return (etag, None) or (None, date)."""
    if not value:
        return None, None
    when = parse_date(value)
    if when is not None:
        return None, when
    return unquote_etag(value)[0], None


def is_resource_modified(
    environ: WSGIEnvironment,
    etag: str | None = None,
    data: bytes | None = None,
    last_modified: datetime | str | None = None,
    ignore_if_range: bool = True,
) -> bool:
    """Whether the client's cached copy is stale (so a 304 would be wrong).

    If-None-Match is checked first and, when present, If-Modified-Since is ignored
    (RFC 9110 13.2.2). With ``ignore_if_range=False`` and a Range request, If-Range
    decides instead.
    """
    if data is not None:
        if etag is not None:
            raise TypeError("pass either etag or data to is_resource_modified, not both")
        etag = generate_etag(data)
    if isinstance(last_modified, str):
        last_modified = parse_date(last_modified)
    if last_modified is not None:
        last_modified = last_modified.replace(microsecond=0)
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=UTC)
    if etag is not None:
        etag = unquote_etag(etag)[0]

    if not ignore_if_range and "HTTP_RANGE" in environ:
        range_etag, range_date = parse_if_range_header(environ.get("HTTP_IF_RANGE"))
        if range_date is not None:
            return last_modified is None or last_modified > range_date
        if range_etag is not None:
            return etag is None or range_etag != etag  # If-Range uses strong comparison

    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return etag is None or not parse_etags(if_none_match).contains_weak(etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    if since is not None and last_modified is not None:
        return last_modified > since
    return True


# --- Range and Content-Range -----------------------------------------------------------


def _digits(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # longer than int() accepts
        return None


def parse_range_header(value: str | None) -> Range | None:
    """Parse ``bytes=0-499,-500,9500-``; anything malformed gives None (serve it whole)."""
    if not value or "=" not in value:
        return None
    units, _, spec = value.partition("=")
    units = units.strip().lower()
    ranges: list[tuple[int, int | None]] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        first, sep, last = item.partition("-")
        if not sep:
            return None
        if not first.strip():
            suffix = _digits(last)
            if not suffix:  # "-" alone, junk, or "-0", which no body can satisfy usefully
                return None
            ranges.append((-suffix, None))
            continue
        start = _digits(first)
        if start is None:
            return None
        if not last.strip():
            ranges.append((start, None))
            continue
        end = _digits(last)
        if end is None or end < start:
            return None
        ranges.append((start, end + 1))
    return Range(units, ranges) if ranges else None


def parse_content_range_header(value: str | None) -> ContentRange | None:
    """Parse ``bytes 0-499/1234`` or ``bytes */1234``; None when malformed."""
    if not value:
        return None
    units, _, rest = value.strip().partition(" ")
    span, sep, total = rest.strip().partition("/")
    if not sep or not units:
        return None
    length = None if total.strip() == "*" else _digits(total)
    if length is None and total.strip() != "*":
        return None
    if span.strip() == "*":
        return ContentRange(units.lower(), None, None, length) if length is not None else None
    first, sep, last = span.partition("-")
    start, end = _digits(first), _digits(last)
    if not sep or start is None or end is None or end < start:
        return None
    if length is not None and end >= length:
        return None
    return ContentRange(units.lower(), start, end + 1, length)


# --- Accept, Authorization, Cache-Control ----------------------------------------------


def parse_accept_header(value: str | None, cls: type[Accept] = Accept) -> Accept:
    """Parse an Accept-* header into ``cls``; entries with an unreadable quality are dropped."""
    if not value:
        return cls(None)
    entries: list[tuple[str, float]] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if ";" not in item:
            entries.append((item, 1.0))
            continue
        name, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        kept = [name]
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = -1.0
            elif param:
                kept.append(param)
        if name and 0 <= quality <= 1:
            entries.append((";".join(kept), quality))
    return cls(entries)


_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def parse_authorization_header(value: str | None) -> Authorization | None:
    """Parse Authorization: Basic credentials, a bare token, or ``key=value`` parameters."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    scheme, rest = scheme.lower(), rest.strip()
    if not scheme:
        return None
    if scheme == "basic":
        from base64 import b64decode

        try:
            raw = b64decode(rest, validate=True)
        except ValueError:  # binascii.Error is a ValueError
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        username, sep, password = text.partition(":")
        if not sep:
            return None
        return Authorization("basic", {"username": username, "password": password})
    if not rest:
        return Authorization(scheme)
    if _TOKEN68.fullmatch(rest):
        return Authorization(scheme, token=rest)
    params = {key: val or "" for key, val in parse_dict_header(rest).items()}
    return Authorization(scheme, params)


def parse_cache_control_header(
    value: str | None,
    on_update: Callable[[ResponseCacheControl], None] | None = None,
) -> ResponseCacheControl:
    return ResponseCacheControl(parse_dict_header(value), on_update)


# --- URLs ------------------------------------------------------------------------------


def parse_query_string(query: str, max_fields: int | None = None) -> list[tuple[str, str]]:
    """``a=1&b=x+y`` -> pairs, percent-decoded as UTF-8 (bad bytes replaced), blanks kept.

    More than ``max_fields`` pairs raises ValueError, before any is decoded.
    """
    parts = query.split("&")
    if (
        max_fields is not None
        and len(parts) > max_fields
        and sum(1 for part in parts if part) > max_fields
    ):
        raise ValueError(f"more than {max_fields} fields")
    pairs = []
    for part in parts:
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name, errors="replace")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        pairs.append((name, value))
    return pairs


_URI_SAFE = "/:?#[]@!$&'()*+,;=%~"


def iri_to_uri(value: str) -> str:
    """Make a URL safe for a header: IDNA-encode the host, percent-encode the rest.

    Existing ``%xx`` escapes are kept, so an already-encoded URL passes through unchanged.
    """
    if value.isascii() and not any(char in value for char in ' "<>\\^`{|}') and value.isprintable():
        return value
    parts = urlsplit(value)
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(host, safe="")
        netloc = f"{quote(userinfo, safe=':%')}{at}{host}{colon}{port}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE),
            quote(parts.fragment, safe=_URI_SAFE),
        )
    )


# --- HTML in generated pages -----------------------------------------------------------

# What html.escape(quote=True) replaces; a table here spares start-up the html package.
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
)


def escape_html(text: str) -> str:
    """``text`` safe inside HTML content and quoted attributes (error and redirect pages)."""
    return text.translate(_HTML_ESCAPES)
