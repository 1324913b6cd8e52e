"""Scoring reports as files: for machines (wer.json, summary.json), and for people (per_utt.txt,
report.md, and one self-contained HTML page: no external files but the audio).

The HTML page colours each error in its aligned REF/HYP (substitution, deletion, insertion) and
plays each utterance with ``<audio src=...>``, the wav path written relative to the page so that the
page and the corpus can be moved together.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

from asr.evaluate.results import Evaluation, UttScore, format_alignment
from asr.io import atomic_path, atomic_write_text

MD_MAX_UTTS = 100  # the Markdown lists this many erroneous utterances; the HTML page lists all


def write_outputs(ev: Evaluation, out_dir: str | os.PathLike, audio: dict[str, str] | None = None,
                  title: str = "") -> Path:
    """Write wer.json, summary.json, per_utt.txt, report.md and report.html into ``out_dir``
    (``audio``: utt -> audio path, for the HTML players), each file atomically."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_text(d / "wer.json", json.dumps(asdict(ev.report), indent=2) + "\n")
    atomic_write_text(d / "summary.json", json.dumps(ev.summary(audio), indent=2) + "\n")  # audio: absolute paths
    with atomic_path(d / "per_utt.txt") as tmp, open(tmp, "w", encoding="utf-8") as f:
        for u in _worst_first(ev):
            r, h, m = format_alignment(u.pairs)
            f.write(f"{u.utt} wer={100 * u.wer:.1f}%\nREF: {r}\nHYP: {h}\n     {m}\n\n")
    write_markdown(ev, d / "report.md", title=title, audio=audio)
    write_html(ev, d / "report.html", audio=audio, title=title)
    return d


def relative_audio(audio: dict[str, str] | None, report_dir: Path) -> dict[str, str]:
    """utt -> audio path relative to ``report_dir`` (posix separators)."""
    out = {}
    for utt, path in (audio or {}).items():
        out[utt] = Path(os.path.relpath(Path(path).resolve(), report_dir.resolve())).as_posix()
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _worst_first(ev: Evaluation) -> list[UttScore]:
    return sorted(ev.utts, key=lambda u: (-u.wer, u.utt))


# ------------------------------------------------------------------------------------------ Markdown


def render_markdown(ev: Evaluation, title: str = "", audio_rel: dict[str, str] | None = None) -> str:
    r = ev.report
    w, c = r.wer, r.cer
    out = [f"# {title or 'Scoring report'}", ""]
    out += ["| | rate % | errors | sub | del | ins | reference length |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, e in (("WER", w), ("CER", c)):
        out.append(f"| {name} | **{_pct(e.error_rate)}** | {e.substitutions + e.deletions + e.insertions} | "
                   f"{e.substitutions} | {e.deletions} | {e.insertions} | {e.ref_len} |")
    n_err = sum(1 for u in ev.utts if u.errors)
    out += ["", f"{r.num_utts} utterances, {n_err} with errors.", ""]
    if ev.warnings:
        out += ["**Warnings**", ""] + [f"- {x}" for x in ev.warnings] + [""]
    if ev.speakers:
        out += ["## Per speaker (worst first)", "", "| speaker | utts | words | WER % | sub | del | ins |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        out += [f"| {s.speaker} | {s.num_utts} | {s.ref_words} | {_pct(s.wer)} | {s.substitutions} | {s.deletions} | "
                f"{s.insertions} |" for s in ev.speakers]
        out.append("")
    out += ["## Most frequent errors", "", "| substitution (ref → hyp) | n |", "|---|---:|"]
    out += [f"| {ref} → {hyp} | {n} |" for ref, hyp, n in ev.substitutions] or ["| (none) | |"]
    out += ["", "| deletion | n |", "|---|---:|"] + ([f"| {x} | {n} |" for x, n in ev.deletions] or ["| (none) | |"])
    out += ["", "| insertion | n |", "|---|---:|"] + ([f"| {x} | {n} |" for x, n in ev.insertions] or ["| (none) | |"])
    bad = [u for u in _worst_first(ev) if u.errors]
    out += ["", f"## Utterances with errors (worst first{f', first {MD_MAX_UTTS}' if len(bad) > MD_MAX_UTTS else ''})",
            ""]
    for u in bad[:MD_MAX_UTTS]:
        link = f" [audio]({quote((audio_rel or {})[u.utt])})" if audio_rel and u.utt in audio_rel else ""
        spk = f", speaker {u.speaker}" if u.speaker else ""
        ref, hyp, marks = format_alignment(u.pairs)
        out += [f"**{u.utt}**{spk}: WER {_pct(u.wer)}% ({u.errors}/{u.ref_words}){link}", "", "```",
                f"REF: {ref}", f"HYP: {hyp}", f"     {marks}".rstrip(), "```", ""]
    return "\n".join(out) + "\n"


def write_markdown(ev: Evaluation, path: str | os.PathLike, title: str = "",
                   audio: dict[str, str] | None = None) -> Path:
    path = Path(path)
    return atomic_write_text(path, render_markdown(ev, title, relative_audio(audio, path.parent)))


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}
.big{font-size:1.6em;font-weight:bold}.warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5em 1em}
.utt{border-top:1px solid #ddd;padding:.6em 0}.utt h3{font-size:1em;margin:.2em 0}
.al{font-family:ui-monospace,monospace;line-height:1.8}.al .lab{color:#888;display:inline-block;width:3em}
.S{background:#ffe08a}.D{background:#ffb3b3;text-decoration:line-through}.I{background:#b3e0ff}
.gap{color:#aaa}.ok{color:#2a7a2a}.cols{display:flex;gap:2em;flex-wrap:wrap}
.legend span{padding:0 .4em;margin-right:.5em}audio{height:2em;vertical-align:middle}
"""

_JS = """
document.getElementById('only-errors').addEventListener('change',function(e){
  document.querySelectorAll('.utt.correct').forEach(function(d){d.style.display=e.target.checked?'none':''});});
"""


def _alignment_html(u: UttScore) -> str:
    """REF and HYP lines with every error word marked by its kind (S/D/I) as a CSS class."""
    esc = html.escape
    ref, hyp = [], []
    for kind, r, h in u.pairs:
        if kind == "equal":
            ref.append(esc(r))
            hyp.append(esc(h))
        elif kind == "S":
            ref.append(f'<span class="S" title="substituted by {esc(h)}">{esc(r)}</span>')
            hyp.append(f'<span class="S" title="instead of {esc(r)}">{esc(h)}</span>')
        elif kind == "D":
            ref.append(f'<span class="D" title="deleted">{esc(r)}</span>')
            hyp.append(f'<span class="gap">{"*" * len(r)}</span>')
        else:
            ref.append(f'<span class="gap">{"*" * len(h)}</span>')
            hyp.append(f'<span class="I" title="inserted">{esc(h)}</span>')
    hyp_text = " ".join(hyp) if u.hyp else '<span class="gap">(empty hypothesis)</span> ' + " ".join(hyp)
    return (f'<div class="al"><span class="lab">REF</span>{" ".join(ref)}<br>'
            f'<span class="lab">HYP</span>{hyp_text}</div>')


def render_html(ev: Evaluation, title: str = "", audio_rel: dict[str, str] | None = None) -> str:
    esc = html.escape
    r = ev.report
    title = title or "Scoring report"
    p = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
         f"<style>{_CSS}</style></head><body>", f"<h1>{esc(title)}</h1>",
         f'<p><span class="big">WER {_pct(r.wer.error_rate)}%</span> &nbsp; CER {_pct(r.cer.error_rate)}% '
         f"&nbsp; ({r.num_utts} utterances, {r.wer.ref_len} words)</p>",
         "<table><tr><th></th><th>rate %</th><th>errors</th><th>sub</th><th>del</th><th>ins</th>"
         "<th>ref length</th></tr>"]
    for name, e in (("WER", r.wer), ("CER", r.cer)):
        p.append(f"<tr><td>{name}</td><td>{_pct(e.error_rate)}</td><td>{e.substitutions + e.deletions + e.insertions}"
                 f"</td><td>{e.substitutions}</td><td>{e.deletions}</td><td>{e.insertions}</td><td>{e.ref_len}</td></tr>")
    p.append("</table>")
    if ev.warnings:
        p.append('<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{esc(w)}</li>" for w in ev.warnings)
                 + "</ul></div>")
    if ev.speakers:
        p.append("<h2>Per speaker (worst first)</h2><table><tr><th>speaker</th><th>utts</th><th>words</th>"
                 "<th>WER %</th><th>sub</th><th>del</th><th>ins</th></tr>")
        p += [f"<tr><td>{esc(s.speaker)}</td><td>{s.num_utts}</td><td>{s.ref_words}</td><td>{_pct(s.wer)}</td>"
              f"<td>{s.substitutions}</td><td>{s.deletions}</td><td>{s.insertions}</td></tr>" for s in ev.speakers]
        p.append("</table>")
    p.append('<h2>Most frequent errors</h2><div class="cols">')
    p.append("<table><tr><th>substitution (ref → hyp)</th><th>n</th></tr>"
             + "".join(f'<tr><td><span class="S">{esc(a)}</span> → <span class="S">{esc(b)}</span></td>'
                       f"<td>{n}</td></tr>" for a, b, n in ev.substitutions) + "</table>")
    p.append("<table><tr><th>deletion</th><th>n</th></tr>"
             + "".join(f'<tr><td><span class="D">{esc(a)}</span></td><td>{n}</td></tr>' for a, n in ev.deletions)
             + "</table>")
    p.append("<table><tr><th>insertion</th><th>n</th></tr>"
             + "".join(f'<tr><td><span class="I">{esc(a)}</span></td><td>{n}</td></tr>' for a, n in ev.insertions)
             + "</table></div>")
    p.append('<h2>Utterances (worst first)</h2><p class="legend"><span class="S">substitution</span>'
             '<span class="D">deletion</span><span class="I">insertion</span> '
             '<label><input type="checkbox" id="only-errors"> only utterances with errors</label></p>')
    for u in _worst_first(ev):
        spk = f" · speaker {esc(u.speaker)}" if u.speaker else ""
        rate = (f"WER {_pct(u.wer)}% ({u.substitutions} sub, {u.deletions} del, {u.insertions} ins "
                f"/ {u.ref_words} words)" if u.errors else '<span class="ok">correct</span>')
        player = ""
        if audio_rel and u.utt in audio_rel:
            player = f' <audio controls preload="none" src="{esc(quote(audio_rel[u.utt]))}"></audio>'
        p.append(f'<div class="utt{"" if u.errors else " correct"}" id="{esc(u.utt)}"><h3>{esc(u.utt)}{spk} · '
                 f"{rate}{player}</h3>{_alignment_html(u)}</div>")
    p.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(p) + "\n"


def write_html(ev: Evaluation, path: str | os.PathLike, audio: dict[str, str] | None = None,
               title: str = "") -> Path:
    path = Path(path)
    return atomic_write_text(path, render_html(ev, title, relative_audio(audio, path.parent)))
