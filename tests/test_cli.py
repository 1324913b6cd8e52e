"""The command line: one parser for every stage, built without the heavy stacks."""

import subprocess
import sys


def test_parser_builds_without_torch_or_jiwer():
    # Every `asr` call builds the whole parser first: `asr --help` or a typo should not wait for torch.
    code = ("import sys; from asr.cli import build_parser; "
            "a = build_parser().parse_args(['tune-lm', 'model', 'dev', '--lm', 'lm.arpa']); "
            "print(sorted(m for m in ('torch', 'jiwer', 'librosa') if m in sys.modules), a.beam, a.lm_weights)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[] 50 [0.5, 1.0, 1.5, 2.0, 3.0]\n"
