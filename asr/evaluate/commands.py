"""Command line of the evaluation stage: ``asr score`` (building the parser imports no jiwer)."""

from __future__ import annotations

import argparse
import sys

from asr.io import check_output_dir


def add_score_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr score``."""
    p.add_argument("ref", help="reference transcripts: <utt> <words> per line (a data dir's text)")
    p.add_argument("hyp", help="hypotheses in the same format")
    p.add_argument("--out-dir", help="write wer.json, summary.json, per_utt.txt, report.md and report.html here")
    p.add_argument("--data-dir", help="the data dir scored: per-speaker WER (utt2spk), audio players in the report")
    p.add_argument("--utt2spk", help="per-speaker WER from this utt2spk (instead of --data-dir's)")
    p.add_argument("--title", help="report title (default: the hypothesis file)")
    p.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True,
                   help="normalize both sides as training text is (lower case, digits and symbols spelt out, no "
                        "punctuation: asr.text.normalize) before scoring; --no-normalize scores them as written")


def normalize_transcripts(transcripts: dict[str, str]) -> int:
    """Normalize ``transcripts`` in place; return how many of their words normalization changed."""
    import difflib

    from asr.text.normalize import normalize_text

    changed = 0
    for utt, text in transcripts.items():
        norm = normalize_text(text)
        if norm != text:
            before, after = text.split(), norm.split()
            kept = sum(b.size for b in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_matching_blocks())
            changed += len(before) - kept
            transcripts[utt] = norm
    return changed


def run_score(args: argparse.Namespace) -> int:
    """Score, print the report; with ``--out-dir`` also write its files."""
    from asr.evaluate.scoring import format_report, read_transcripts, read_utt2spk, score

    if args.out_dir:
        check_output_dir(args.out_dir)
    utt2spk, audio = None, None
    if args.data_dir:  # speakers and audio (for the HTML report's players) from the data directory
        from asr.data.datadir import read_datadir

        dd = read_datadir(args.data_dir, segments=True)
        utt2spk, audio = dd.utt2spk, {u: str(dd.audio_path(u)) for u in dd.utt_ids}
    if args.utt2spk:
        utt2spk = read_utt2spk(args.utt2spk)
    refs, hyps = read_transcripts(args.ref), read_transcripts(args.hyp)
    if args.normalize:  # a correct transcript must not score 100% WER for "Hello," against "hello"
        n_ref_words = sum(len(t.split()) for t in refs.values())
        changed = normalize_transcripts(refs)
        normalize_transcripts(hyps)
        print(f"normalized both sides (--no-normalize to score them as written): {changed} of {n_ref_words} "
              "reference words changed", file=sys.stderr)
    report = score(refs, hyps, args.out_dir, utt2spk=utt2spk, audio=audio, title=args.title or f"{args.hyp}")
    print(format_report(report))
    if args.out_dir:
        print(f"report: {args.out_dir}/report.html (and report.md, summary.json, per_utt.txt)", file=sys.stderr)
    return 0
