"""``asr import``: each layout built from generated speech, with the bad input real corpora contain."""

from __future__ import annotations

import soundfile as sf
from corpus_layouts import SENTENCES, make_librispeech, speak

from asr.cli import main as asr_main
from asr.data.audio import load_audio
from asr.data.datadir import read_datadir, validate_datadir
from asr.data.importers.common import REPORT_FILE, decode_text, sort_disagreements, speaker_id, utt_id
from asr.data.importers.folder import FolderOptions, import_folder


def _lines(path) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines())


def test_ids_keep_kaldi_sort_order():
    spks = ["1", "10", "103", "1034", "a", "a.b", "a_b", "A"]
    utt2spk = {utt_id(s, f"x{i}"): s for s in spks for i in range(3)}
    assert sort_disagreements(utt2spk) == []
    assert utt_id("103", "103-1240-0000") == "103-1240-0000"  # already prefixed
    assert speaker_id("my speaker-2") == "my_speaker_2"  # '-' is the separator, never inside a speaker
    assert sort_disagreements({"a-1": "a", "b-1": "b", "c-1": "a"}) == ["c-1"]


def test_decode_text_encodings():
    assert decode_text("\ufeffcafé".encode(), "x") == "café"
    assert decode_text("café".encode("latin-1"), "x") == "café"
    assert decode_text("it’s".encode("cp1252"), "x") == "it’s"


def test_librispeech(tmp_path):
    src = make_librispeech(tmp_path / "src", {
        "train-clean-100": {("19", "198"): SENTENCES[:3], ("103", "1240"): SENTENCES[3:5]},
        "test-clean": {("61", "70968"): SENTENCES[5:7]},
    })
    chapter = src / "LibriSpeech/train-clean-100/19/198"
    trans = chapter / "19-198.trans.txt"
    # A BOM, a line naming a file that is not there, and a file that no line names.
    trans.write_bytes(b"\xef\xbb\xbf" + trans.read_bytes() + b"19-198-0009 A MISSING FILE\n")
    speak("an extra recording", chapter / "19-198-0005.flac")

    out = tmp_path / "data"
    assert asr_main(["import", "librispeech", str(src), str(out), "--nj", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["test-clean", "train-clean-100"]
    train = out / "train-clean-100"
    assert validate_datadir(train) == []
    dd = read_datadir(train)
    assert dd.utt_ids == ["103-1240-0000", "103-1240-0001", "19-198-0000", "19-198-0001", "19-198-0002"]
    assert dd.utt2spk["19-198-0000"] == "19" and dd.utt2spk["103-1240-0001"] == "103"
    assert dd.text["19-198-0000"] == SENTENCES[0]
    assert _lines(train / "text.orig")["19-198-0000"] == SENTENCES[0].upper()
    assert abs(dd.utt2dur["19-198-0001"] - sf.info(chapter / "19-198-0001.flac").duration) < 1e-3
    report = (train / REPORT_FILE).read_text()
    assert f"{trans}:4: transcript for missing audio {chapter / '19-198-0009.flac'}" in report
    assert f"{chapter / '19-198-0005.flac'}: no transcript line" in report
    assert len(read_datadir(out / "test-clean")) == 2


def test_commonvoice(tmp_path):
    src = tmp_path / "cv" / "en"
    header = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\n"
    speakers = {"train": ["a" * 64, "b" * 64], "dev": ["c" * 64], "test": ["d" * 64]}
    rows = {}
    n = 0
    for split, spks in speakers.items():
        rows[split] = []
        for spk in spks:
            text = SENTENCES[n % len(SENTENCES)]
            if n == 0:
                text = '"Hello," she said to the café owner.'  # quotes (unbalanced for csv) and an accent
            clip = f"common_voice_en_{100 + n}.mp3"
            speak(text, src / "clips" / clip, sample_rate=48000)  # CV ships 48 kHz MP3
            rows[split].append(f"{spk}\t{clip}\tsid{n}\t{text}\t\t2\t0\t\t\n")
            n += 1
    rows["train"].append(f"{'a' * 64}\tcommon_voice_en_999.mp3\tsid9\tno such clip\t\t2\t0\t\t\n")
    for split in speakers:
        (src / f"{split}.tsv").write_text(header + "".join(rows[split]), encoding="utf-8")
    (src / "validated.tsv").write_text(header + "".join(r for s in speakers for r in rows[s]), encoding="utf-8")

    out = tmp_path / "data"
    assert asr_main(["import", "commonvoice", str(src), str(out), "--splits", "train", "dev", "test",
                     "validated"]) == 0
    train = read_datadir(out / "train")
    assert validate_datadir(out / "train") == []
    assert train.utt_ids == [f"{'a' * 16}-common_voice_en_100", f"{'b' * 16}-common_voice_en_101"]
    assert train.text[train.utt_ids[0]] == "hello she said to the cafe owner"
    assert load_audio(train.audio_path(train.utt_ids[0])).size > 8000  # the MP3 decodes
    report = (out / "train" / REPORT_FILE).read_text()
    assert "common_voice_en_999.mp3: not found" in report and "train.tsv:4" in report
    assert "48000 Hz are resampled" in report
    # validated minus dev/test speakers == the train speakers
    assert read_datadir(out / "validated").utt_ids == train.utt_ids


def test_ljspeech(tmp_path):
    src = tmp_path / "LJSpeech-1.1"
    meta = []
    for i in range(5):
        name = f"LJ001-{i + 1:04d}"
        speak(SENTENCES[i], src / "wavs" / f"{name}.wav", sample_rate=22050)
        raw = "Dr. Smith paid $5." if i == 0 else SENTENCES[i].capitalize()
        norm = "Doctor Smith paid five dollars." if i == 0 else raw
        meta.append(f"{name}|{raw}|{norm}")
    meta.insert(1, "LJ001-0099|A line without audio.|A line without audio.")
    speak("no line for me", src / "wavs" / "LJ002-0001.wav", sample_rate=22050)
    (src / "metadata.csv").write_text("\n".join(meta) + "\n", encoding="utf-8")

    out = tmp_path / "data"
    assert asr_main(["import", "ljspeech", str(src), str(out), "--dev-utts", "1", "--test-utts", "1"]) == 0
    train, dev, test = (read_datadir(out / s) for s in ("train", "dev", "test"))
    assert train.utt_ids == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert dev.utt_ids == ["LJ001-0004"] and test.utt_ids == ["LJ001-0005"]
    assert train.text["LJ001-0001"] == "doctor smith paid five dollars"
    assert set(train.utt2spk.values()) == {"LJ"}
    assert 22050 == sf.info(train.audio_path("LJ001-0001")).samplerate  # kept; resampled on load
    report = (out / "train" / REPORT_FILE).read_text()
    assert "LJ001-0099.wav: not found" in report and "LJ002-0001.wav: no line in" in report


def test_folder_sidecars_and_bad_input(tmp_path):
    src = tmp_path / "my recordings"
    speak(SENTENCES[0], src / "alice" / "take1.wav")
    (src / "alice" / "take1.txt").write_bytes("\ufeffThe old mill stood by the river.\n".encode())
    speak(SENTENCES[1], src / "alice" / "take2.flac", sample_rate=44100, channels=2)
    (src / "alice" / "take2.txt").write_bytes("She kept the letters in a wooden box, café\n".encode("latin-1"))
    speak(SENTENCES[2], src / "bob" / "phone.wav", sample_rate=8000)  # narrow band
    (src / "bob" / "phone.txt").write_text("we walked home after dark")
    speak(SENTENCES[3], src / "bob" / "no_text.wav")
    (src / "bob" / "orphan.txt").write_text("a transcript for a missing file")
    (src / "bob" / "broken.wav").write_text("not audio")
    (src / "bob" / "broken.txt").write_text("broken audio")
    (src / "top.lab").write_text("top level file")
    speak(SENTENCES[4], src / "top.ogg")

    out = tmp_path / "data"
    res = import_folder(src, out)
    assert res.num_utts == 3
    dd = read_datadir(out)
    assert validate_datadir(out) == []
    assert dd.utt_ids == ["alice-take1", "alice-take2", "my_recordings-top"]
    assert dd.text["alice-take2"] == "she kept the letters in a wooden box cafe"
    assert _lines(out / "text.orig")["alice-take1"] == "The old mill stood by the river."
    report = (out / REPORT_FILE).read_text()
    for expected in (f"{src / 'bob' / 'phone.wav'}: 8000 Hz is below 16000 Hz",
                     f"{src / 'bob' / 'no_text.wav'}: no transcript",
                     f"{src / 'bob' / 'orphan.txt'}: transcript for missing audio",
                     f"{src / 'bob' / 'broken.wav'}: unreadable",
                     f"{src / 'alice' / 'take2.txt'}: not UTF-8, read as cp1252",
                     "44100 Hz are resampled"):
        assert expected in report, expected


def test_folder_csv_and_tsv(tmp_path):
    src = tmp_path / "clips"
    for i in range(3):
        speak(SENTENCES[i], src / f"c{i}.wav")
    (src / "meta.csv").write_text('file_name,transcription,speaker\nc0.wav,"Hello, world",sam\n'
                                  "c1.wav,second one,kim\nc2.wav,third,kim\nmissing.wav,gone,kim\n")
    out = tmp_path / "csv"
    opts = FolderOptions(transcripts=str(src / "meta.csv"), speaker_from="column", speaker_column="speaker")
    import_folder(src, out, opts)
    dd = read_datadir(out)
    assert dd.utt_ids == ["kim-c1", "kim-c2", "sam-c0"] and dd.text["sam-c0"] == "hello world"
    assert f"{src / 'meta.csv'}:5: transcript for missing audio" in (out / REPORT_FILE).read_text()

    (src / "list.tsv").write_text("c0.wav\tfirst\nc1.wav\tsecond\n")  # no header: path, text
    out = tmp_path / "tsv"
    assert asr_main(["import", "folder", str(src), str(out), "--transcripts", str(src / "list.tsv"),
                     "--speaker-from", "utt"]) == 0
    dd = read_datadir(out)
    assert dd.text == {"c0": "first", "c1": "second"} and dd.utt2spk == {"c0": "c0", "c1": "c1"}
    assert "c2.wav: no transcript" in (out / REPORT_FILE).read_text()
