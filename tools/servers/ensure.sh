#!/usr/bin/env bash
# Print the absolute path of a Consul v1.16.3 or Vault v1.14.8 binary,
# building it from its Go module into the user cache when no such binary
# exists yet.
#
# Usage: tools/servers/ensure.sh consul|vault
#
# The path is the only output on stdout, and progress and errors go to
# stderr.
# Lookup order: the binary of that name on PATH, then the cache, then a build.
set -euo pipefail

readonly CONSUL_VERSION=v1.16.3
readonly VAULT_VERSION=v1.14.8

# Release metadata from the Go module proxy's .info for each version, passed
# to the linker so that `version` output matches the release. Vault's .info
# names no commit. Consul's `version` command fails on a build date that is
# not RFC 3339.
readonly CONSUL_COMMIT=1123b47f3a7e43a763d2cf9e37f0f3eea7a0b18a
readonly CONSUL_COMMIT_TIME=2023-10-31T14:28:19Z
readonly VAULT_COMMIT_TIME=2023-12-05T21:14:34Z

# The published sdk that the Vault build patches, with its go.sum hash. The
# hash is pinned here because go.sum does not cover a module replaced by a
# local directory.
readonly VAULT_SDK_MODULE=github.com/hashicorp/vault/sdk
readonly VAULT_SDK_VERSION=v0.9.2
readonly VAULT_SDK_SUM=h1:H1kitfl1rG2SHbeGEyvhEqmIjVKE3E6c2q3ViKOs6HA=

script_dir=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
readonly script_dir
readonly cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/bulwark/servers"

# The partly written binary, removed if the script exits before renaming it.
temporary=

log() {
	printf 'ensure.sh: %s\n' "$*" >&2
}

die() {
	log "$*"
	exit 1
}

# Succeed if the binary $2 reports the pinned version of server $1.
reports_pinned_version() {
	local server=$1 binary=$2 output first_line
	output=$(timeout 60 "$binary" version 2>/dev/null) || return 1
	first_line=${output%%$'\n'*}
	case $server in
	consul) [[ $first_line == "Consul $CONSUL_VERSION" ]] ;;
	# Vault appends " (commit)" or ", built DATE" to the version.
	vault) [[ $first_line == "Vault $VAULT_VERSION" || $first_line == "Vault $VAULT_VERSION "* || $first_line == "Vault $VAULT_VERSION,"* ]] ;;
	esac
}

# Print the directory of a module version in the module cache, downloading
# it first if needed, and check its hash against $3.
download_module() {
	local module=$1 version=$2 expected_sum=$3 scratch json dir sum
	scratch=$(mktemp -d)
	# Run outside every module so that the Vault module's replace directive
	# does not apply to the download.
	json=$(cd "$scratch" && GOWORK=off go mod download -json "$module@$version") || {
		rmdir "$scratch"
		die "downloading $module@$version failed: $json"
	}
	rmdir "$scratch"
	dir=$(sed -n 's/^\t"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	sum=$(sed -n 's/^\t"Sum": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ $sum == "$expected_sum" ]] || die "$module@$version has hash '$sum', expected $expected_sum"
	[[ -d $dir ]] || die "$module@$version: module directory '$dir' not found"
	printf '%s\n' "$dir"
}

# Copy the published Vault sdk into vault/.sdk, where the Vault module's
# replace directive points, and apply the compatibility layer described in
# vault/README.md.
prepare_vault_sdk() {
	local source_dir sdk_dir=$script_dir/vault/.sdk backend
	source_dir=$(download_module "$VAULT_SDK_MODULE" "$VAULT_SDK_VERSION" "$VAULT_SDK_SUM")

	rm -rf "$sdk_dir"
	cp -R "$source_dir" "$sdk_dir"
	# The module cache is read-only, and the copy must be writable to patch
	# it and to delete it on the next build.
	chmod -R u+w "$sdk_dir"
	cp "$script_dir"/vault/_sdkcompat/physical/*.go "$sdk_dir/physical/"
	cp "$script_dir"/vault/_sdkcompat/logical/*.go "$sdk_dir/logical/"

	# Drop the start-up check that panics when a path defines a create
	# operation without an ExistenceCheck. The awk program skips the
	# comment line that introduces the check and the if block after it.
	backend=$sdk_dir/framework/backend.go
	awk '
		/Detect the coding error of attempting to define a CreateOperation without defining an ExistenceCheck/ {
			skipping = 1
			depth = 0
			next
		}
		skipping {
			depth += gsub(/\{/, "{")
			depth -= gsub(/\}/, "}")
			if (depth == 0) {
				skipping = 0
			}
			next
		}
		{ print }
	' "$backend" >"$backend.new"
	mv "$backend.new" "$backend"
	if grep -q 'defines a CreateOperation but no ExistenceCheck' "$backend"; then
		die "could not remove the ExistenceCheck panic from $backend"
	fi
}

# Build server $1 from the module in directory $2 into the file $3,
# preferring a static binary.
build_server() {
	local server=$1 module_dir=$2 output=$3 package ldflags
	case $server in
	consul)
		package=github.com/hashicorp/consul
		ldflags="-X github.com/hashicorp/consul/version.GitCommit=$CONSUL_COMMIT"
		ldflags+=" -X github.com/hashicorp/consul/version.BuildDate=$CONSUL_COMMIT_TIME"
		;;
	vault)
		package=github.com/hashicorp/vault
		ldflags="-X github.com/hashicorp/vault/version.BuildDate=$VAULT_COMMIT_TIME"
		;;
	esac

	# Build output goes to stderr because stdout carries only the path.
	if (cd "$module_dir" && CGO_ENABLED=0 GOWORK=off go build -trimpath -ldflags "$ldflags" -o "$output" "$package") >&2; then
		return 0
	fi
	log "the build with CGO_ENABLED=0 failed. Retrying with cgo."
	(cd "$module_dir" && CGO_ENABLED=1 GOWORK=off go build -trimpath -ldflags "$ldflags" -o "$output" "$package") >&2
}

main() {
	if [[ $# -ne 1 ]]; then
		die "usage: $0 consul|vault"
	fi
	local server=$1 version display_name
	case $server in
	consul)
		version=$CONSUL_VERSION
		display_name=Consul
		;;
	vault)
		version=$VAULT_VERSION
		display_name=Vault
		;;
	*) die "unknown server '$server'. Usage: $0 consul|vault" ;;
	esac

	local on_path
	if on_path=$(command -v "$server") && [[ -x $on_path ]]; then
		on_path=$(readlink -f "$on_path")
		if reports_pinned_version "$server" "$on_path"; then
			printf '%s\n' "$on_path"
			return 0
		fi
	fi

	local cache_dir=$cache_root/$server-$version
	local cached=$cache_dir/$server
	if [[ -x $cached ]] && reports_pinned_version "$server" "$cached"; then
		printf '%s\n' "$cached"
		return 0
	fi

	command -v go >/dev/null || die "go not found on PATH. Install Go to build $display_name $version"
	mkdir -p "$cache_dir"

	# One build per cache directory at a time. A caller that waited for
	# another caller's build uses its result.
	exec 9>"$cache_dir/.lock"
	if ! flock -n 9; then
		log "waiting for another build of $display_name $version in $cache_dir"
		flock 9
	fi
	if [[ -x $cached ]] && reports_pinned_version "$server" "$cached"; then
		printf '%s\n' "$cached"
		return 0
	fi
	if [[ -e $cached ]]; then
		log "$cached does not report $display_name $version. Rebuilding it."
	fi

	# Holding the lock means that any temporary file left here belongs to a
	# build that was killed.
	rm -f "$cache_dir"/.build.*

	local duration
	case $server in
	consul) duration="about 3 minutes on 2 cores" ;;
	vault) duration="5 to 10 minutes on 2 cores when the module cache is empty" ;;
	esac
	log "building $display_name $version from its Go module. This takes $duration, and a first build of both servers needs about 10 GB of Go module and build cache"

	local started=$SECONDS
	if [[ $server == vault ]]; then
		# Vault builds share vault/.sdk in this checkout, even when their
		# caches differ, so they also lock the module directory. They do not
		# lock go.mod because the go command takes its own lock on it.
		exec 8<"$script_dir/vault"
		flock 8
		prepare_vault_sdk
	fi

	temporary=$(mktemp "$cache_dir/.build.XXXXXX")
	trap 'rm -f "$temporary"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if ! build_server "$server" "$script_dir/$server" "$temporary"; then
		die "building $display_name $version failed. The go output above shows why."
	fi
	chmod 0755 "$temporary"
	reports_pinned_version "$server" "$temporary" || die "the new binary does not report $display_name $version"
	mv -f "$temporary" "$cached"
	trap - EXIT

	log "built $display_name $version in $((SECONDS - started)) s: $cached"
	printf '%s\n' "$cached"
}

# Exit on the same line so that bash reads no further if this file is
# edited while it runs.
main "$@"; exit
