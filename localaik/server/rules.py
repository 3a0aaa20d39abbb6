"""What the requests a server answers follow now: the mode, the paths left out of the key, and
the faults they may get.

A server starts with its settings' (`LK_MODE`, `LK_IGNORE`, `LK_FAULTS`); the pytest plugin
switches them per test, as it switches the default cassette: a marker's `mode=` and `ignore=`
(added to `LK_IGNORE`) and its or the `localaik_fault` fixture's faults (before `LK_FAULTS`'s)
hold for that test's requests only, whichever cassette they name. Frozen and hashable: the
replay memo keys its entries on the rules they were answered under.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from localaik.config import Mode, Settings, SettingsError
from localaik.server.faults import Fault, parse_faults
from localaik.wire.jsonpath import IgnoreRule, parse_ignore


@dataclass(frozen=True)
class Rules:
    """The mode requests are answered in, the `LK_IGNORE` paths of their key, and the faults
    they may get (the first that is for a request applies)."""

    mode: Mode
    ignore: tuple[IgnoreRule, ...] = ()
    faults: tuple[Fault, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        """The settings' rules (SettingsError naming a fault of LK_FAULTS that is not valid).
        LK_FAULTS is read here, once: a test's rules are `switched` from these."""
        try:
            run_faults = parse_faults(settings.faults)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return cls(settings.mode, tuple(parse_ignore(settings.ignore)), run_faults)

    def switched(
        self, mode: Mode | None = None, ignore: Sequence[str] = (), faults: Sequence[Fault] = ()
    ) -> Rules:
        """These rules with `mode` instead of theirs, `ignore` paths added to theirs and
        `faults` before theirs (ValueError naming a path that is not valid)."""
        rules = list(self.ignore)
        known = {rule.text for rule in rules}
        for path in ignore:
            rules.extend(rule for rule in parse_ignore(path) if rule.text not in known)
        return Rules(mode or self.mode, tuple(rules), (*faults, *self.faults))
