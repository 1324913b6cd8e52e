"""Builders of bad inputs for the catalogue (test_catalogue.py): audio, data dirs and model copies in a case's
directory, from the shared assets (conftest.py)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
SENTENCE = "the quick brown fox jumps over the lazy dog"


@dataclass
class Bench:
    """One case's scratch directory and the shared assets, with builders of (bad) inputs in it."""

    tmp: Path
    assets: dict[str, Path]

    @property
    def speech(self) -> Path:
        return self.assets["speech"]

    @property
    def model(self) -> Path:
        return self.assets["model"]

    def path(self, name: str) -> str:
        return str(self.tmp / name)

    def write(self, name: str, content: str | bytes) -> str:
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        return str(p)

    def wave(self) -> np.ndarray:
        return sf.read(self.speech, dtype="float32")[0]

    def wav(self, name: str, samples: np.ndarray | None = None, rate: int = SR, subtype: str = "FLOAT") -> str:
        """A wav file: ``samples`` (default: the spoken sentence) at ``rate``."""
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, self.wave() if samples is None else samples, rate, subtype=subtype)
        return str(p)

    def nan_wav(self, name: str, how_many: int = 4) -> str:
        """The spoken sentence with ``how_many`` samples NaN or infinite (a broken float writer)."""
        w = self.wave()
        idx = np.linspace(1000, len(w) - 1000, how_many).astype(int)
        w[idx] = np.resize(np.array([np.nan, np.inf, -np.inf], np.float32), how_many)
        return self.wav(name, w)

    def one_hz_wav(self, name: str) -> str:
        """A wav whose header says 1 Hz (read naively: 12 hours of audio for 0.7 s of samples)."""
        return self.wav(name, self.wave()[:SR], rate=1, subtype="PCM_16")

    def data(self, name: str = "data", utts: dict[str, tuple[str, str]] | None = None,
             raw: dict[str, bytes] | None = None, segments: str | None = None) -> str:
        """A data dir: ``utts`` = utt -> (audio path, text) (default: two spoken utterances); ``raw`` files
        written as given (replacing generated ones); ``segments``: a segments file's text (then ``utts``
        keys are recording ids in wav.scp, and text/utt2spk list the segments' ids from it)."""
        d = self.tmp / name
        d.mkdir(parents=True, exist_ok=True)
        if utts is None:
            utts = {"s1-a": (str(self.speech), SENTENCE), "s1-b": (self.wav(f"{name}_b.wav"), SENTENCE)}
        (d / "wav.scp").write_text("".join(f"{u} {p}\n" for u, (p, _) in sorted(utts.items())))
        if segments is None:
            ids = {u: t for u, (_, t) in utts.items()}
        else:
            (d / "segments").write_text(segments)
            ids = {line.split()[0]: SENTENCE for line in segments.splitlines() if line.strip()}
        (d / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(ids.items())))
        (d / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in sorted(ids)))
        for fname, content in (raw or {}).items():
            (d / fname).write_bytes(content)
        return str(d)

    def model_copy(self, name: str = "model", **files: str | bytes) -> str:
        """A copy of the tiny model with some of its files replaced (``config_json=...``: config.json)."""
        d = self.tmp / name
        shutil.copytree(self.model, d)
        for key, content in files.items():
            fname = key.replace("_json", ".json").replace("_txt", ".txt").replace("_safetensors", ".safetensors")
            if isinstance(content, bytes):
                (d / fname).write_bytes(content)
            else:
                (d / fname).write_text(content)
        return str(d)

    def model_config(self) -> dict:
        return json.loads((self.model / "config.json").read_text())
