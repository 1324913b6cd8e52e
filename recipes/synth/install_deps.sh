#!/usr/bin/env bash
# Debian packages the synthetic recipe uses where they are installed (each is optional: without it the
# recipe and the tests skip what needs it). Needs root and apt-get; elsewhere it says what it skips.
#   TTS engines: Flite, Festival (main); RHVoice, MBROLA voices, SVOX Pico (contrib/non-free, enabled here)
#   LM text for real read speech (asr lm-text): GCIDE, Jane Austen's novels, Moby Dick
# Used by .ci/run and README command (a).
set -uo pipefail
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "note: not root with apt-get: the Debian TTS engines and LM texts are not installed (see README)"
  exit 0
fi
# Flite and Festival with three voices (main).
DEBIAN_TTS="flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
# RHVoice, MBROLA (through espeak-ng) and SVOX Pico are in Debian's contrib and non-free components.
NONFREE_TTS="rhvoice rhvoice-english librhvoice5 espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 libttspico-utils"
# Texts of `asr lm-text` (the LM for real read speech): GCIDE, Jane Austen's novels and Moby Dick (R packages' data,
# read without R); its tests skip without them.
LM_TEXT="dict-gcide r-cran-janeaustenr r-cran-tokenizers"
apt_install() {  # quietly; with a fresh package index if the first try fails
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1; }
}
enable_contrib_non_free() {  # a deb822 sources file for this Debian release's contrib and non-free components
  local codename uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  codename=$(. /etc/os-release 2>/dev/null && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}") || return 1
  [ -n "$codename" ] || return 1
  # Already enabled (a deb line or a Components: line naming both)?
  { grep -rhsE '^[[:space:]]*(Components:|deb[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/ || true; } |
    grep -w contrib | grep -qE '(^|[[:space:]])non-free([[:space:]]|$)' && return 0
  uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  { printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: contrib non-free\n' "${uri:-http://deb.debian.org/debian}" "$codename"
    if [ -f "$keyring" ]; then printf 'Signed-By: %s\n' "$keyring"; fi; } >/etc/apt/sources.list.d/asr-contrib-non-free.sources
}
# shellcheck disable=SC2086
{
  if ! command -v text2wave >/dev/null; then
    apt_install $DEBIAN_TTS || echo "note: could not install the Debian TTS engines ($DEBIAN_TTS); the recipe and the tests go without them"
  fi
  if ! { command -v RHVoice-test && command -v pico2wave && command -v mbrola && ldconfig -p | grep -q "libRHVoice.so.5 "; } >/dev/null; then
    { apt_install $NONFREE_TTS || { enable_contrib_non_free && apt_install $NONFREE_TTS; }; } ||
      echo "note: could not install the Debian contrib/non-free TTS engines ($NONFREE_TTS); the recipe and the tests go without them"
  fi
  if [ ! -f /usr/share/dictd/gcide.dict.dz ] || [ ! -f /usr/lib/R/site-library/janeaustenr/data/Rdata.rdx ] ||
     [ ! -f /usr/lib/R/site-library/tokenizers/data/Rdata.rdx ]; then
    apt_install --no-install-recommends $LM_TEXT ||
      echo "note: could not install the LM text packages ($LM_TEXT); the recipe and the tests go without them"
  fi
}
