"""The matching trie: a rule is a path from the root, one state per domain or segment.

A fully static URL is found with one dict lookup. Otherwise the walk at each state
tries the static child first, then converter parts in weight order, backtracking on
a miss: the cost follows the URL's depth, not the number of rules.
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from treadle.routing.rules import SLASHES, Rule, _Part

_NOTHING: tuple[str, ...] = ()
_TRAILING_SLASH: tuple[str, ...] = ("",)


class SlashRequired(Exception):
    """The URL matches once a trailing slash is added."""


class RedirectPath(Exception):
    """The URL matches at another path (merged slashes)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class NoMatch(Exception):
    """Nothing matched; says which methods would have, and whether only the
    WebSocket-ness was wrong."""

    def __init__(self, allowed: set[str], websocket_mismatch: bool) -> None:
        super().__init__()
        self.allowed = allowed
        self.websocket_mismatch = websocket_mismatch


class State:
    """A node of the trie: static children by exact text, converter children in
    weight order, and the rules that end here."""

    __slots__ = ("dynamic", "rules", "static")

    def __init__(self) -> None:
        self.static: dict[str, State] = {}
        self.dynamic: list[tuple[_Part, State]] = []
        self.rules: list[Rule] = []


def _part_weight(entry: tuple[_Part, State]) -> tuple[Any, ...]:
    return entry[0].weight


class Matcher:
    """Every matchable rule of a Map, indexed for lookup."""

    def __init__(self) -> None:
        self.root = State()
        self.static: dict[tuple[str, str], list[Rule]] = {}

    def add(self, rule: Rule) -> None:
        state = self.root
        for part in rule._parts:
            if part.static is not None:
                state = state.static.setdefault(part.static, State())
                continue
            for existing, child in state.dynamic:
                if existing.key == part.key and existing.weight == part.weight:
                    state = child
                    break
            else:
                child = State()
                insort(state.dynamic, (part, child), key=_part_weight)
                state = child
        state.rules.append(rule)
        if rule._static_key is not None:
            self.static.setdefault(rule._static_key, []).append(rule)

    def match(
        self, domain: str, path: str, method: str, websocket: bool, merge_slashes: bool
    ) -> tuple[Rule, dict[str, Any]]:
        """The first rule for this URL, in precedence order, with its view arguments.

        Raises SlashRequired, RedirectPath or NoMatch.
        """
        for rule in self.static.get((domain, path), ()):
            if (rule.methods is None or method in rule.methods) and rule.websocket == websocket:
                return rule, dict(rule.defaults) if rule.defaults else {}
        search = _Search(method, websocket)
        found = self._walk(search, domain, path)
        if found is not None:
            return found
        if merge_slashes and "//" in path:
            merged = SLASHES.sub("/", path)
            found = self._walk(search, domain, merged)
            if found is not None and found[0].merge_slashes:
                raise RedirectPath(merged)
        raise NoMatch(search.allowed, search.websocket_mismatch)

    def _walk(self, search: _Search, domain: str, path: str) -> tuple[Rule, dict[str, Any]] | None:
        segments = path[1:].split("/") if path else []
        root = self.root
        if root.dynamic:  # some rule has a variable domain: walk from the very top
            return search.walk(root, [domain, *segments], 0, [])
        state = root.static.get(domain)
        return None if state is None else search.walk(state, segments, 0, [])


class _Search:
    """One walk of the trie, remembering why rules that matched the path were refused."""

    __slots__ = ("allowed", "method", "websocket", "websocket_mismatch")

    def __init__(self, method: str, websocket: bool) -> None:
        self.method = method
        self.websocket = websocket
        self.allowed: set[str] = set()
        self.websocket_mismatch = False

    def _fits(self, rule: Rule) -> bool:
        if rule.methods is not None and self.method not in rule.methods:
            self.allowed.update(rule.methods)
            return False
        if rule.websocket != self.websocket:
            self.websocket_mismatch = True
            return False
        return True

    def _accept(
        self, rules: list[Rule], raw: list[str], loose_only: bool = False
    ) -> tuple[Rule, dict[str, Any]] | None:
        for rule in rules:
            if loose_only and rule.strict_slashes:
                continue
            if self._fits(rule):
                values = rule._convert(raw)
                if values is not None:
                    return rule, values
        return None

    def walk(
        self, state: State, segments: list[str] | tuple[str, ...], index: int, raw: list[str]
    ) -> tuple[Rule, dict[str, Any]] | None:
        if index == len(segments):
            found = self._accept(state.rules, raw)
            if found is not None:
                return found
            slashed = state.static.get("")
            if slashed is not None:
                for rule in slashed.rules:
                    if (
                        rule.websocket == self.websocket
                        and (rule.methods is None or self.method in rule.methods)
                        and (values := rule._convert(raw)) is not None
                    ):
                        if rule.strict_slashes:
                            raise SlashRequired()
                        return rule, values
            return None

        segment = segments[index]
        child = state.static.get(segment)
        if child is not None:
            found = self.walk(child, segments, index + 1, raw)
            if found is not None:
                return found

        for part, child in state.dynamic:
            assert part.pattern is not None
            if part.final:
                match = part.pattern.match("/".join(segments[index:]))
                if match is None:
                    continue
                rest: list[str] | tuple[str, ...] = (
                    _TRAILING_SLASH if part.suffixed and match["slash"] else _NOTHING
                )
                rest_index = 0
            else:
                match = part.pattern.match(segment)
                if match is None:
                    continue
                rest, rest_index = segments, index + 1
            size = len(raw)
            names = part.group_names
            if len(names) == 1:
                raw.append(match[names[0]])
            else:
                raw.extend(match.group(*names))
            found = self.walk(child, rest, rest_index, raw)
            if found is not None:
                return found
            del raw[size:]

        if segment == "" and index == len(segments) - 1:
            return self._accept(state.rules, raw, loose_only=True)
        return None
