"""A catalogue of bad inputs, one row each, run through ``asr.cli.main`` in-process (issue #27).

Every row states what a user must get: the exit status, and either one line naming the item and
the cause (``ERROR``), the problems listed one per line (``PROBLEMS``, validate-data), or the job
done with the bad items skipped and counted (``SKIPPED``) or repaired and reported (``REPORTED``).
For every row: no traceback, and no temporary or half-written file left behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from asr.cli import main as asr_main
from tests.robustness.conftest import SENTENCE, Bench

ERROR, PROBLEMS, SKIPPED, REPORTED = "error", "problems", "skipped", "reported"
# What a killed or failed writer would leave: asr.io's NAME.PID.tmp, a shard's NAME.tmp.PID, the write probe.
LEFTOVER = re.compile(r"\.tmp$|\.tmp\.\d+$|^\.asr-write-probe-")
READ_ONLY = "/sys/asr-robustness-out"  # a read-only mount: even root cannot write there


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Bench], list[str]]
    says: tuple[str, ...]  # all on one line of the output (the error line, a problem, the summary)
    status: int = 1
    kind: str = ERROR
    absent: tuple[str, ...] = ()  # outputs (relative to the case's directory) that must not exist after it
    check: Callable[[Bench, str], None] | None = None  # more: given the bench and all the output


@dataclass
class Result:
    status: int
    out: str
    err: str
    errors: list[str]  # messages of ERROR log records
    warnings: list[str]

    @property
    def text(self) -> str:
        return "\n".join([self.out, self.err, *self.errors, *self.warnings])


def run_cli(argv: list[str], capsys, caplog) -> Result:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        try:
            status = asr_main(argv)
        except SystemExit as e:  # argparse's own errors: usage and one "error:" line, status 2
            status = e.code
    out, err = capsys.readouterr()
    recs = caplog.records
    return Result(status, out, err, [r.getMessage() for r in recs if r.levelno >= logging.ERROR],
                  [r.getMessage() for r in recs if r.levelno == logging.WARNING])


def _data(b: Bench, **kw) -> str:
    return b.data(**kw)


def _two(b: Bench, bad_audio: str, bad_text: str = SENTENCE) -> str:
    """A data dir with one good utterance and one whose audio is ``bad_audio``."""
    return b.data(utts={"s1-bad": (bad_audio, bad_text), "s1-good": (str(b.speech), SENTENCE)})


def _segmented(b: Bench, segments: str) -> str:
    return b.data(utts={"rec1": (str(b.speech), "")}, segments=segments)


def _decode(b: Bench, data: str, model: str | None = None, *extra: str, greedy: bool = True) -> list[str]:
    return ["decode", "-m", model or str(b.model), data, b.path("out"), "--nj", "1", *extra,
            *(["--greedy"] if greedy else [])]


def _decode_json(b: Bench, content: str) -> list[str]:
    """Decode with a model whose decode.json is ``content`` (without --greedy, which would not read it)."""
    return _decode(b, b.data(), b.model_copy(decode_json=content), greedy=False)


def _without(b: Bench, name: str) -> str:
    d = b.data()
    (Path(d) / name).unlink()
    return d


def _segments_without_text(b: Bench) -> str:
    return b.data(utts={"rec1": (str(b.speech), "")}, segments="rec1-a rec1 0 0.5\nrec1-b rec1 0.5 1.5\n",
                  raw={"text": b"rec1-a hello\n", "utt2spk": b"rec1-a rec1\n"})


def _folder_with(b: Bench, good: dict[str, str], bad: dict[str, str | bytes]) -> str:
    """:func:`_folder` of ``good`` spoken files, plus ``bad`` files written as given (each with a transcript)."""
    src = _folder(b, good)
    for name, content in bad.items():
        if name.endswith(".wav") and content == "1 Hz":
            b.one_hz_wav(f"src/{name}")
        else:
            b.write(f"src/{name}", content)
        b.write(f"src/{Path(name).with_suffix('.txt')}", "some words")
    return src


def _blocked_output(b: Bench) -> str:
    """An output directory where speech.txt cannot be written (a directory holds its name), as a full disk
    or a permission problem would stop one file's output and not the next one's."""
    (b.tmp / "o" / "speech.txt").mkdir(parents=True)
    return b.path("o")


def _other_written(b: Bench, _out: str) -> None:
    assert (b.tmp / "o" / "other.txt").is_file()


def _exp_with_garbage(b: Bench) -> str:
    return str(Path(b.write("exp/epoch-1.pt", b"not a checkpoint")).parent)


def _transcribe(b: Bench, *files: str, model: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    return ["transcribe", "-m", model or str(b.model), "--greedy", "--no-progress", *extra, *files]


def _train(b: Bench, *overrides: str, config: str | None = None, exp: str | None = None) -> list[str]:
    # Data paths that do not exist: every case must fail on its configuration, before any data is read.
    base = [f"exp_dir={exp or b.path('exp')}", f"train_data={b.path('nodata')}", f"train_feats={b.path('nofeats')}"]
    return ["train", *(["--config", config] if config else []), *base, *overrides]


def _train_on_store(b: Bench, damage: str, content: str) -> list[str]:
    """Train on a real (tiny) feature store whose file ``damage`` holds ``content``: fails before the first step."""
    from asr.features.extract import extract_features

    data = b.data()
    extract_features(data, b.tmp / "feats", compute_cmvn=True)
    (b.tmp / "feats" / damage).write_text(content)
    return ["train", f"exp_dir={b.path('exp')}", f"train_data={data}", f"train_feats={b.path('feats')}",
            f"dev_data={data}", f"dev_feats={b.path('feats')}", "model.hidden_size=8", "model.num_layers=1"]


def _features(b: Bench, *extra: str, data: str | None = None) -> list[str]:
    return ["features", data or b.data(), b.path("feats"), "--nj", "1", *extra]


def _lm(b: Bench, *extra: str, text: str | None = None) -> list[str]:
    return ["lm", text or b.write("lm.txt", "the cat sat on the mat\nthe dog sat on the log\n"), b.path("lm"), *extra]


def _score(b: Bench, ref: str | bytes, hyp: str | bytes = "u1 hello world\n", *extra: str) -> list[str]:
    return ["score", b.write("ref.txt", ref), b.write("hyp.txt", hyp), *extra]


def _model_json(b: Bench, **changes) -> str:
    meta = b.model_config()
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            meta[section][field] = value
        elif value is None:
            del meta[section]
        else:
            meta[section] = value
    return json.dumps(meta)


def _folder(b: Bench, files: dict[str, str | None]) -> str:
    """A folder of spoken wavs with sidecar transcripts: name -> transcript (None: no sidecar)."""
    for name, text in files.items():
        b.wav(f"src/{name}")
        if text is not None:
            b.write(f"src/{Path(name).with_suffix('.txt')}", text)
    return b.path("src")


def _hyps(path: Path) -> dict[str, str]:
    return {line.split(maxsplit=1)[0]: (line.split(maxsplit=1) + [""])[1]
            for line in path.read_text().splitlines()}


def _same_hyp(b: Bench, _out: str) -> None:
    hyps = _hyps(b.tmp / "out" / "hyp.txt")
    assert hyps["s1-bad"] == hyps["s1-good"]


def _skip_listed(utt: str) -> Callable[[Bench, str], None]:
    def check(b: Bench, _out: str) -> None:
        listed = (b.tmp / "out" / "skipped.txt").read_text()
        assert listed.startswith(f"{utt} ") and len(listed.splitlines()) == 1
        assert utt in _hyps(b.tmp / "out" / "hyp.txt")  # counted as an empty hypothesis, not left out
        assert (b.tmp / "out" / "ref.txt").is_file()
    return check


def _store_utts(b: Bench) -> list[str]:
    return [line.split()[0] for line in (b.tmp / "feats" / "index.tsv").read_text().splitlines()]


def _store_has(*utts: str) -> Callable[[Bench, str], None]:
    def check(b: Bench, _out: str) -> None:
        assert sorted(_store_utts(b)) == sorted(utts)
    return check


def _segment_frames(b: Bench, _out: str) -> None:
    from asr.features.store import FeatureStore

    store = FeatureStore(b.tmp / "feats")
    # 0.5 s and 1.0 s segments: 10 ms frames, less one window
    assert [store.num_frames(u) for u in ("rec1-a", "rec1-b")] == [47, 97]


def _export_mode(b: Bench, _out: str) -> None:
    mode = (b.tmp / "exported" / "model.safetensors").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask, oct(mode)  # not safetensors' 0600


def _import_ids(*expected: str) -> Callable[[Bench, str], None]:
    def check(b: Bench, _out: str) -> None:
        ids = sorted(line.split()[0] for line in (b.tmp / "imported" / "text").read_text().splitlines())
        assert ids == sorted(expected)
    return check


def _garbage_kept(b: Bench, _out: str) -> None:
    assert (b.tmp / "exp" / "epoch-1.pt").read_bytes() == b"not a checkpoint"  # not deleted for a fresh start


PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256))
BAD_UTF8_TEXT = b"s1-a the quick brown fox\n" + b"s1-b caf\xe9 au lait\n"
BOM_TEXT = b"\xef\xbb\xbfs1-a " + SENTENCE.encode() + b"\ns1-b " + SENTENCE.encode() + b"\n"


CASES = [
    # ------------------------------------------------------------------------------------- validate-data
    Case("validate: non-UTF-8 byte in text", lambda b: ["validate-data", b.data(raw={"text": BAD_UTF8_TEXT})],
         ("text:2: byte 0xe9 is not UTF-8",), kind=PROBLEMS),
    Case("validate: non-UTF-8 byte in wav.scp",
         lambda b: ["validate-data", b.data(raw={"wav.scp": b"s1-a /x/\xff.wav\ns1-b /y.wav\n"})],
         ("wav.scp:1: byte 0xff is not UTF-8",), kind=PROBLEMS),
    Case("validate: byte-order mark", lambda b: ["validate-data", b.data(raw={"text": BOM_TEXT})],
         ("text:1: starts with a byte-order mark",), kind=PROBLEMS),
    Case("validate: utterance shorter than a frame",
         lambda b: ["validate-data", _two(b, b.wav("short.wav", np.zeros(100, np.float32)))],
         ("audio of 's1-bad' lasts 0.006 s, shorter than one 32 ms feature frame",), kind=PROBLEMS),
    Case("validate: header says 1 Hz", lambda b: ["validate-data", _two(b, b.one_hz_wav("slow.wav"))],
         ("audio of 's1-bad' has an implausible sample rate of 1 Hz",), kind=PROBLEMS),
    Case("validate: segment of an unknown recording",
         lambda b: ["validate-data", _segmented(b, "rec1-a rec1 0 0.5\nrec1-b nope 0.5 1.5\n")],
         ("segments:2: recording 'nope' of 'rec1-b' is not in wav.scp",), kind=PROBLEMS),
    Case("validate: segment past the end of its recording",
         lambda b: ["validate-data", _segmented(b, "rec1-a rec1 0 0.5\nrec1-b rec1 0.5 99\n")],
         ("segment 'rec1-b' ends at 99 s, after the end of recording 'rec1'",), kind=PROBLEMS),
    Case("validate: segment line with three fields",
         lambda b: ["validate-data", _segmented(b, "rec1-a rec1 0.5\n")],
         ("segments:1: expected '<utt> <recording> <start> <end>'",), kind=PROBLEMS),
    Case("validate: segment ending before it starts",
         lambda b: ["validate-data", _segmented(b, "rec1-a rec1 1.0 0.5\n")],
         ("segment 'rec1-a' has start 1 and end 0.5 s",), kind=PROBLEMS),
    Case("validate: segment shorter than a frame",
         lambda b: ["validate-data", _segmented(b, "rec1-a rec1 0 0.01\nrec1-b rec1 0.5 1.5\n")],
         ("segment 'rec1-a' lasts 0.010 s, shorter than one 32 ms feature frame",), kind=PROBLEMS),
    Case("validate: segment missing from text", lambda b: ["validate-data", _segments_without_text(b)],
         ("'rec1-b' missing from text",), kind=PROBLEMS),
    Case("validate: audio not found", lambda b: ["validate-data", _two(b, b.path("missing.wav"))],
         ("audio of 's1-bad' not found",), kind=PROBLEMS),
    Case("validate: text file as audio", lambda b: ["validate-data", _two(b, b.write("fake.wav", "not audio"))],
         ("audio of 's1-bad' unreadable",), kind=PROBLEMS),
    Case("validate: audio without samples",
         lambda b: ["validate-data", _two(b, b.wav("zero.wav", np.zeros(0, np.float32)))],
         ("audio of 's1-bad' is empty",), kind=PROBLEMS),
    Case("validate: duplicate id",
         lambda b: ["validate-data", b.data(raw={"utt2spk": b"s1-a s1\ns1-a s1\ns1-b s1\n"})],
         ("utt2spk:2: duplicate id 's1-a'",), kind=PROBLEMS),
    Case("validate: unsorted ids", lambda b: ["validate-data", b.data(raw={"utt2spk": b"s1-b s1\ns1-a s1\n"})],
         ("utt2spk:2: not sorted",), kind=PROBLEMS),
    Case("validate: empty transcript", lambda b: ["validate-data", b.data(raw={"text": b"s1-a\ns1-b hello\n"})],
         ("text:1: empty transcript for 's1-a'",), kind=PROBLEMS),
    Case("validate: no utt2spk", lambda b: ["validate-data", _without(b, "utt2spk")], ("utt2spk: missing",),
         kind=PROBLEMS),
    Case("validate: duration not a number",
         lambda b: ["validate-data", b.data(raw={"utt2dur": b"s1-a 2.5\ns1-b abc\n"})],
         ("utt2dur:2: duration 'abc' is not a number",), kind=PROBLEMS),
    Case("validate: utt2dur disagrees with the audio",
         lambda b: ["validate-data", b.data(raw={"utt2dur": b"s1-a 2.5\ns1-b 3600\n"})],
         ("utt2dur:2: 's1-b' is listed as 3600 s, but its audio lasts",), kind=PROBLEMS),
    Case("validate: spk2utt disagrees",
         lambda b: ["validate-data", b.data(raw={"spk2utt": b"s1 s1-a\ns2 s1-b\n"})],
         ("'s1-b' listed under 's2', utt2spk disagrees",), kind=PROBLEMS),
    Case("validate: empty line", lambda b: ["validate-data", b.data(raw={"utt2spk": b"s1-a s1\n\ns1-b s1\n"})],
         ("utt2spk:2: empty line",), kind=PROBLEMS),
    Case("validate: not a directory", lambda b: ["validate-data", b.write("file", "x")],
         ("file: not a directory",), kind=PROBLEMS),
    # ----------------------------------------------------------------------------------------- features
    Case("features: --n-mels 0", lambda b: _features(b, "--n-mels", "0"), ("n_mels=0 must be > 0",),
         absent=("feats",)),
    Case("features: --f-min above --f-max", lambda b: _features(b, "--f-min", "8000", "--f-max", "7600"),
         ("f_min=8000 and f_max=7600 must satisfy 0 <= f_min < f_max",), absent=("feats",)),
    Case("features: --f-max above Nyquist", lambda b: _features(b, "--f-max", "9000"),
         ("sample_rate/2 = 8000 Hz",), absent=("feats",)),
    Case("features: negative --f-min", lambda b: _features(b, "--f-min", "-5"), ("f_min=-5",), absent=("feats",)),
    Case("features: --nj 0", lambda b: _features(b, "--nj", "0"), ("--nj 0: needs at least 1 process",),
         absent=("feats",)),
    Case("features: --nj -2", lambda b: _features(b, "--nj", "-2"), ("--nj -2",), absent=("feats",)),
    Case("features: --sample-rate 1", lambda b: _features(b, "--sample-rate", "1"),
         ("sample_rate=1 Hz is not in [1000, 384000]",), absent=("feats",)),
    Case("features: --win-ms 0", lambda b: _features(b, "--win-ms", "0"), ("win_ms=0",), absent=("feats",)),
    Case("features: negative --hop-ms", lambda b: _features(b, "--hop-ms", "-10"), ("hop_ms=-10",),
         absent=("feats",)),
    Case("features: --n-fft shorter than the window", lambda b: _features(b, "--n-fft", "128"),
         ("longer than n_fft=128",), absent=("feats",)),
    Case("features: --n-fft 0", lambda b: _features(b, "--n-fft", "0", "--backend", "kaldi"), ("n_fft=0",),
         absent=("feats",)),
    Case("features: --n-mels not a number", lambda b: _features(b, "--n-mels", "many"),
         ("argument --n-mels: invalid int value: 'many'",), status=2, absent=("feats",)),
    Case("features: --shard 5/4", lambda b: _features(b, "--shard", "5/4"), ("--shard 5/4: needs 0 <= I < N",),
         absent=("feats",)),
    Case("features: --shard x", lambda b: _features(b, "--shard", "x"), ("--shard 'x': expected I/N",),
         absent=("feats",)),
    Case("features: --num-shards -1", lambda b: _features(b, "--num-shards", "-1"), ("--num-shards -1",),
         absent=("feats",)),
    Case("features: non-UTF-8 text", lambda b: _features(b, data=b.data(raw={"text": BAD_UTF8_TEXT})),
         ("text:2: byte 0xe9 is not UTF-8",), absent=("feats/index.tsv",)),
    Case("features: no such data dir", lambda b: _features(b, data=b.path("nodata")),
         ("nodata: no such data directory",), absent=("feats/index.tsv",)),
    Case("features: output is a file", lambda b: ["features", b.data(), b.write("feats", "x"), "--nj", "1"],
         ("the output directory is a file",)),
    Case("features: output read-only", lambda b: ["features", b.data(), READ_ONLY, "--nj", "1"],
         ("cannot be written",)),
    Case("features: segments of an unknown recording",
         lambda b: _features(b, data=_segmented(b, "rec1-a rec1 0 0.5\nrec1-b nope 0 1\n")),
         ("segments:2: recording 'nope' of 'rec1-b' is not in wav.scp",), absent=("feats/index.tsv",)),
    Case("features: malformed segments", lambda b: _features(b, data=_segmented(b, "rec1-a rec1 zero 0.5\n")),
         ("segments:1: expected '<utt> <recording> <start> <end>'",), absent=("feats/index.tsv",)),
    Case("features: segments are honoured",
         lambda b: _features(b, data=_segmented(b, "rec1-a rec1 0 0.5\nrec1-b rec1 0.5 1.5\n")),
         ("2 utterances", "0 skipped"), status=0, kind=REPORTED, check=_segment_frames),
    Case("features: segment outside the audio",
         lambda b: _features(b, data=_segmented(b, "rec1-a rec1 0 0.5\nrec1-b rec1 50 60\n")),
         ("1 skipped (listed in", "skipped.txt"), status=0, kind=SKIPPED, check=_store_has("rec1-a")),
    Case("features: byte-order mark in text", lambda b: _features(b, data=b.data(raw={"text": BOM_TEXT})),
         ("text: starts with a byte-order mark; ignored",), status=0, kind=REPORTED,
         check=_store_has("s1-a", "s1-b")),
    Case("features: a few NaN samples are repaired", lambda b: _features(b, data=_two(b, b.nan_wav("nan.wav"))),
         ("nan.wav: repaired 4 NaN/infinite sample(s)",), status=0, kind=REPORTED,
         check=_store_has("s1-bad", "s1-good")),
    Case("features: all-NaN audio is skipped",
         lambda b: _features(b, data=_two(b, b.wav("nan.wav", np.full(8000, np.nan, np.float32)))),
         ("1 skipped (listed in",), status=0, kind=SKIPPED, check=_store_has("s1-good")),
    Case("features: utterance shorter than a frame is skipped",
         lambda b: _features(b, data=_two(b, b.wav("short.wav", np.zeros(100, np.float32)))),
         ("1 skipped (listed in",), status=0, kind=SKIPPED, check=_store_has("s1-good")),
    Case("features: header says 1 Hz is skipped", lambda b: _features(b, data=_two(b, b.one_hz_wav("slow.wav"))),
         ("1 skipped (listed in",), status=0, kind=SKIPPED, check=_store_has("s1-good")),
    Case("features: missing audio is skipped", lambda b: _features(b, data=_two(b, b.path("missing.wav"))),
         ("1 skipped (listed in",), status=0, kind=SKIPPED, check=_store_has("s1-good")),
    Case("features: nothing usable",
         lambda b: _features(b, data=b.data(utts={"s1-a": (b.path("missing.wav"), SENTENCE)})),
         ("0 utterances", "1 skipped (listed in"), kind=SKIPPED),
    # -------------------------------------------------------------------------------- train (config only)
    Case("train: lr=0", lambda b: _train(b, "lr=0"), ("lr must be > 0, got 0.0",), absent=("exp",)),
    Case("train: max_frames=0", lambda b: _train(b, "max_frames=0"), ("max_frames must be > 0, got 0",),
         absent=("exp",)),
    Case("train: dropout=2", lambda b: _train(b, "model.dropout=2"), ("model.dropout must be in [0, 1), got 2.0",),
         absent=("exp",)),
    Case("train: negative lr", lambda b: _train(b, "lr=-1e-3"), ("lr must be > 0",), absent=("exp",)),
    Case("train: epochs=0", lambda b: _train(b, "epochs=0"), ("epochs must be > 0",), absent=("exp",)),
    Case("train: negative warm-up", lambda b: _train(b, "warmup_steps=-5"), ("warmup_steps must be >= 0",),
         absent=("exp",)),
    Case("train: final_lr_ratio=2", lambda b: _train(b, "final_lr_ratio=2"), ("final_lr_ratio must be in [0, 1]",),
         absent=("exp",)),
    Case("train: optimizer=adam", lambda b: _train(b, "optimizer=adam"), ("optimizer must be adamw or sgd",),
         absent=("exp",)),
    Case("train: amp=fp8", lambda b: _train(b, "amp=fp8"), ("amp must be auto, off, bf16 or fp16",),
         absent=("exp",)),
    Case("train: proj_size >= hidden_size", lambda b: _train(b, "model.hidden_size=64", "model.proj_size=64"),
         ("model.proj_size must be in [0, model.hidden_size)",), absent=("exp",)),
    Case("train: num_layers=0", lambda b: _train(b, "model.num_layers=0"), ("model.num_layers must be >= 1",),
         absent=("exp",)),
    Case("train: negative SpecAugment masks", lambda b: _train(b, "specaug.freq_masks=-1"),
         ("specaug.freq_masks must be >= 0",), absent=("exp",)),
    Case("train: misspelt model key", lambda b: _train(b, "model.hiden_size=64"),
         ("unknown key(s) ['hiden_size'] (did you mean 'hidden_size'?)",), absent=("exp",)),
    Case("train: misspelt top-level key", lambda b: _train(b, "epocs=3"),
         ("unknown key(s) ['epocs'] (did you mean 'epochs'?)",), absent=("exp",)),
    Case("train: misspelt key in the YAML", lambda b: _train(b, config=b.write("c.yaml", "lr: 1e-3\nmax_frame: 100\n")),
         ("c.yaml: unknown key(s) ['max_frame'] (did you mean 'max_frames'?)",), absent=("exp",)),
    Case("train: YAML syntax error", lambda b: _train(b, config=b.write("c.yaml", "lr: [1e-3,\nepochs: 2\n")),
         ("c.yaml:3: not valid YAML",), absent=("exp",)),
    Case("train: YAML list at the top", lambda b: _train(b, config=b.write("c.yaml", "- lr\n- epochs\n")),
         ("c.yaml: expected a mapping at the top level",), absent=("exp",)),
    Case("train: YAML not UTF-8", lambda b: _train(b, config=b.write("c.yaml", b"# caf\xe9\nlr: 1e-3\n")),
         ("c.yaml:1: byte 0xe9 is not UTF-8",), absent=("exp",)),
    Case("train: YAML missing", lambda b: _train(b, config=b.path("none.yaml")),
         ("none.yaml: No such file or directory",), absent=("exp",)),
    Case("train: integer given as text", lambda b: _train(b, "max_frames=lots"),
         ("max_frames must be an integer, got 'lots'",), absent=("exp",)),
    Case("train: boolean given as a number", lambda b: _train(b, "resume=3"), ("resume must be true or false",),
         absent=("exp",)),
    Case("train: number given as a list", lambda b: _train(b, "lr=[1, 2]"), ("lr must be a number",),
         absent=("exp",)),
    Case("train: override without =", lambda b: _train(b, "epochs"),
         ("override 'epochs' is not of the form key=value",), absent=("exp",)),
    Case("train: feature_config.n_mels=0", lambda b: _train(b, "features=on_the_fly", "feature_config.n_mels=0"),
         ("n_mels=0 must be > 0",), absent=("exp",)),
    Case("train: resume with only unloadable checkpoints",
         lambda b: _train(b, "resume=true", exp=_exp_with_garbage(b)),
         ("resume=true, but none of its checkpoints can be loaded (epoch-1.pt",), check=_garbage_kept),
    Case("train: feature store configuration damaged", lambda b: _train_on_store(b, "feature_config.json", "{}"),
         ("feature_config.json: not a feature store configuration (KeyError",)),
    Case("train: CMVN statistics truncated", lambda b: _train_on_store(b, "cmvn.json", '{"mean": [0.1, 0.2'),
         ("cmvn.json: not CMVN statistics (JSONDecodeError",)),
    Case("augment: misspelt key", lambda b: ["augment", b.data(), b.path("aug"), "noise.prb=0.5"],
         ("unknown key(s) ['prb'] (did you mean 'prob'?)",), absent=("aug",)),
    Case("augment: unknown key in the YAML",
         lambda b: ["augment", b.data(), b.path("aug"), "--config", b.write("a.yaml", "nois:\n  prob: 0.5\n")],
         ("a.yaml: unknown key(s) ['nois'] (did you mean 'noise'?)",), absent=("aug",)),
    Case("augment: segments are refused", lambda b: ["augment", _segmented(b, "rec1-a rec1 0 1\n"), b.path("aug")],
         ("segments: this command does not support Kaldi segments files",), absent=("aug/wav.scp",)),
    Case("speed-perturb: segments are refused",
         lambda b: ["speed-perturb", _segmented(b, "rec1-a rec1 0 1\n"), b.path("sp")],
         ("segments: this command does not support Kaldi segments files",), absent=("sp/wav.scp",)),
    # ------------------------------------------------------------------------------------------- decode
    Case("decode: misspelt key in decode.json",
         lambda b: _decode_json(b, '{"beem": 20}'),
         ("decode.json: unknown key(s) ['beem'] (did you mean 'beam'?)",), absent=("out",)),
    Case("decode: decode.json not JSON",
         lambda b: _decode_json(b, '{"beam": 20,'),
         ("decode.json:1: not valid JSON",), absent=("out",)),
    Case("decode: decode.json with a text beam",
         lambda b: _decode_json(b, '{"beam": "wide"}'),
         ("decode.json: beam must be of type int, got 'wide'",), absent=("out",)),
    Case("decode: decode.json with a negative beam",
         lambda b: _decode_json(b, '{"beam": -3}'),
         ("decode.json: beam must be >= 0",), absent=("out",)),
    Case("decode: decode.json a list",
         lambda b: _decode_json(b, "[1, 2]"),
         ("decode.json: expected a JSON object",), absent=("out",)),
    Case("decode: config.json not JSON", lambda b: _decode(b, b.data(), b.model_copy(config_json="{")),
         ("config.json:1: not valid JSON",), absent=("out/hyp.txt",)),
    Case("decode: config.json misspelt model key",
         lambda b: _decode(b, b.data(), b.model_copy(config_json=_model_json(b, model__hiden_size=16))),
         ("config.json: model: unknown key(s) ['hiden_size'] (did you mean 'hidden_size'?)",),
         absent=("out/hyp.txt",)),
    Case("decode: config.json unknown top-level key",
         lambda b: _decode(b, b.data(), b.model_copy(config_json=_model_json(b, featurs={}))),
         ("config.json: unknown key(s) ['featurs'] (did you mean 'features'?)",), absent=("out/hyp.txt",)),
    Case("decode: config.json without features",
         lambda b: _decode(b, b.data(), b.model_copy(config_json=_model_json(b, features=None))),
         ("config.json: needs a 'features' object",), absent=("out/hyp.txt",)),
    Case("decode: config.json with n_mels 0",
         lambda b: _decode(b, b.data(), b.model_copy(config_json=_model_json(b, features__n_mels=0))),
         ("config.json: features: feature configuration: n_mels=0 must be > 0",), absent=("out/hyp.txt",)),
    Case("decode: corrupt weights",
         lambda b: _decode(b, b.data(), b.model_copy(model_safetensors=b"\x10\x00\x00\x00garbage")),
         ("model.safetensors: not readable safetensors weights",), absent=("out/hyp.txt",)),
    Case("decode: weights of another shape",
         lambda b: _decode(b, b.data(), b.model_copy(config_json=_model_json(b, model__hidden_size=32))),
         ("model.safetensors: weights do not match config.json's model (size mismatch",),
         absent=("out/hyp.txt",)),
    Case("decode: empty tokens.txt", lambda b: _decode(b, b.data(), b.model_copy(tokens_txt="")),
         ("tokens.txt: empty (no units)",), absent=("out/hyp.txt",)),
    Case("decode: tokens.txt with an extra unit",
         lambda b: _decode(b, b.data(), b.model_copy(tokens_txt=(b.model / "tokens.txt").read_text() + "x\n")),
         ("tokens.txt: 30 units, but config.json's model has vocab_size=29",), absent=("out/hyp.txt",)),
    Case("decode: tokens.txt without the blank first",
         lambda b: _decode(b, b.data(), b.model_copy(tokens_txt="a\nb\n")), ("tokens.txt: token 0 must be the blank",),
         absent=("out/hyp.txt",)),
    Case("decode: no such model", lambda b: _decode(b, b.data(), b.path("nomodel")), ("no such model directory",),
         absent=("out/hyp.txt",)),
    Case("decode: output is a file", lambda b: ["decode", "-m", str(b.model), b.data(), b.write("out", "x")],
         ("out: the output directory is a file",)),
    Case("decode: output read-only", lambda b: ["decode", "-m", str(b.model), b.data(), READ_ONLY],
         ("cannot be written",)),
    Case("decode: non-UTF-8 text", lambda b: _decode(b, b.data(raw={"text": BAD_UTF8_TEXT})),
         ("text:2: byte 0xe9 is not UTF-8",), absent=("out/hyp.txt",)),
    Case("decode: utterance without transcript", lambda b: _decode(b, b.data(raw={"text": b"s1-a hello\n"})),
         ("no transcript for 1 utterance(s) of wav.scp, e.g. 's1-b'",), absent=("out/hyp.txt", "out/ref.txt")),
    Case("decode: --batch-seconds 0", lambda b: _decode(b, b.data(), None, "--batch-seconds", "0"),
         ("--batch-seconds 0.0: must be > 0",), absent=("out",)),
    Case("decode: --greedy with --beam", lambda b: _decode(b, b.data(), None, "--beam", "5"),
         ("--greedy contradicts --beam",), absent=("out",)),
    Case("decode: segments of an unknown recording",
         lambda b: _decode(b, _segmented(b, "rec1-a rec1 0 0.5\nrec1-b nope 0 1\n")),
         ("recording 'nope' of 'rec1-b' is not in wav.scp",), absent=("out",)),
    Case("decode: byte-order mark in text", lambda b: _decode(b, b.data(raw={"text": BOM_TEXT})),
         ("starts with a byte-order mark; ignored",), status=0, kind=REPORTED,
         check=lambda b, _: sorted(_hyps(b.tmp / "out" / "ref.txt")) == ["s1-a", "s1-b"] or pytest.fail("ids")),
    Case("decode: segments are honoured",
         lambda b: _decode(b, _segmented(b, "rec1-a rec1 0 0.5\nrec1-b rec1 0.5 1.5\n")),
         ("hyp.txt",), status=0, kind=REPORTED,
         check=lambda b, _: sorted(_hyps(b.tmp / "out" / "hyp.txt")) == ["rec1-a", "rec1-b"] or pytest.fail("ids")),
    Case("decode: utterance shorter than a frame is skipped",
         lambda b: _decode(b, _two(b, b.wav("short.wav", np.zeros(100, np.float32)))),
         ("1 of 2 utterances skipped (empty hypotheses), listed in",), status=0, kind=SKIPPED,
         check=_skip_listed("s1-bad")),
    Case("decode: all-NaN audio is skipped",
         lambda b: _decode(b, _two(b, b.wav("nan.wav", np.full(8000, np.nan, np.float32)))),
         ("1 of 2 utterances skipped",), status=0, kind=SKIPPED, check=_skip_listed("s1-bad")),
    Case("decode: header says 1 Hz is skipped", lambda b: _decode(b, _two(b, b.one_hz_wav("slow.wav"))),
         ("1 of 2 utterances skipped",), status=0, kind=SKIPPED, check=_skip_listed("s1-bad")),
    Case("decode: missing audio is skipped", lambda b: _decode(b, _two(b, b.path("missing.wav"))),
         ("1 of 2 utterances skipped",), status=0, kind=SKIPPED, check=_skip_listed("s1-bad")),
    Case("decode: nothing decodable",
         lambda b: _decode(b, b.data(utts={"s1-a": (b.path("missing.wav"), SENTENCE)})),
         ("1 of 1 utterances skipped",), kind=SKIPPED),
    Case("decode: a few NaN samples give the clean transcript (shipped model)",
         lambda b: ["decode", _two(b, b.nan_wav("nan.wav")), b.path("out"), "--greedy", "--nj", "1"],
         ("nan.wav: repaired 4 NaN/infinite sample(s)",), status=0, kind=REPORTED, check=_same_hyp),
    # ------------------------------------------------------------------------------------------------ lm
    Case("lm: negative discounts", lambda b: _lm(b, "--discounts=-0.5,1,1.5"),
         ("discounts must be three numbers D1,D2,D3+ with 0 <= D1 <= 1",), absent=("lm",)),
    Case("lm: discount above its count", lambda b: _lm(b, "--discounts", "0.5,2.5,1"), ("discounts must be",),
         absent=("lm",)),
    Case("lm: two discounts", lambda b: _lm(b, "--discounts", "0.5,1"), ("expected 3 comma-separated values",),
         status=2, absent=("lm",)),
    Case("lm: --order 99", lambda b: _lm(b, "--order", "99"), ("LM order must be at most 6",), absent=("lm",)),
    Case("lm: --order 1", lambda b: _lm(b, "--order", "1"), ("LM order must be at least 2",), absent=("lm",)),
    Case("lm: --prune -1", lambda b: _lm(b, "--prune", "-1"), ("prune must be >= 0",), absent=("lm",)),
    Case("lm: a PNG as text", lambda b: _lm(b, text=b.write("pic.png", PNG)),
         ("pic.png: not a text file (binary data",), absent=("lm",)),
    Case("lm: a wav as text", lambda b: _lm(b, text=str(b.speech)), ("speech.wav: not a text file",),
         absent=("lm",)),
    Case("lm: latin-1 text", lambda b: _lm(b, text=b.write("t.txt", b"the cat\nthe caf\xe9\n")),
         ("t.txt:2: byte 0xe9 is not UTF-8",), absent=("lm",)),
    Case("lm: no such text", lambda b: _lm(b, text=b.path("none.txt")), ("none.txt: no such LM training text",),
         absent=("lm",)),
    Case("tokenizer: a PNG as text", lambda b: ["tokenizer", "--type", "char", b.write("pic.png", PNG), b.path("tok")],
         ("pic.png: not a text file",), absent=("tok",)),
    Case("tokenizer: latin-1 text",
         lambda b: ["tokenizer", "--type", "bpe", b.write("t.txt", b"caf\xe9 au lait\n"), b.path("tok")],
         ("t.txt:1: byte 0xe9 is not UTF-8",), absent=("tok",)),
    # ---------------------------------------------------------------------------------------------- score
    Case("score: capitals, punctuation and digits are normalized",
         lambda b: _score(b, "u1 Hello, World! I have 2 cats.\n", "u1 hello world i have two cats\n"),
         ("normalized both sides", "5 of 6 reference words changed"), status=0, kind=REPORTED,
         check=lambda b, out: "%WER 0.00" in out or pytest.fail(out)),
    Case("score: --no-normalize scores as written",
         lambda b: _score(b, "u1 Hello, World!\n", "u1 hello world\n", "--no-normalize"),
         ("%WER 100.00",), status=0, kind=REPORTED),
    Case("score: non-UTF-8 reference", lambda b: _score(b, b"u1 hello\nu2 caf\xe9\n"),
         ("ref.txt:2: byte 0xe9 is not UTF-8",)),
    Case("score: reference is a directory", lambda b: ["score", b.data(), b.write("hyp.txt", "u1 x\n")],
         ("a directory, not a transcript file",)),
    Case("score: empty reference file", lambda b: _score(b, ""), ("ref.txt: no transcripts (empty file)",)),
    Case("score: duplicate reference id", lambda b: _score(b, "u1 a\nu1 b\n"), ("ref.txt:2: duplicate utterance id",)),
    Case("score: hypothesis of an unknown utterance", lambda b: _score(b, "u1 hello world\n", "u9 hello\n"),
         ("1 hypotheses have no reference", "hyp.txt:1: utterance 'u9'")),
    Case("score: no such reference", lambda b: ["score", b.path("none.txt"), b.write("h.txt", "u1 a\n")],
         ("none.txt: No such file or directory",)),
    Case("score: reference of punctuation only", lambda b: _score(b, "u1 hello\nu2 ?!\n"),
         ("1 empty reference(s)", "ref.txt:2: utterance 'u2'")),
    Case("score: --out-dir is a file", lambda b: _score(b, "u1 hello\n", "u1 hello\n", "--out-dir", b.write("r", "x")),
         ("the output directory is a file",)),
    # ----------------------------------------------------------------------------------------- transcribe
    Case("transcribe: header says 1 Hz", lambda b: _transcribe(b, b.one_hz_wav("slow.wav")),
         ("slow.wav: implausible sample rate 1 Hz",)),
    Case("transcribe: -o is a file", lambda b: _transcribe(b, str(b.speech), extra=("-o", b.write("o", "x"))),
         ("o: the output directory is a file",)),
    Case("transcribe: -o read-only", lambda b: _transcribe(b, str(b.speech), extra=("-o", READ_ONLY)),
         ("cannot be written",)),
    Case("transcribe: no such file", lambda b: _transcribe(b, b.path("none.wav")), ("none.wav: no such file",)),
    Case("transcribe: empty file", lambda b: _transcribe(b, b.write("e.wav", b"")), ("e.wav: empty file (0 bytes)",)),
    Case("transcribe: text as audio", lambda b: _transcribe(b, b.write("t.wav", "hello")),
         ("t.wav: not a readable audio file",)),
    Case("transcribe: a directory", lambda b: _transcribe(b, b.path("")), ("is a directory, not an audio file",)),
    Case("transcribe: all-NaN audio", lambda b: _transcribe(b, b.wav("nan.wav", np.full(8000, np.nan, np.float32))),
         ("nan.wav: 8000 of 8000 samples are NaN or infinite",)),
    Case("transcribe: one bad file of two",
         lambda b: _transcribe(b, b.path("none.wav"), str(b.speech), extra=("-o", b.path("o"))),
         ("1 of 2 file(s) failed",), kind=SKIPPED,
         check=lambda b, _: (b.tmp / "o" / "speech.txt").is_file() or pytest.fail("speech.txt")),
    Case("transcribe: an output that cannot be written fails that file only",
         lambda b: _transcribe(b, str(b.speech), b.wav("other.wav"), extra=("-o", _blocked_output(b))),
         ("speech.wav:", "speech.txt", "Is a directory"), check=_other_written),
    Case("transcribe: srt of two files to stdout", lambda b: _transcribe(b, str(b.speech), str(b.speech),
                                                                        extra=("-f", "srt")),
         ("--output-format srt with 2 file(s) needs --output-dir",)),
    Case("transcribe: misspelt key in decode.json",
         lambda b: ["transcribe", "-m", b.model_copy(decode_json='{"lm_wieght": 2}'), str(b.speech)],
         ("decode.json: unknown key(s) ['lm_wieght'] (did you mean 'lm_weight'?)",)),
    Case("transcribe: corrupt weights",
         lambda b: _transcribe(b, str(b.speech), model=b.model_copy(model_safetensors=b"garbage")),
         ("not readable safetensors weights",)),
    Case("transcribe: a few NaN samples give the clean transcript (shipped model)",
         lambda b: ["transcribe", "--greedy", "--no-progress", str(b.speech), b.nan_wav("nan.wav")],
         ("nan.wav: repaired 4 NaN/infinite sample(s)",), status=0, kind=REPORTED,
         check=lambda b, out: _same_lines(out)),
    # --------------------------------------------------------------------------------------------- import
    Case("import: non-ASCII file names keep distinct ids",
         lambda b: ["import", "folder", _folder(b, {"一.wav": "one", "二.wav": "two", "三.wav": "three"}),
                    b.path("imported")],
         ("3 utterances",), status=0, kind=REPORTED, check=_import_ids("src-一", "src-二", "src-三")),
    Case("import: names that map to one id are made unique",
         lambda b: ["import", "folder", _folder(b, {"a b.wav": "one", "a_b.wav": "two"}), b.path("imported")],
         ("2 utterances",), status=0, kind=REPORTED, check=_import_ids("src-a_b", "src-a_b-2")),
    Case("import: unreadable audio is skipped",
         lambda b: ["import", "folder", _folder_with(b, {"a.wav": "one"}, {"b.wav": "not audio"}), b.path("imported")],
         ("1 utterances", "1 skipped (see", "import_report.txt"), status=0, kind=SKIPPED),
    Case("import: header says 1 Hz is skipped",
         lambda b: ["import", "folder", _folder_with(b, {"a.wav": "one"}, {"b.wav": "1 Hz"}), b.path("imported")],
         ("1 utterances", "1 skipped (see"), status=0, kind=SKIPPED),
    Case("import: nothing usable", lambda b: ["import", "folder", _folder(b, {"a.wav": None}), b.path("imported")],
         ("imported: no usable utterances",), kind=SKIPPED),
    Case("import: no such folder", lambda b: ["import", "folder", b.path("none"), b.path("imported")],
         ("none: not a folder",), absent=("imported",)),
    Case("import: table without a text column",
         lambda b: ["import", "folder", _folder(b, {"a.wav": None}), b.path("imported"), "--transcripts",
                    b.write("t.csv", "path,words_spoken\na.wav,hello\n"), "--text-column", "text"],
         ("t.csv: no text column 'text'",), absent=("imported/text",)),
    # ------------------------------------------------------------------------------------ export, average
    Case("export: garbage checkpoint", lambda b: ["export", b.write("epoch-1.pt", b"garbage"), b.path("exported")],
         ("epoch-1.pt: not a loadable checkpoint",), absent=("exported",)),
    Case("export: no such checkpoint", lambda b: ["export", b.path("none.pt"), b.path("exported")],
         ("none.pt: no such checkpoint or model directory",), absent=("exported",)),
    Case("export: weights are world-readable",
         lambda b: ["export", str(b.assets["checkpoint"]), b.path("exported")], ("exported",), status=0,
         kind=REPORTED, check=_export_mode),
    Case("average: only unloadable checkpoints",
         lambda b: ["average", _exp_with_garbage(b), "--last", "2", b.path("avg")],
         ("no epoch checkpoints",), absent=("avg",)),
]


def _same_lines(out: str) -> None:
    clean, repaired = (line.split("\t", 1)[1] for line in out.strip().splitlines())
    assert clean == repaired and clean


def _stdin_copies() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("asr-stdin-*")}


def _one_line_with(texts: list[str], needles: tuple[str, ...]) -> str | None:
    for text in texts:
        for line in text.splitlines() or [""]:
            if all(n in line for n in needles):
                return line
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, bench: Bench, capsys, caplog):
    argv = case.argv(bench)
    capsys.readouterr()  # what building the inputs printed
    stdin_before = _stdin_copies()
    res = run_cli(argv, capsys, caplog)
    assert "Traceback" not in res.text, res.text
    assert res.status == case.status, res.text
    if case.kind == ERROR:
        # The error is one record (or "error:" line) that names the item and the cause, and nothing is
        # reported as an internal error.
        said = [*res.errors, *(line for line in res.err.splitlines() if "error:" in line)]
        assert all("\n" not in m for m in res.errors), res.errors
        assert _one_line_with(said, case.says), f"{case.says} not on one error line of:\n{res.text}"
        assert not any("internal error" in m for m in said), said
    elif case.kind == PROBLEMS:
        assert _one_line_with([res.out], case.says), res.text
    else:  # SKIPPED, REPORTED: the job ran; what was skipped or repaired is said on one line
        assert _one_line_with([res.out, res.err, *res.warnings, *res.errors], case.says), res.text
    for rel in case.absent:
        assert not (bench.tmp / rel).exists(), f"{rel} was left behind"
    leftovers = [str(p) for p in bench.tmp.rglob("*") if LEFTOVER.search(p.name)]
    assert not leftovers, leftovers
    assert _stdin_copies() <= stdin_before
    if case.check:
        case.check(bench, res.out)


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)
