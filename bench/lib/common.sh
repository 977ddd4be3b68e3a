# Sourced by bench/run.sh and bench/tarball.sh (bash): what both need.
#
#   common_option ARG... ($self: the script) the options both take (--runs, --assetctl-args, --keep, -h/--help); sets
#                        $runs, $assetctl_args or $keep, and $shifted (words used); anything else
#                        is an unknown argument (exit 2). check_runs: --runs must be positive.
#   print_usage SCRIPT   prints SCRIPT's leading comment block (its --help)
#   new_state_dir NAME   sets $state to a new /tmp/assetctl-NAME-XXXXXX and, on exit, removes it
#                        unless $keep is 1 or the run failed after writing $state/logs; then it
#                        says where it is. INT and TERM exit 130 through the same path.
# What ran inside (the stack, dockerd) is stopped by tests/support/stack.py exec itself.
# It also sets $bench (this folder's parent) and $root (the repository).

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(cd "$bench/.." && pwd)

new_state_dir() {
  state=$(mktemp -d "/tmp/assetctl-$1-XXXXXX")
  state_owner=$(basename "$0")
  trap _remove_state_dir EXIT
  trap 'exit 130' INT TERM
}

_remove_state_dir() {
  local rc=$?
  trap - EXIT INT TERM
  if ((keep)) || { ((rc != 0)) && [[ -d $state/logs ]]; }; then
    echo "$state_owner: kept $state (logs/, results.json)" >&2
  else
    rm -rf "$state"
  fi
  exit "$rc"
}

print_usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
}

common_option() {
  shifted=1
  case $1 in
    --runs) runs=${2:?--runs needs a number}; shifted=2 ;;
    --runs=*) runs=${1#--runs=} ;;
    --assetctl-args) assetctl_args=${2?--assetctl-args needs a value}; shifted=2 ;;
    --assetctl-args=*) assetctl_args=${1#--assetctl-args=} ;;
    --keep) keep=1 ;;
    -h|--help) print_usage "$self"; exit 0 ;;
    *) echo "$(basename "$0"): unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
}

check_runs() {
  [[ $runs =~ ^[1-9][0-9]*$ ]] || {
    echo "$(basename "$0"): --runs wants a positive number, got '$runs'" >&2; exit 2; }
}
