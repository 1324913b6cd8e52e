"""What transcription returns: segments of text with word timings, for one audio source."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Word:
    word: str
    start: float  # seconds from the start of the audio
    end: float
    confidence: float  # mean posterior of the word's units over their frames

    def to_dict(self) -> dict:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3),
                "confidence": round(self.confidence, 3)}


@dataclass
class Segment:
    """One stretch of speech between pauses (see asr.transcribe.segmenter)."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "words": [w.to_dict() for w in self.words]}


@dataclass
class Transcript:
    segments: list[Segment]
    duration: float  # seconds of audio read
    source: str = ""

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict:
        return {"source": self.source, "duration": round(self.duration, 3), "text": self.text,
                "segments": [s.to_dict() for s in self.segments]}
