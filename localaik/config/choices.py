"""The choices a setting takes, as enums: `settings.mode == Mode.REPLAY`.

They are `StrEnum`s, so a member equals its text (`Mode.REPLAY == "replay"`) and prints as it.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """`LK_MODE`: what a recorded (hit) and an unrecorded (miss) request get (DESIGN D3).

    `once` records only into a cassette that did not exist when this process first used it,
    and replays one that did. VCR.py's names are aliases (`Mode.of`): `new_episodes` is
    `record`, `none` is `replay`, `all` is `refresh`; `once` is VCR's own. A mode is reported by
    its own name (logs, misses, the plugin's summary); `/health` adds VCR's (`vcr`).
    """

    RECORD = "record"
    REPLAY = "replay"
    REFRESH = "refresh"
    ONCE = "once"
    PASSTHROUGH = "passthrough"

    @classmethod
    def of(cls, text: str) -> Mode:
        """The mode a name gives, canonical or VCR's (`none` -> `Mode.REPLAY`), any case;
        ValueError otherwise."""
        name = text.strip().lower()
        return VCR_ALIASES.get(name) or cls(name)

    @property
    def vcr(self) -> str | None:
        """VCR.py's name for this mode (`record_mode`), None for `passthrough`."""
        return _VCR_NAMES.get(self)


class Repeats(StrEnum):
    """`LK_REPEATS`: which recording an identical request replays (DESIGN D6)."""

    FIRST = "first"
    SEQUENCE = "sequence"


class Embeddings(StrEnum):
    """`LK_EMBEDDINGS`: when the embeddings llama-server starts (DESIGN D14)."""

    LAZY = "lazy"
    ON = "on"
    OFF = "off"


class Pooling(StrEnum):
    """`LK_EMBED_POOLING`: how token vectors become one embedding (`model`: the GGUF's own)."""

    MEAN = "mean"
    CLS = "cls"
    LAST = "last"
    MODEL = "model"


class FlashAttn(StrEnum):
    """`LK_FLASH_ATTN`, as llama-server's `--flash-attn` takes it (always with a value)."""

    ON = "on"
    OFF = "off"
    AUTO = "auto"


# VCR.py's record modes, as localaik's (`once` is both).
VCR_ALIASES = {"new_episodes": Mode.RECORD, "none": Mode.REPLAY, "all": Mode.REFRESH}
_VCR_NAMES: dict[Mode, str] = {
    **{mode: name for name, mode in VCR_ALIASES.items()},
    Mode.ONCE: "once",
}

# Every name a mode is accepted by (`--mode`, `--localaik-mode`, LK_MODE, the marker): the
# modes, then VCR's aliases.
MODES = (*(mode.value for mode in Mode), *VCR_ALIASES)
MODES_TEXT = (
    "record, replay, refresh, once or passthrough (VCR.py's new_episodes, none and all are "
    "record, replay and refresh)"
)
