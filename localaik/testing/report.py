"""What the session's server did, per recording, over the cassettes the tests used: replayed,
recorded, missed, and the recordings no request asked for (`--localaik-fail-unused`).

Two steps: an `Account` of what a server served (plain data, so that under pytest-xdist each
worker sends its own to the controller, which merges them), then the `Report` of an account,
which reads the cassettes. A recording one worker used is used, whichever worker's tests share
its cassette.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localaik.config import Mode

if TYPE_CHECKING:
    from localaik.cassette.recording import Summary
    from localaik.testing.server import LocalaikServer


@dataclass
class Account:
    """What one server (or, merged, every worker's) served, in which cassettes."""

    mode: Mode
    started: str  # when the first server's run began: a recording made since was recorded
    misses: int = 0
    served: dict[Path, set[tuple[str, int]]] = field(default_factory=dict)  # in order of use

    @classmethod
    def of(cls, server: LocalaikServer) -> Account:
        usage = server.replayer.usage
        account = cls(server.mode, usage.started, len(server.replayer.misses))
        # The session cassette (requests made outside any test's cassette) counts only when
        # it served something: it may be an old `localaik serve` cassette the tests ignore.
        paths = list(server.test_cassettes)
        if usage.served(server.session_cassette) and server.session_cassette not in paths:
            paths.append(server.session_cassette)
        account.served = {path: usage.served(path) for path in paths}
        return account

    def to_wire(self) -> dict[str, Any]:
        """The account as the basic types pytest-xdist (execnet) carries."""
        return {
            "mode": str(self.mode),
            "started": self.started,
            "misses": self.misses,
            "served": [[str(p), sorted(slots)] for p, slots in self.served.items()],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Account:
        served = {
            Path(path): {(str(key), int(ordinal)) for key, ordinal in slots}
            for path, slots in data["served"]
        }
        return cls(Mode(data["mode"]), str(data["started"]), int(data["misses"]), served)

    @classmethod
    def merged(cls, accounts: list[Account]) -> Account:
        """The accounts of several servers of one session (pytest-xdist workers) as one."""
        total = cls(accounts[0].mode, min(a.started for a in accounts))
        for account in accounts:
            total.misses += account.misses
            for path, slots in account.served.items():
                total.served.setdefault(path, set()).update(slots)
        return total


@dataclass
class Report:
    """What the session's server did, per recording, over the cassettes the tests used."""

    mode: Mode
    cassettes: int = 0
    replayed: int = 0
    recorded: int = 0
    misses: int = 0
    unused: dict[Path, list[Summary]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, account: Account) -> Report:
        from localaik.cassette.store import store_for
        from localaik.errors import Error

        report = cls(account.mode, misses=account.misses)
        if account.mode == Mode.PASSTHROUGH:
            return report
        for path, served in account.served.items():
            if not path.exists():
                continue
            cassette = store_for(path, readonly=True)
            try:
                cassette.open()
                summaries = cassette.summaries()
            except Error as exc:
                report.unreadable.append(f"{path}: {exc}")
                continue
            finally:
                cassette.close()
            report.cassettes += 1
            for summary in summaries:
                if (summary.key, summary.ordinal) not in served:
                    report.unused.setdefault(path, []).append(summary)
                elif summary.recorded_at >= account.started:
                    report.recorded += 1
                else:
                    report.replayed += 1
        return report

    @property
    def unused_count(self) -> int:
        return sum(len(summaries) for summaries in self.unused.values())

    def line(self) -> str:
        if self.mode == Mode.PASSTHROUGH:
            return "localaik: mode passthrough (nothing replayed or recorded)"
        misses = f"{self.misses} miss{'es' if self.misses != 1 else ''}"
        return (
            f"localaik: mode {self.mode}, {self.cassettes} cassette"
            f"{'s' if self.cassettes != 1 else ''}: {self.replayed} replayed, "
            f"{self.recorded} recorded, {misses}, {self.unused_count} unused"
        )

    def unused_lines(self, root: Path) -> list[str]:
        """One line per unused recording, its cassette shown relative to `root`."""
        lines = []
        for path, summaries in self.unused.items():
            for s in summaries:
                ordinal = f" #{s.ordinal}" if s.ordinal else ""
                stream = " stream" if s.stream else ""
                lines.append(
                    f"  {_shown(path, root)}: {s.key[:12]}{ordinal} {s.family} "
                    f"{s.operation} {s.model or ''}{stream}, recorded {s.recorded_at}"
                )
        return lines


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
