"""What the session's server did, per recording, over the cassettes the tests used: replayed,
recorded, missed, and the recordings no request asked for (`--localaik-fail-unused`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localaik.config import Mode

if TYPE_CHECKING:
    from localaik.cassette.recording import Summary
    from localaik.testing.server import LocalaikServer


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
    def of(cls, server: LocalaikServer) -> Report:
        from localaik.cassette.store import store_for
        from localaik.errors import Error

        usage = server.replayer.usage
        report = cls(server.mode, misses=len(server.replayer.misses))
        if server.mode == Mode.PASSTHROUGH:
            return report
        # The session cassette (requests made outside any test's cassette) counts only when
        # it served something: it may be an old `localaik serve` cassette the tests ignore.
        paths = list(server.test_cassettes)
        if usage.served(server.session_cassette) and server.session_cassette not in paths:
            paths.append(server.session_cassette)
        for path in paths:
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
            served = usage.served(path)
            report.cassettes += 1
            for summary in summaries:
                if (summary.key, summary.ordinal) not in served:
                    report.unused.setdefault(path, []).append(summary)
                elif summary.recorded_at >= usage.started:
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
