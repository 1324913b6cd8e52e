"""Which voice speaks in which split of the synthetic corpus, from a data file (``voices.yaml``).

``load_inventory`` reads the per-engine held-out voices and weights; ``plan_voices`` combines them
with the voices each installed engine offers into a :class:`SplitVoices` per split: train, dev,
test, and ``test_<engine>`` for every engine held out entirely (leave-one-engine-out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_INVENTORY = Path(__file__).with_name("voices.yaml")
ESPEAK_DEFAULT_VARIANT = "default"  # the accent's own voice, i.e. no "+variant"


@dataclass
class EngineVoices:
    weight: float = 0.0
    dev: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)


@dataclass
class SplitVoices:
    """Voices of one split: ``voices[engine]`` (eSpeak: variants) and each engine's share of utterances."""

    voices: dict[str, list[str]]
    shares: dict[str, float]  # sums to 1 over ``voices``' engines

    def engine_for(self, u: float) -> str:
        """The engine of an utterance whose uniform draw is ``u`` in [0, 1); eSpeak takes what is left."""
        acc = 0.0
        for engine in sorted(self.shares, key=lambda e: (e == "espeak", e)):
            acc += self.shares[engine]
            if u < acc:
                return engine
        return max(self.shares, key=lambda e: (e == "espeak", self.shares[e]))


def load_inventory(path: str | Path | None = None) -> dict[str, EngineVoices]:
    """Read a voice inventory file; errors name the file and the offending entry."""
    path = Path(path) if path else DEFAULT_INVENTORY
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: cannot read the voice inventory: {e}") from e
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of engine -> {{weight, dev, test}}")
    inventory = {}
    for engine, entry in raw.items():
        entry = entry or {}
        unknown = set(entry) - {"weight", "dev", "test"}
        if unknown:
            raise ValueError(f"{path}: {engine}: unknown key(s) {sorted(unknown)}")
        ev = EngineVoices(float(entry.get("weight", 0.0)), [str(v) for v in entry.get("dev") or []],
                          [str(v) for v in entry.get("test") or []])
        if ev.weight < 0:
            raise ValueError(f"{path}: {engine}: weight must be >= 0, got {ev.weight}")
        both = set(ev.dev) & set(ev.test)
        if both:
            raise ValueError(f"{path}: {engine}: voices both in dev and test: {sorted(both)}")
        inventory[str(engine)] = ev
    return inventory


def plan_voices(inventory: dict[str, EngineVoices], offered: dict[str, list[str]],
                heldout_engines: list[str] | tuple[str, ...] = (), path: str | Path = "voices.yaml",
                ) -> dict[str, SplitVoices]:
    """Split each engine's ``offered`` voices (eSpeak: its variants) into train/dev/test.

    ``offered`` holds the installed engines only. Raises ValueError for a held-out voice the engine
    does not offer (a typo would silently leak nothing but shrink the test set) and for a dev or test
    split that would end up without voices.
    """
    splits: dict[str, dict[str, list[str]]] = {"train": {}, "dev": {}, "test": {}}
    weights = {}
    for engine, voices in offered.items():
        ev = inventory.get(engine)
        if ev is None:
            raise ValueError(f"{path}: engine {engine!r} is not in the voice inventory")
        missing = sorted(set(ev.dev + ev.test) - set(voices))
        if missing:
            raise ValueError(f"{path}: {engine}: held-out voices not offered by the engine: {missing}")
        weights[engine] = ev.weight
        if engine in heldout_engines:
            all_voices = ([ESPEAK_DEFAULT_VARIANT] if engine == "espeak" else []) + list(voices)
            splits[f"test_{engine}"] = {engine: all_voices}
            continue
        held = set(ev.dev) | set(ev.test)
        train = [v for v in voices if v not in held]
        if engine == "espeak":
            train = [ESPEAK_DEFAULT_VARIANT] + train
        for split, names in (("train", train), ("dev", sorted(ev.dev)), ("test", sorted(ev.test))):
            if names:
                splits[split][engine] = names
    plan = {}
    for split, voices in splits.items():
        if not voices:
            raise ValueError(f"no installed engine has {split} voices (engines: {', '.join(offered) or 'none'}; "
                             f"held out: {', '.join(heldout_engines) or 'none'})")
        total = sum(weights[e] for e in voices)
        shares = {e: (weights[e] / total if total > 0 else 1.0 / len(voices)) for e in voices}
        plan[split] = SplitVoices(voices, shares)
    return plan
