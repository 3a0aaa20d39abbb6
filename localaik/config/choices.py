"""The choices a setting takes, as enums: `settings.mode == Mode.REPLAY`.

They are `StrEnum`s, so a member equals its text (`Mode.REPLAY == "replay"`) and prints as it.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """`LK_MODE`: what a recorded (hit) and an unrecorded (miss) request get (DESIGN D3)."""

    RECORD = "record"
    REPLAY = "replay"
    REFRESH = "refresh"
    PASSTHROUGH = "passthrough"


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


MODES = tuple(mode.value for mode in Mode)  # the choices of `--mode` and `--localaik-mode`
