#!/usr/bin/env bash
# KenLM's build_binary, which writes an ARPA LM in the binary form the decoder loads in milliseconds
# (asr.decode.kenlm_binary). KenLM ships no wheel with its tools, so this compiles the one tool from
# KenLM's source distribution on PyPI (compile_query_only.sh: g++ and zlib headers, no Boost; ~2 min on
# 2 cores) and installs it beside this environment's python, where `asr lm --binary` and `asr bundle`
# find it. Idempotent: an installed tool is kept.
#
#   bash recipes/tools/install_kenlm.sh          # then: asr lm TEXT OUT --binary
set -euo pipefail
version=0.3.0   # the KenLM sources on PyPI ("kenlm"); the binary format (version 5) is the one flashlight-text reads
url=https://files.pythonhosted.org/packages/02/6e/f4e159cef39ea4ef2244b4aa32857d447d60a5d0ee269e1b1f8d3723c03e/kenlm-$version.tar.gz
sha256=c4628bb9fb63c8a6f9240035b8b037385cfc404cb72e933cf48878291edac1e8
python=${PYTHON:-python3}
bindir=$("$python" -c 'import os, sys; print(os.path.dirname(sys.executable))')
target=$bindir/build_binary
if [ -x "$target" ]; then
  echo "$target: already installed"
  exit 0
fi
command -v g++ >/dev/null || { echo "install_kenlm.sh: needs g++ (apt-get install g++ zlib1g-dev)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The sdist itself, checked against its PyPI digest (pip download would first build its metadata, with cmake).
# KENLM_SDIST=PATH uses a copy already here (an offline machine).
sdist=${KENLM_SDIST:-$work/kenlm-$version.tar.gz}
if [ -z "${KENLM_SDIST:-}" ]; then
  "$python" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$sdist"
fi
echo "$sha256  $sdist" | sha256sum -c --quiet - || { echo "install_kenlm.sh: $sdist is not KenLM $version" >&2; exit 1; }
tar xzf "$sdist" -C "$work"
(cd "$work/kenlm-$version" && bash compile_query_only.sh >/dev/null 2>"$work/build.log") ||
  { tail -n 20 "$work/build.log" >&2; echo "install_kenlm.sh: compiling KenLM failed (above)" >&2; exit 1; }
install -m 0755 "$work/kenlm-$version/bin/build_binary" "$target.tmp" && mv "$target.tmp" "$target"
echo "$target: KenLM $version build_binary"
