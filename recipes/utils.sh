# Shell helpers the recipe scripts share; source it from a recipe, e.g. recipes/synth/run.sh:
#   . "$(dirname "$0")/../utils.sh"

# log MESSAGE...: the message with a timestamp and the calling script's name and line, on stdout.
log() { _log_at "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" "$*"; }

# timed COMMAND [ARGS...]: run the command, then log how long it took; returns the command's status.
# The status is returned explicitly: in `if ! timed ...` bash suspends `set -e` inside the function, and
# the status of a trailing log line would hide a failed command from the caller's fallback.
timed() {
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  _log_at "${BASH_SOURCE[1]}" "${BASH_LINENO[0]}" "stage took $((SECONDS - t0)) s"
  return "$rc"
}

# _log_at FILE LINE MESSAGE: what log and timed print, naming the script line they were called from.
_log_at() { echo -e "$(date '+%F %T') ($(basename "$1"):$2) $3"; }
