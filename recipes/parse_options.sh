# Kaldi-style options for the recipe scripts, sourced after their defaults:
#   . recipes/parse_options.sh
# `--foo-bar VALUE` sets the variable foo_bar, which the script must already define (its default);
# an option without such a variable, or without a value, stops the script with a message.
while [ $# -gt 0 ]; do
  case "$1" in
    --?*)
      _opt=${1#--}
      _opt=${_opt//-/_}
      if [[ ! $_opt =~ ^[a-z][a-z0-9_]*$ ]] || [ -z "${!_opt+set}" ]; then
        echo "$0: unknown option $1" >&2; exit 2
      fi
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 2; fi
      printf -v "$_opt" '%s' "$2"
      shift 2 ;;
    *) echo "$0: unexpected argument $1 (options are --name value)" >&2; exit 2 ;;
  esac
done
unset _opt
