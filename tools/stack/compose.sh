#!/usr/bin/env bash
# Run the Bulwark stack in Docker Compose from docker-compose.yml.
#
# Usage: tools/stack/compose.sh up|down|clean [--images]|status|images|prepare|env
#
#   images  build every image from this checkout, offline: static Go
#           binaries, the pinned Consul and Vault binaries and Debian's
#           redis-server, each on an empty base image
#   up      build the images, start the stack, wait until every container is
#           healthy, then write .bulwark/env and .bulwark/mode
#   down    stop and remove the containers and networks; keep state and data
#   clean   down, then delete state and data (credentials, CA, databases);
#           with --images also delete the images
#   status  list the containers and their health
#   prepare the state that up creates before compose starts: directories,
#           Redis passwords and redis.conf (for tools that run compose
#           themselves, such as the compose test suite)
#   env     the files that up writes once the stack is healthy: the operator
#           tokens, .bulwark/env and .bulwark/mode
#
# Settings (environment):
#   BULWARK_STACK_DIR      state root; compose state goes to its compose/
#                          directory (default: .bulwark in the repository)
#   BULWARK_COMPOSE_PROJECT  compose project name (default: bulwark)
#   BULWARK_SUBNET_PREFIX  first three octets of the internal /24 (default 172.30.53)
#   BULWARK_GATEWAY_PORT   loopback port of the gateway (default 8443)
#   BULWARK_IMAGE_TAG      tag of the bulwark-* images (default: local)
#   BULWARK_UP_TIMEOUT     seconds to wait for health (default 300)
set -euo pipefail

script_dir=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(CDPATH= cd -- "$script_dir/../.." && pwd -P)
readonly script_dir repo

# The services come from infra/services.yaml, as for the bootstrap and the
# native stack, so a service added there gets its image. The parser reads
# only the "  - name: NAME" lines of that file's block list.
mapfile -t services < <(sed -n 's/^[[:space:]]*-[[:space:]]*name:[[:space:]]*\([a-z][a-z0-9-]*\)[[:space:]]*$/\1/p' \
	"$repo/infra/services.yaml")
readonly services
readonly label=com.bulwark.stack=1

stack_dir=$(realpath -m -- "${BULWARK_STACK_DIR:-$repo/.bulwark}")
export BULWARK_COMPOSE_DIR=$stack_dir/compose
export COMPOSE_PROJECT_NAME=${BULWARK_COMPOSE_PROJECT:-bulwark}
export BULWARK_SUBNET_PREFIX=${BULWARK_SUBNET_PREFIX:-172.30.53}
export BULWARK_GATEWAY_PORT=${BULWARK_GATEWAY_PORT:-8443}
export BULWARK_IMAGE_TAG=${BULWARK_IMAGE_TAG:-local}
up_timeout=${BULWARK_UP_TIMEOUT:-300}

# Staging directory of an image build, removed on exit.
staging=

log() {
	printf 'compose.sh: %s\n' "$*" >&2
}

die() {
	log "$*"
	exit 1
}

cleanup() {
	if [[ -n $staging ]]; then
		rm -rf -- "$staging"
	fi
	if [[ -n ${header_file:-} ]]; then
		rm -f -- "$header_file"
	fi
}
trap cleanup EXIT

check_settings() {
	[[ $BULWARK_SUBNET_PREFIX =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
		((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)) ||
		die "BULWARK_SUBNET_PREFIX '$BULWARK_SUBNET_PREFIX' is not three octets such as 172.30.53"
	[[ $BULWARK_GATEWAY_PORT =~ ^[0-9]+$ ]] && ((BULWARK_GATEWAY_PORT >= 1 && BULWARK_GATEWAY_PORT <= 65535)) ||
		die "BULWARK_GATEWAY_PORT '$BULWARK_GATEWAY_PORT' is not a port number (1-65535)"
	[[ $up_timeout =~ ^[0-9]+$ ]] || die "BULWARK_UP_TIMEOUT '$up_timeout' is not a number of seconds"
	[[ $COMPOSE_PROJECT_NAME =~ ^[a-z0-9][a-z0-9_-]*$ ]] ||
		die "BULWARK_COMPOSE_PROJECT '$COMPOSE_PROJECT_NAME' is invalid; use lower-case letters, digits, - and _"
	[[ $BULWARK_IMAGE_TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
		die "BULWARK_IMAGE_TAG '$BULWARK_IMAGE_TAG' is not a valid image tag; use letters, digits, _, . and -"
	((${#services[@]} > 0)) ||
		die "infra/services.yaml lists no service as '  - name: NAME' lines; fix the file"
}

# compose runs docker compose v2 where the plugin exists, else docker-compose
# v1, with the repository's compose file.
compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose --project-directory "$repo" -f "$repo/docker-compose.yml" "$@"
	elif command -v docker-compose >/dev/null; then
		docker-compose --project-directory "$repo" -f "$repo/docker-compose.yml" "$@"
	else
		die "neither 'docker compose' nor 'docker-compose' is installed; install Debian's docker-compose package"
	fi
}

require_docker() {
	command -v docker >/dev/null || die "docker not found on PATH"
	docker info >/dev/null 2>&1 || die "the Docker engine does not respond to 'docker info'; start it or run the native stack"
}

# service_mains_present succeeds when every service has its main package.
service_mains_present() {
	local name
	for name in "${services[@]}"; do
		[[ -f $repo/services/$name/main.go ]] || return 1
	done
}

# stage_redis copies redis-server and every shared library that ldd lists
# for it into $1, at their paths on this machine.
stage_redis() {
	local root=$1 binary library
	binary=$(command -v redis-server) || die "redis-server not found: install Debian's redis-server package"
	binary=$(readlink -f "$binary")
	install -D -m 0755 "$binary" "$root/usr/bin/redis-server"
	while read -r library; do
		install -D -m 0755 "$(readlink -f "$library")" "$root$library"
	done < <(ldd "$binary" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
	[[ -e $root/lib64/ld-linux-x86-64.so.2 || -n $(find "$root" -name 'ld-linux*' -print -quit) ]] ||
		die "ldd listed no dynamic loader for $binary; the Redis image would not start"
}

# stage_server copies server binary $1 to $2 without its symbol table and
# debug information, which saves about 150 MB across the Consul and Vault
# images. Go keeps the tables that stack traces need.
stage_server() {
	local source=$1 target=$2
	if command -v strip >/dev/null; then
		strip -o "$target" "$source" || die "strip $source failed"
		chmod 0755 "$target"
	else
		log "NOTE: strip not found (Debian's binutils package): copying $source with its debug information"
		install -m 0755 "$source" "$target"
	fi
}

# build_images builds every image from a staging directory whose files all
# carry the same modification time, so that unchanged inputs give identical
# layers.
build_images() {
	require_docker
	local started=$SECONDS name consul vault
	staging=$(mktemp -d)
	mkdir -p "$staging/bin" "$staging/etc" "$staging/infra"

	log "building the Go binaries (CGO_ENABLED=0)"
	local targets=(bulwark)
	if service_mains_present; then
		targets+=("${services[@]}")
	else
		log "NOTE: services/*/main.go are missing: building only the Consul, Vault, Redis and bootstrap images"
	fi
	for name in "${targets[@]}"; do
		local package=./services/$name
		[[ $name == bulwark ]] && package=./cmd/bulwark
		(cd "$repo" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' \
			-o "$staging/bin/$name" "$package") || die "go build $package failed"
	done

	consul=$("$repo/tools/servers/ensure.sh" consul) || die "tools/servers/ensure.sh consul failed"
	vault=$("$repo/tools/servers/ensure.sh" vault) || die "tools/servers/ensure.sh vault failed"
	stage_server "$consul" "$staging/bin/consul"
	stage_server "$vault" "$staging/bin/vault"
	stage_redis "$staging/redis"

	cp -R "$repo/infra/." "$staging/infra/"
	install -m 0644 "$repo/deploy/docker/passwd" "$repo/deploy/docker/group" "$staging/etc/"
	cp "$repo"/deploy/docker/*.Dockerfile "$staging/"
	chmod -R u=rwX,go=rX "$staging"
	find "$staging" -exec touch -h -d @0 {} +

	docker_build bootstrap bootstrap.Dockerfile etc infra bin/bulwark
	docker_build consul consul.Dockerfile etc infra/consul/server.hcl bin/consul bin/bulwark
	docker_build vault vault.Dockerfile etc infra/vault/server.hcl bin/vault bin/bulwark
	docker_build redis redis.Dockerfile etc redis bin/bulwark
	if service_mains_present; then
		for name in "${services[@]}"; do
			docker_build "$name" service.Dockerfile etc infra/authz.yaml "infra/ratelimit/$name.yaml" "bin/$name" \
				--build-arg "SERVICE=$name"
		done
	fi
	# A rebuild leaves the previous image of a tag behind without a name.
	docker image prune --force --filter "label=$label" >/dev/null
	log "built the images in $((SECONDS - started)) s:"
	docker images --filter "label=$label" --format '  {{.Repository}}:{{.Tag}} {{.Size}}' | sort >&2
}

# docker_build builds image bulwark-$1 from Dockerfile $2 with the classic
# builder, which needs no buildx plugin and pulls nothing for FROM scratch.
# The build context holds only the staged paths that follow (hard links), so
# that no image build sends the large Consul and Vault binaries it does not
# use. Arguments after the paths, from the first one starting with -, go to
# docker build.
docker_build() {
	local name=$1 dockerfile=$2 context
	shift 2
	context=$staging/context-$name
	mkdir "$context"
	while (($# > 0)) && [[ $1 != -* ]]; do
		(cd "$staging" && cp -al --parents "$1" "$context/")
		shift
	done
	cp -al "$staging/$dockerfile" "$context/Dockerfile"
	DOCKER_BUILDKIT=0 docker build --quiet --label "$label" -t "bulwark-$name:$BULWARK_IMAGE_TAG" \
		"$@" "$context" >/dev/null 2> >(grep -v -e 'legacy builder is deprecated' -e 'BuildKit is currently disabled' \
		-e 'environment-variable' -e '^ *$' >&2) || die "docker build of bulwark-$name failed"
}

# container_user prints the numeric user:group of the containers: the
# caller's, so that files the containers write stay readable to the caller,
# or 10001:10001 when the caller is root.
container_user() {
	if (($(id -u) == 0)); then
		printf '10001 10001\n'
	else
		printf '%s %s\n' "$(id -u)" "$(id -g)"
	fi
}

# ensure_redis_password writes a random Redis password to the file $1
# (mode 0600) unless it exists.
ensure_redis_password() {
	if [[ ! -s $1 ]]; then
		(umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$1")
		log "created the Redis password file $1"
	fi
}

# password_hash prints the SHA-256 of the password in the file $1, the form
# of a password in a Redis ACL rule.
password_hash() {
	local password
	password=$(<"$1")
	printf '%s' "$password" | sha256sum | cut -d ' ' -f 1
}

# write_redis_config prints the redis.conf of the stack whose state
# directory is $1, with the ACL users of the operator and of every service.
write_redis_config() {
	local state=$1 name
	# Persistence is off: the rate-limit counters are short-lived.
	# Only the TLS port is open (port 0), and every client must present
	# a certificate that chains to the root CA: the services present
	# their Vault certificates. bootstrap-certs writes server.pem and
	# server-key.pem next to this file.
	printf '%s\n' \
		'# Written by tools/stack/compose.sh; contains password hashes.' \
		'bind 0.0.0.0' \
		'port 0' \
		'tls-port 6379' \
		'tls-cert-file /etc/redis/server.pem' \
		'tls-key-file /etc/redis/server-key.pem' \
		'tls-ca-cert-file /etc/redis/ca.pem' \
		'tls-auth-clients yes' \
		'tls-protocols "TLSv1.3"' \
		'protected-mode yes' \
		'save ""' \
		'appendonly no' \
		'dir /tmp' \
		'rename-command CONFIG ""' \
		'rename-command DEBUG ""' \
		'rename-command MODULE ""'

	# NOTE: these ACL rules repeat redisacl.Rules (internal/redisacl), which
	# the native stack and the test harness use; change both together.
	# The default user is off, so every client logs in as a named user.
	# A service's user may run only the rate-limit store's commands
	# (EVALSHA and EVAL, and TIME, GET and SET inside its script) on
	# keys under its own prefix. The operator may only ping and read.
	printf '%s\n' 'user default off resetpass nocommands resetkeys resetchannels'
	printf 'user operator on #%s resetchannels resetkeys ~bulwark:ratelimit:* -@all +ping +info +scan +get +pttl\n' \
		"$(password_hash "$state/redis/password")"
	for name in "${services[@]}"; do
		printf 'user %s on #%s resetchannels resetkeys ~bulwark:ratelimit:%s:* -@all +evalsha +eval +time +get +set\n' \
			"$name" "$(password_hash "$state/services/$name/redis-password")" "$name"
	done
}

# prepare_state creates the directories that the containers mount, the
# Redis passwords of the operator and of each service, and the redis.conf
# that contains their hashes.
prepare_state() {
	local uid gid state=$BULWARK_COMPOSE_DIR/state name
	read -r uid gid < <(container_user)
	export BULWARK_UID=$uid BULWARK_GID=$gid

	install -d -m 0700 "$stack_dir" "$BULWARK_COMPOSE_DIR" "$state" "$state/redis" "$state/services" \
		"$BULWARK_COMPOSE_DIR/data"
	for name in "${services[@]}"; do
		[[ $name =~ ^[a-z][a-z0-9-]*$ && $name != operator && $name != default ]] ||
			die "service name '$name' in infra/services.yaml cannot be a Redis ACL user; use lower-case letters, digits and -"
		install -d -m 0700 "$BULWARK_COMPOSE_DIR/data/$name" "$state/services/$name"
	done

	# Each service logs in to Redis as its own ACL user, with a password in
	# its credentials directory, which only its container mounts. The
	# operator user is for people who inspect budgets and is mounted
	# nowhere.
	ensure_redis_password "$state/redis/password"
	for name in "${services[@]}"; do
		ensure_redis_password "$state/services/$name/redis-password"
	done
	# The umask applies inside the subshell, so the redirection that
	# creates redis.conf.new sits inside it too.
	(
		umask 077
		write_redis_config "$state" >"$state/redis/redis.conf.new"
	)
	mv -f "$state/redis/redis.conf.new" "$state/redis/redis.conf"

	# Containers run as $uid, and the bootstrap writes 0600 files, so the
	# directories must belong to that user.
	if (($(id -u) == 0)); then
		chown -R "$uid:$gid" "$BULWARK_COMPOSE_DIR"
	fi
}

# check_gateway_port fails when something other than this stack's gateway
# listens on the gateway port. Docker would report that only after creating
# the containers.
check_gateway_port() {
	if [[ -n $(docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
		--filter "label=com.docker.compose.service=gateway") ]]; then
		return 0
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$BULWARK_GATEWAY_PORT") 2>/dev/null; then
		die "127.0.0.1:$BULWARK_GATEWAY_PORT is in use (a native stack? run 'make down'); or set BULWARK_GATEWAY_PORT"
	fi
}

# wait_healthy waits until every running container of the project is healthy
# and every one-shot container exited 0, for at most $up_timeout seconds.
wait_healthy() {
	local deadline=$((SECONDS + up_timeout)) pending id name state health code
	while :; do
		pending=()
		while read -r id; do
			[[ -n $id ]] || continue
			read -r name state health code < <(docker inspect --format \
				'{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}' "$id")
			case $state/$health in
			running/healthy) ;;
			exited/none)
				((code == 0)) || fail_service "$name" "exited with code $code"
				;;
			exited/*) fail_service "$name" "exited with code $code" ;;
			*/unhealthy) fail_service "$name" "is unhealthy" ;;
			*) pending+=("$name") ;;
			esac
		done < <(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
		if ((${#pending[@]} == 0)); then
			return 0
		fi
		if ((SECONDS >= deadline)); then
			fail_service "${pending[0]}" "is not healthy after $up_timeout s (waiting for: ${pending[*]})"
		fi
		sleep 2
	done
}

fail_service() {
	local name=$1 reason=$2
	log "$name $reason. The last lines of its log:"
	compose logs --no-color --tail 30 "$name" >&2 || true
	die "the stack did not come up: $name $reason"
}

# Operator tokens of .bulwark/env, made the way `bulwark up` makes them in
# native mode: a Consul token with the read-only policy below and a Vault
# token with infra/vault/policies/operator-read.hcl. Both are reused while
# valid. Secrets travel through files and pipes, never through arguments.
readonly consul_operator_policy=bulwark-operator-read
readonly consul_operator_label='bulwark: read-only operator token of the local stack'
readonly vault_operator_policy=operator-read
# NOTE: these rules repeat consulOperatorRules in internal/stack/operator.go;
# change both together.
readonly consul_operator_rules='service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

agent_prefix "" {
  policy = "read"
}

operator = "read"
'

# Scratch file of the token header of the current request, created by
# ensure_operator_tokens and removed on exit.
header_file=

# write_token_header writes "NAME: <contents of file $2>" to $header_file.
write_token_header() {
	local name=$1 secret_file=$2
	printf '%s: %s\n' "$name" "$(tr -d '[:space:]' <"$secret_file")" >"$header_file"
}

# consul_api calls Consul's HTTPS API with the operator certificate and the
# management token: consul_api METHOD PATH [curl options].
consul_api() {
	local method=$1 path=$2 state=$BULWARK_COMPOSE_DIR/state
	shift 2
	write_token_header X-Consul-Token "$state/consul/management.token"
	curl --silent --show-error --fail --max-time 10 --request "$method" \
		--cacert "$state/ca.pem" --cert "$state/operator/client.pem" --key "$state/operator/client-key.pem" \
		--header "@$header_file" "$@" "https://$BULWARK_SUBNET_PREFIX.10:8501$path"
}

# vault_api calls Vault's API with the token in file $1:
# vault_api TOKEN_FILE METHOD PATH [curl options].
vault_api() {
	local token_file=$1 method=$2 path=$3
	shift 3
	write_token_header X-Vault-Token "$token_file"
	curl --silent --show-error --fail --max-time 10 --request "$method" \
		--cacert "$BULWARK_COMPOSE_DIR/state/ca.pem" --header "@$header_file" "$@" \
		"https://$BULWARK_SUBNET_PREFIX.11:8200$path"
}

# consul_operator_policy_json prints the body of the operator policy.
consul_operator_policy_json() {
	jq -n --arg name "$consul_operator_policy" --arg rules "$consul_operator_rules" \
		'{Name: $name, Description: "read-only operator of the local stack", Rules: $rules}'
}

ensure_consul_operator_token() {
	local token_file=$1 id accessor
	id=$(consul_api GET /v1/acl/policies | jq -r --arg name "$consul_operator_policy" '.[] | select(.Name == $name) | .ID')
	if [[ -z $id ]]; then
		consul_operator_policy_json | consul_api PUT /v1/acl/policy --data @- >/dev/null
	elif [[ $(consul_api GET "/v1/acl/policy/$id" | jq -j .Rules) != "${consul_operator_rules%$'\n'}" ]]; then
		consul_operator_policy_json | consul_api PUT "/v1/acl/policy/$id" --data @- >/dev/null
	fi

	accessor=$(consul_api GET /v1/acl/tokens | jq -r --arg description "$consul_operator_label" \
		--arg name "$consul_operator_policy" \
		'[.[] | select(.Description == $description and ([.Policies[]?.Name] == [$name]))][0].AccessorID // empty')
	(
		umask 077
		if [[ -n $accessor ]]; then
			consul_api GET "/v1/acl/token/$accessor" | jq -j '.SecretID' >"$token_file.new"
		else
			jq -n --arg description "$consul_operator_label" --arg name "$consul_operator_policy" \
				'{Description: $description, Policies: [{Name: $name}]}' |
				consul_api PUT /v1/acl/token --data @- | jq -j '.SecretID' >"$token_file.new"
		fi
	)
	[[ -s $token_file.new ]] || die "Consul returned no operator token"
	mv -f "$token_file.new" "$token_file"
}

ensure_vault_operator_token() {
	local token_file=$1 root_token=$BULWARK_COMPOSE_DIR/state/vault/root.token lookup
	jq -Rs '{policy: .}' <"$repo/infra/vault/policies/$vault_operator_policy.hcl" |
		vault_api "$root_token" PUT "/v1/sys/policies/acl/$vault_operator_policy" --data @- >/dev/null

	# Keep a live token that has only the operator policy and an hour left.
	if [[ -s $token_file ]] && lookup=$(vault_api "$token_file" GET /v1/auth/token/lookup-self 2>/dev/null) &&
		jq -e --arg name "$vault_operator_policy" '.data.policies == [$name] and .data.ttl >= 3600' <<<"$lookup" >/dev/null; then
		return 0
	fi
	(
		umask 077
		jq -n --arg name "$vault_operator_policy" \
			'{policies: [$name], no_default_policy: true, ttl: "24h", display_name: "bulwark-operator-read", renewable: true}' |
			vault_api "$root_token" POST /v1/auth/token/create-orphan --data @- | jq -j '.auth.client_token' >"$token_file.new"
	)
	[[ -s $token_file.new ]] || die "Vault returned no operator token"
	mv -f "$token_file.new" "$token_file"
}

# ensure_operator_tokens writes both operator tokens into directory $1.
ensure_operator_tokens() {
	local dir=$1
	command -v jq >/dev/null || die "jq not found: install Debian's jq package, which compose.sh uses for the operator tokens"
	install -d -m 0700 "$dir"
	log "writing the read-only operator tokens to $dir"
	header_file=$(mktemp "$BULWARK_COMPOSE_DIR/.header.XXXXXX")
	ensure_consul_operator_token "$dir/consul.token"
	ensure_vault_operator_token "$dir/vault.token"
	rm -f -- "$header_file"
	header_file=
}

# write_env writes .bulwark/env for the consul and vault CLIs and curl.
write_env() {
	local state=$BULWARK_COMPOSE_DIR/state operator=$BULWARK_COMPOSE_DIR/operator env_file=$stack_dir/env
	ensure_operator_tokens "$operator"
	(
		umask 077
		cat <<EOF
# Shell exports for the Bulwark stack in compose mode (project
# $COMPOSE_PROJECT_NAME), written by tools/stack/compose.sh up.
# Load them with:  source $env_file
# Consul and Vault publish no port: the host reaches them at their fixed
# addresses on the internal network, which their certificates carry.
export BULWARK_GATEWAY_URL=https://127.0.0.1:$BULWARK_GATEWAY_PORT
export BULWARK_GATEWAY_CACERT=$state/ca.pem

# Bootstrap state (CA, AppRole credentials) that bulwark verify reads.
export BULWARK_STATE_DIR=$state

# consul CLI: HTTPS with the operator client certificate and a read-only
# ACL token read from a file.
export CONSUL_HTTP_ADDR=$BULWARK_SUBNET_PREFIX.10:8501
export CONSUL_HTTP_SSL=true
export CONSUL_CACERT=$state/ca.pem
export CONSUL_CLIENT_CERT=$state/operator/client.pem
export CONSUL_CLIENT_KEY=$state/operator/client-key.pem
export CONSUL_HTTP_TOKEN_FILE=$operator/consul.token

# vault CLI. BULWARK_VAULT_TOKEN_FILE names a read-only token (policy
# operator-read). The vault CLI takes no token file, so load the token
# without printing it, either into the CLI's token helper (~/.vault-token):
#   vault login -no-print - < "\$BULWARK_VAULT_TOKEN_FILE"
# or into this shell only:
#   export VAULT_TOKEN="\$(cat "\$BULWARK_VAULT_TOKEN_FILE")"
export VAULT_ADDR=https://$BULWARK_SUBNET_PREFIX.11:8200
export VAULT_CACERT=$state/ca.pem
export BULWARK_VAULT_TOKEN_FILE=$operator/vault.token
EOF
	) >"$env_file.new"
	mv -f "$env_file.new" "$env_file"
	printf 'compose\n' >"$stack_dir/mode"
}

cmd_up() {
	check_settings
	if [[ -f $stack_dir/mode && $(<"$stack_dir/mode") != compose ]]; then
		die "$stack_dir contains a $(<"$stack_dir/mode") stack; run 'make clean' before starting the compose stack"
	fi
	require_docker
	build_images
	prepare_state
	check_gateway_port

	local targets=()
	if ! service_mains_present; then
		targets=(bootstrap-certs consul vault redis bootstrap)
		log "NOTE: starting only ${targets[*]} until the services have main packages"
	fi
	local started=$SECONDS
	log "starting project $COMPOSE_PROJECT_NAME"
	compose up -d --no-build "${targets[@]}" >&2 || {
		wait_healthy
		die "compose up failed; see its output above (a subnet that overlaps another network needs BULWARK_SUBNET_PREFIX)"
	}
	wait_healthy
	write_env
	log "the stack is healthy after $((SECONDS - started)) s"

	local url=https://127.0.0.1:$BULWARK_GATEWAY_PORT ca
	ca=$(display_path "$BULWARK_COMPOSE_DIR/state/ca.pem")
	printf '\nMode:     compose (project %s)\n' "$COMPOSE_PROJECT_NAME"
	printf 'Gateway:  %s   (CA: %s)\n' "$url" "$ca"
	printf 'Env:      source %s\n' "$(display_path "$stack_dir/env")"
	if service_mains_present; then
		printf 'Try:      curl --cacert %s %s/v1/products\n' "$ca" "$url"
	fi
}

# display_path prints path $1 relative to the working directory when it lies
# below it, else unchanged.
display_path() {
	local path=$1
	if [[ $path == "$PWD"/* ]]; then
		printf '%s\n' "${path#"$PWD"/}"
	else
		printf '%s\n' "$path"
	fi
}

cmd_down() {
	check_settings
	require_docker
	compose down --remove-orphans
	log "stopped project $COMPOSE_PROJECT_NAME; state and data are kept in $BULWARK_COMPOSE_DIR"
}

cmd_clean() {
	local remove_images=false
	case ${1:-} in
	--images) remove_images=true ;;
	"") ;;
	*) die "unknown option '$1' for clean; use --images or nothing" ;;
	esac
	check_settings
	require_docker
	compose down --remove-orphans --volumes
	log "removing state and data: $BULWARK_COMPOSE_DIR (CA, credentials, Consul and Vault data, databases)"
	rm -rf -- "$BULWARK_COMPOSE_DIR"
	if [[ -f $stack_dir/mode && $(<"$stack_dir/mode") == compose ]]; then
		rm -f -- "$stack_dir/env" "$stack_dir/mode"
	fi
	if $remove_images; then
		local images
		# The tagged images, and earlier builds of them that lost their tag
		# while a container still used them.
		images=$({
			docker images -q --filter "label=$label" --filter "reference=bulwark-*:$BULWARK_IMAGE_TAG"
			docker images -q --filter "label=$label" --filter dangling=true
		} | sort -u)
		if [[ -n $images ]]; then
			log "removing the bulwark-*:$BULWARK_IMAGE_TAG images"
			# Word splitting is wanted: one argument per image ID.
			# shellcheck disable=SC2086
			docker rmi $images >/dev/null
		fi
	fi
}

cmd_status() {
	check_settings
	require_docker
	compose ps
}

main() {
	(($# >= 1)) || die "usage: $0 up|down|clean [--images]|status|images|prepare|env"
	local command=$1
	shift
	case $command in
	up | down | status | images | prepare | env)
		(($# == 0)) || die "$command takes no arguments"
		;;
	esac
	case $command in
	up) cmd_up ;;
	down) cmd_down ;;
	clean) cmd_clean "$@" ;;
	status) cmd_status ;;
	images)
		check_settings
		build_images
		;;
	prepare)
		check_settings
		prepare_state
		;;
	env)
		check_settings
		write_env
		;;
	*) die "unknown command '$command'; use up, down, clean, status, images, prepare or env" ;;
	esac
}

main "$@"; exit
