"""What the requests a server answers follow now: the mode, and the paths left out of the key.

A server starts with its settings' (`LK_MODE`, `LK_IGNORE`); the pytest plugin switches them
per test, as it switches the default cassette: a marker's `mode=` and `ignore=` (added to
`LK_IGNORE`) hold for that test's requests only, whichever cassette they name. Frozen and
hashable: the replay memo keys its entries on the rules they were answered under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localaik.config import Mode, Settings
from localaik.wire.jsonpath import IgnoreRule, parse_ignore


@dataclass(frozen=True)
class Rules:
    """The mode requests are answered in and the `LK_IGNORE` paths of their key."""

    mode: Mode
    ignore: tuple[IgnoreRule, ...] = ()

    @classmethod
    def of(cls, settings: Settings, mode: Mode | None = None, ignore: Sequence[str] = ()) -> Rules:
        """The settings' rules; `mode` instead of theirs, `ignore` paths added to theirs
        (ValueError naming a path that is not valid)."""
        rules = parse_ignore(settings.ignore)
        known = {rule.text for rule in rules}
        for path in ignore:
            rules.extend(rule for rule in parse_ignore(path) if rule.text not in known)
        return cls(mode or settings.mode, tuple(rules))
