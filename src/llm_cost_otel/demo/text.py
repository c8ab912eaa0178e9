"""Deterministic filler text and rough token arithmetic shared by the fake server and the workload.

Nothing here is a real tokenizer: one token is about four characters of English, which is
what the providers' own rules of thumb say and all a traffic generator needs.
"""

from __future__ import annotations

import hashlib
import random

CHARS_PER_TOKEN = 4

_VOCABULARY = (
    "the customer invoice order account payment refund shipment delivery contract clause renewal "
    "quarter revenue forecast pipeline ticket priority escalation policy compliance audit report "
    "summary meeting action owner deadline budget vendor supplier warehouse inventory region "
    "product feature release incident outage latency dashboard metric alert review approval "
    "request response model prompt cache token cost usage tenant user team project roadmap "
    "migration database schema index query backup restore security access role permission "
    "analysis insight trend risk mitigation plan status update next steps decision context"
)
WORDS = tuple(_VOCABULARY.split())


def estimate_tokens(text: str) -> int:
    """About one token per four characters, at least one for non-empty text."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN if text else 0


def words(rng: random.Random, count: int) -> str:
    """``count`` words of plausible business prose, in sentences."""
    out: list[str] = []
    sentence = 0
    for _ in range(max(count, 0)):
        word = rng.choice(WORDS)
        if sentence == 0:
            word = word.capitalize()
        sentence += 1
        if sentence >= rng.randint(8, 16):
            word += "."
            sentence = 0
        out.append(word)
    text = " ".join(out)
    return text if not text or text.endswith(".") else text + "."


def text_of_tokens(seed: str, tokens: int) -> str:
    """Deterministic prose of roughly ``tokens`` tokens (by :func:`estimate_tokens`)."""
    rng = random.Random(hashlib.sha256(seed.encode()).hexdigest())
    target = tokens * CHARS_PER_TOKEN
    parts: list[str] = []
    size = 0
    while size < target:
        chunk = words(rng, 60) + "\n"
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)[:target]
