"""Tiny corpora in the real on-disk layouts, spoken by eSpeak NG (about 30 ms per sentence).

Used by the importer tests (tests/data) and the LibriSpeech recipe test (tests/recipes); importable
because pytest puts ``tests/`` (the folder of the top-level conftest.py) on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from asr.data.audio import load_audio
from asr.data.synth import speak_to_file

SENTENCES = [
    "the old mill stood by the river", "she kept the letters in a wooden box", "we walked home after dark",
    "a cold wind came over the hills", "he opened the door and looked outside", "the children sang by the fire",
    "my brother found a quiet place to read", "they sold apples at the market", "the ship sailed at dawn",
    "please bring the lamp to the table", "an owl called from the tall trees", "rain fell on the roof all night",
]
VOICES = ["en-us+m1", "en-us+f3", "en-gb-x-rp+m2", "en-us+Annie"]


def speak(text: str, path: Path, voice: str = VOICES[0], sample_rate: int = 16000, channels: int = 1) -> float:
    """Speak ``text`` into ``path`` (format from its extension, at ``sample_rate``); return seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".espeak.wav")
    speak_to_file(text, tmp, voice=voice)
    wave = load_audio(tmp)
    tmp.unlink()
    if sample_rate != 16000:
        wave = soxr.resample(wave, 16000, sample_rate)
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    sf.write(path, wave, sample_rate)
    return len(wave) / sample_rate


def make_librispeech(root: Path, splits: dict[str, dict[tuple[str, str], list[str]]]) -> Path:
    """``root/LibriSpeech/<split>/<reader>/<chapter>/`` with FLAC and ``.trans.txt`` (upper case, as released).

    ``splits``: ``{split: {(reader, chapter): [sentence, ...]}}``.
    """
    for split, chapters in splits.items():
        for i, ((reader, chapter), sentences) in enumerate(chapters.items()):
            d = root / "LibriSpeech" / split / reader / chapter
            lines = []
            for n, text in enumerate(sentences):
                utt = f"{reader}-{chapter}-{n:04d}"
                speak(text, d / f"{utt}.flac", voice=VOICES[i % len(VOICES)])
                lines.append(f"{utt} {text.upper()}")
            (d / f"{reader}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return root
