"""Realistic fake tokens of every kind the secret scan knows, made at test time.

Never real keys: random characters after each kind's prefix, seeded so a failure repeats. The
prefixes are built from parts so that this file does not itself look like a leaked key to a
push-protection scanner.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
BASE32 = UPPER + "234567"


@dataclass(frozen=True)
class Fake:
    name: str  # a test id
    kind: str  # what find_secret names it
    token: str

    def pieces(self, size: int = 10) -> list[str]:
        """Every `size`-character piece of the token that no ordinary text holds: a piece of
        the random part (the kind's fixed prefix alone is not a leak)."""
        body = self.token[_fixed(self.token) :]
        return [body[i : i + size] for i in range(0, max(1, len(body) - size + 1))]


def _fixed(token: str) -> int:
    """How many leading characters are the kind's fixed prefix (up to the first random one)."""
    for marker in (
        "earer ",
        "/services/",
        "-----\n",
        "_v1_",
        "-api03-",
        "proj-",
        "_pt_",
        "_live_",
        "_test_",
        "_pat_",
    ):
        at = token.find(marker)
        if 0 <= at < 40:
            return at + len(marker)
    for separator in "_-.":
        at = token.find(separator)
        if 0 < at < 8:
            return at + 1
    return 4


def fakes(seed: int = 14) -> list[Fake]:
    rng = random.Random(seed)

    def pick(alphabet: str, length: int, *, digit: bool = True) -> str:
        text = "".join(rng.choice(alphabet) for _ in range(length))
        if digit and not any(c.isdigit() for c in text) and any(c.isdigit() for c in alphabet):
            text = text[:-1] + rng.choice([c for c in alphabet if c.isdigit()])
        return text

    def mixed(length: int) -> str:  # upper, lower and a digit: random-looking
        return rng.choice(UPPER) + rng.choice(LOWER) + pick(ALNUM, length - 2)

    pem_body = "\n".join(pick(ALNUM + "+/", 64) for _ in range(4))
    rsa = "RSA " + "PRIVATE KEY"
    return [
        Fake("google", "Google API key", "AI" + "za" + "Sy" + pick(ALNUM + "_-", 33)),
        Fake("openai", "OpenAI key", "s" + "k-" + pick(ALNUM, 48)),
        Fake("openai-project", "OpenAI key", "s" + "k-proj-" + pick(ALNUM + "_-", 80)),
        Fake("anthropic", "Anthropic key", "s" + "k-ant-api03-" + pick(ALNUM + "_-", 93) + "AA"),
        Fake(
            "jwt",
            "JWT",
            "ey" + "J" + pick(ALNUM, 30) + ".ey" + "J" + pick(ALNUM, 40) + "." + pick(ALNUM, 43),
        ),
        Fake("bearer", "bearer token", "Bear" + "er " + mixed(40)),
        Fake("aws", "AWS access key", "AK" + "IA" + pick(BASE32, 16)),
        Fake("aws-session", "AWS access key", "AS" + "IA" + pick(BASE32, 16)),
        Fake("github", "GitHub token", "gh" + "p_" + mixed(36)),
        Fake("github-oauth", "GitHub token", "gh" + "o_" + mixed(36)),
        Fake(
            "github-fine-grained",
            "GitHub token",
            "github" + "_pat_" + mixed(22) + "_" + mixed(59),
        ),
        Fake(
            "slack-bot",
            "Slack token",
            "xo" + "xb-" + pick(DIGITS, 12) + "-" + pick(DIGITS, 13) + "-" + mixed(24),
        ),
        Fake("slack-user", "Slack token", "xo" + "xp-" + pick(DIGITS, 11) + "-" + mixed(30)),
        Fake(
            "slack-webhook",
            "Slack webhook",
            "https://hooks"
            + ".slack.com/services/T"
            + pick(UPPER + DIGITS, 8)
            + "/B"
            + pick(UPPER + DIGITS, 10)
            + "/"
            + mixed(24),
        ),
        Fake(
            "pem",
            "private key",
            "-----BEGIN " + rsa + "-----\n" + "MIIE" + pem_body + "\n-----END " + rsa + "-----",
        ),
        Fake("stripe", "Stripe key", "s" + "k_live_" + mixed(99)),
        Fake("stripe-restricted", "Stripe key", "r" + "k_live_" + mixed(99)),
        Fake("gitlab", "GitLab token", "gl" + "pat-" + mixed(20)),
        Fake(
            "huggingface",
            "Hugging Face token",
            "h"
            + "f_"
            + rng.choice(UPPER)
            + rng.choice(LOWER)
            + pick(UPPER + LOWER, 32, digit=False),
        ),
        Fake("groq", "Groq key", "gs" + "k_" + mixed(52)),
        Fake("xai", "xAI key", "xa" + "i-" + mixed(80)),
        Fake("google-oauth", "Google OAuth token", "ya" + "29." + "a0" + mixed(120)),
        Fake("npm", "npm token", "np" + "m_" + mixed(36)),
        Fake("sendgrid", "SendGrid key", "S" + "G." + mixed(22) + "." + mixed(43)),
        Fake("replicate", "Replicate token", "r" + "8_" + mixed(37)),
        Fake("perplexity", "Perplexity key", "pp" + "lx-" + mixed(48)),
        Fake("langsmith", "LangSmith key", "ls" + "v2_pt_" + pick(HEX, 32) + "_" + pick(HEX, 10)),
        Fake("digitalocean", "DigitalOcean token", "do" + "p_v1_" + pick(HEX, 64)),
        Fake("shopify", "Shopify token", "sh" + "pat_" + pick(HEX, 32)),
        Fake("tavily", "Tavily key", "tv" + "ly-" + mixed(32)),
    ]


FAKES = fakes()
KINDS_PLANTED = sorted({fake.kind for fake in FAKES})
