#!/usr/bin/env bash
# Run a Bulwark stack command in compose or native mode.
#
# Usage: tools/stack/stack.sh up|down|clean|status
#
# up picks compose mode when a Docker engine responds to `docker info` and both
# docker-compose.yml and tools/stack/compose.sh exist, else native mode
# (local processes through `bulwark up`). BULWARK_MODE=native|compose
# overrides the choice. A stack that already exists keeps the mode recorded
# in the state directory's mode file (BULWARK_STACK_DIR, default .bulwark),
# and down, clean and status follow that mode too.
set -euo pipefail

root=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly root
readonly state_dir=${BULWARK_STACK_DIR:-$root/.bulwark}
readonly compose_script=$root/tools/stack/compose.sh
readonly compose_file=$root/docker-compose.yml

die() {
	printf 'stack.sh: %s\n' "$*" >&2
	exit 1
}

# Print compose or native for `up`, and the reason on stderr.
choose_mode() {
	case ${BULWARK_MODE:-} in
	native)
		echo "mode native: set by BULWARK_MODE" >&2
		echo native
		return
		;;
	compose)
		[[ -x $compose_script && -f $compose_file ]] ||
			die "BULWARK_MODE=compose needs $compose_file and an executable $compose_script"
		echo "mode compose: set by BULWARK_MODE" >&2
		echo compose
		return
		;;
	"") ;;
	*) die "BULWARK_MODE='$BULWARK_MODE' is invalid; use native or compose" ;;
	esac
	if ! command -v docker >/dev/null; then
		echo "mode native: no docker command (BULWARK_MODE=compose forces compose)" >&2
	elif ! timeout 15 docker info >/dev/null 2>&1; then
		echo "mode native: no Docker engine responds to docker info" >&2
	elif [[ ! -f $compose_file || ! -x $compose_script ]]; then
		echo "mode native: docker-compose.yml or tools/stack/compose.sh is missing" >&2
	else
		echo "mode compose: a Docker engine responds (BULWARK_MODE=native forces native)" >&2
		echo compose
		return
	fi
	echo native
}

# Print the mode recorded by the last up, or nothing.
recorded_mode() {
	if [[ -f $state_dir/mode ]]; then
		tr -d '[:space:]' <"$state_dir/mode"
	fi
}

# Run the bulwark command line in native mode, built from this checkout
# (go build reuses its cache, so this takes seconds after the first time).
run_native() {
	mkdir -p "$root/bin"
	(cd "$root" && go build -o bin/bulwark ./cmd/bulwark) || die "go build ./cmd/bulwark failed"
	cd "$root"
	exec bin/bulwark "$@"
}

run_mode() {
	local mode=$1
	shift
	case $mode in
	native) run_native "$@" ;;
	compose)
		[[ -x $compose_script ]] || die "the stack in $state_dir is in compose mode but $compose_script is missing"
		exec "$compose_script" "$@"
		;;
	*) die "$state_dir/mode contains '$mode'; expected native or compose" ;;
	esac
}

[[ $# -eq 1 ]] || die "usage: tools/stack/stack.sh up|down|clean|status"
command=$1
case $command in
up)
	recorded=$(recorded_mode)
	if [[ -n $recorded && -z ${BULWARK_MODE:-} ]]; then
		# A stack that exists keeps its mode, so make down then make up
		# restarts the same stack.
		echo "mode $recorded: recorded in $state_dir/mode (make clean, then BULWARK_MODE, to change it)" >&2
		mode=$recorded
	else
		mode=$(choose_mode)
	fi
	if [[ -n $recorded && $recorded != "$mode" ]]; then
		die "$state_dir contains a $recorded stack; run 'make clean' before switching to $mode, or set BULWARK_MODE=$recorded"
	fi
	run_mode "$mode" up
	;;
down | clean | status)
	mode=${BULWARK_MODE:-$(recorded_mode)}
	if [[ -z $mode ]]; then
		echo "stack.sh: no stack recorded in $state_dir; nothing to $command"
		[[ $command != status ]] || exit 1
		exit 0
	fi
	echo "mode $mode: recorded in $state_dir/mode" >&2
	run_mode "$mode" "$command"
	;;
*) die "unknown command '$command'; use up, down, clean or status" ;;
esac
