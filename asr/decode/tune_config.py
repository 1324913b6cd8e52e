"""Options of ``asr tune-lm``, apart from the search itself so that the CLI builds its parser without torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TuneConfig:
    lm: str  # ARPA file or `asr lm` directory
    lexicon: str = ""  # default: the LM's (see asr.decode.beam.resolve_lm)
    beam: int = 50
    # α multiplies log10 LM probabilities while acoustic scores are natural logs, hence values above 1.
    lm_weights: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.5, 2.0, 3.0])
    word_scores: list[float] = field(default_factory=lambda: [-1.0, 0.0, 1.0, 2.0])
    beam_threshold: float = 25.0
    copy_lm: bool = True  # copy LM + lexicon into the model dir (paths in decode.json stay valid if it moves)
    batch_seconds: float = 240.0
