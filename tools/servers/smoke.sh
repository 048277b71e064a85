#!/usr/bin/env bash
# Check that the binaries from ensure.sh run. The script prints their
# versions, starts a Consul dev agent and a Vault dev server on free loopback
# ports, makes a few requests to each, and stops them.
#
# Usage: tools/servers/smoke.sh
#
# Builds the binaries first if they are not cached (see README.md).
set -euo pipefail

script_dir=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly script_dir

# Seconds to wait for a server to accept requests.
readonly START_TIMEOUT=60

consul_pid=
vault_pid=
work_dir=$(mktemp -d)
readonly work_dir
chosen_ports=" "

log() {
	printf 'smoke.sh: %s\n' "$*" >&2
}

stop_server() {
	local pid=$1
	[[ -n $pid ]] || return 0
	kill -INT "$pid" 2>/dev/null || return 0
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	stop_server "$consul_pid"
	stop_server "$vault_pid"
	rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	local message=$1 server_log=${2:-}
	log "FAILED: $message"
	if [[ -n $server_log && -f $server_log ]]; then
		log "last lines of $server_log:"
		tail -n 40 "$server_log" >&2
	fi
	exit 1
}

# Succeed if nothing accepts TCP connections on 127.0.0.1:$1.
port_is_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Store in variable $1 a loopback TCP port that is free and not chosen before
# by this script. With $2 = 2, ports N and N+1 are both free and N is stored.
pick_free_port() {
	local -n result=$1
	local count=${2:-1} attempt candidate offset ok
	for attempt in $(seq 1 200); do
		candidate=$((20000 + RANDOM % 40000))
		ok=1
		for ((offset = 0; offset < count; offset++)); do
			if [[ $chosen_ports == *" $((candidate + offset)) "* ]] || ! port_is_free $((candidate + offset)); then
				ok=0
				break
			fi
		done
		if ((ok)); then
			for ((offset = 0; offset < count; offset++)); do
				chosen_ports+="$((candidate + offset)) "
			done
			result=$candidate
			return 0
		fi
	done
	fail "no free loopback port found after 200 attempts"
}

# Run "$@" every 0.2 s until it succeeds, for at most START_TIMEOUT seconds.
wait_until() {
	local deadline=$((SECONDS + START_TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

smoke_consul() {
	local consul=$1 http_port serf_lan_port server_port server_log=$work_dir/consul.log
	pick_free_port http_port
	pick_free_port serf_lan_port
	pick_free_port server_port

	# Every listener that can be turned off is turned off, and the others
	# get free ports, so the agent never touches Consul's default ports.
	"$consul" agent -dev -node smoke -bind 127.0.0.1 -client 127.0.0.1 \
		-http-port "$http_port" -serf-lan-port "$serf_lan_port" -server-port "$server_port" \
		-serf-wan-port -1 -dns-port -1 -https-port -1 -grpc-port -1 -grpc-tls-port -1 \
		-hcl 'disable_update_check = true' >"$server_log" 2>&1 &
	consul_pid=$!
	log "started Consul dev agent (PID $consul_pid) on 127.0.0.1:$http_port"

	local address=127.0.0.1:$http_port
	# A KV write succeeds only once the agent has elected itself leader.
	wait_until "$consul" kv put -http-addr="$address" smoke/key value ||
		fail "Consul did not accept a KV write within $START_TIMEOUT s" "$server_log"
	local value
	value=$("$consul" kv get -http-addr="$address" smoke/key) || fail "consul kv get failed" "$server_log"
	[[ $value == value ]] || fail "consul kv get returned '$value', expected 'value'" "$server_log"
	"$consul" catalog services -http-addr="$address" | grep -qx consul ||
		fail "the Consul catalog does not list the consul service" "$server_log"

	stop_server "$consul_pid"
	consul_pid=
	log "Consul dev agent answered KV and catalog requests and stopped"
}

smoke_vault() {
	local vault=$1 api_port server_log=$work_dir/vault.log token
	# The dev server also listens on the next port for cluster traffic.
	pick_free_port api_port 2
	token=smoke-$RANDOM$RANDOM

	"$vault" server -dev -dev-no-store-token -dev-root-token-id="$token" \
		-dev-listen-address="127.0.0.1:$api_port" >"$server_log" 2>&1 &
	vault_pid=$!
	log "started Vault dev server (PID $vault_pid) on 127.0.0.1:$api_port"

	export VAULT_ADDR=http://127.0.0.1:$api_port
	wait_until "$vault" status || fail "vault status did not succeed within $START_TIMEOUT s" "$server_log"

	# Each of these engines is compiled into the binary, so enabling it
	# proves it is there. Creating a root CA exercises the PKI engine.
	export VAULT_TOKEN=$token
	"$vault" secrets enable pki >&2 || fail "enabling the pki secrets engine failed" "$server_log"
	"$vault" auth enable approle >&2 || fail "enabling the approle auth method failed" "$server_log"
	"$vault" secrets enable consul >&2 || fail "enabling the consul secrets engine failed" "$server_log"
	"$vault" write -field=certificate pki/root/generate/internal common_name=smoke.test ttl=1h >/dev/null ||
		fail "generating a PKI root certificate failed" "$server_log"
	unset VAULT_TOKEN VAULT_ADDR

	stop_server "$vault_pid"
	vault_pid=
	log "Vault dev server enabled pki, approle and consul, issued a root CA and stopped"
}

main() {
	# Settings from the caller's environment must not redirect the CLIs to
	# another server.
	local name
	for name in $(compgen -e); do
		case $name in
		CONSUL_* | VAULT_*) unset "$name" ;;
		esac
	done

	local consul vault
	consul=$("$script_dir/ensure.sh" consul)
	vault=$("$script_dir/ensure.sh" vault)
	"$consul" version >&2
	"$vault" version >&2

	smoke_consul "$consul"
	smoke_vault "$vault"
	log "passed"
}

# Exit on the same line so that bash reads no further if this file is
# edited while it runs.
main "$@"; exit
