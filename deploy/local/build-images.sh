#!/usr/bin/env bash
# Builds the Chorus images with podman on a host that reaches no container registry:
#   localhost/debian:bookworm     debootstrap --variant=minbase, imported (reused when present)
#   localhost/chorus-node:20      that + this host's Node.js 20 (deploy/local/node.Dockerfile; reused when present)
#   localhost/chorus-server:local deploy/local/server.Dockerfile
#   localhost/chorus-client:local deploy/local/client.Dockerfile
# Usage: deploy/local/build-images.sh [--rebuild-base]
# Needs root, podman, debootstrap and runc (apt-get install -y podman debootstrap runc).
# Environment: MIRROR (default: the first Debian URI in /etc/apt/sources*), WORK (scratch
# directory, default /tmp/chorus-image-build), NETWORK (podman build --network; default podman's
# own, from which this host's builds reach the npm registry and Debian's mirror; NETWORK=host where
# they do not), NO_CACHE=1 (build the apps without podman's layer cache, e.g. to time a clean build).
set -euo pipefail
cd "$(dirname "$0")/../.."

REBUILD_BASE=0
[ "${1:-}" = "--rebuild-base" ] && REBUILD_BASE=1
WORK="${WORK:-/tmp/chorus-image-build}"
NETWORK="${NETWORK:-}"
# crun fails on this host, and podman's default ulimits are refused: the same flags everywhere.
PODMAN_FLAGS=(--runtime runc)
BUILD_FLAGS=(--format docker --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
[ -n "$NETWORK" ] && BUILD_FLAGS+=(--network "$NETWORK")
APP_FLAGS=()
[ "${NO_CACHE:-0}" = 1 ] && APP_FLAGS+=(--no-cache)

log() { printf '== %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
has_image() { podman "${PODMAN_FLAGS[@]}" image exists "$1"; }
seconds() { date +%s; }

for tool in podman debootstrap runc; do
  command -v "$tool" >/dev/null || { echo "build-images: $tool is missing (apt-get install -y podman debootstrap runc)" >&2; exit 1; }
done

if [ -z "${MIRROR:-}" ]; then
  MIRROR="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | head -n 1 || true)"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
mkdir -p "$WORK"
started=$(seconds)

# ---- 1. Debian bookworm, minbase
if [ "$REBUILD_BASE" = 1 ] || ! has_image localhost/debian:bookworm; then
  log "debootstrap bookworm from $MIRROR"
  t=$(seconds)
  rootfs="$WORK/bookworm"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
  # What an image does not need: the downloaded packages and the package lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman "${PODMAN_FLAGS[@]}" import --change 'CMD ["/bin/bash"]' - localhost/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  log "localhost/debian:bookworm imported in $(($(seconds) - t)) s"
else
  log "localhost/debian:bookworm present (reused; --rebuild-base to rebuild)"
fi

# ---- 2. Node.js 20: this host's runtime on that base
if [ "$REBUILD_BASE" = 1 ] || ! has_image localhost/chorus-node:20; then
  node_bin="$(readlink -f "$(command -v node)")"
  node_prefix="$(dirname "$(dirname "$node_bin")")"
  case "$("$node_bin" --version)" in
    v20.*) ;;
    *) echo "build-images: $(command -v node) is $("$node_bin" --version), not Node.js 20" >&2; exit 1 ;;
  esac
  [ -d "$node_prefix/lib/node_modules/npm" ] || { echo "build-images: no npm under $node_prefix/lib/node_modules" >&2; exit 1; }
  [ -d "$node_prefix/include/node" ] || { echo "build-images: no Node.js headers under $node_prefix/include/node" >&2; exit 1; }
  log "localhost/chorus-node:20 from $node_bin ($("$node_bin" --version))"
  t=$(seconds)
  ctx="$WORK/node-context"
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/usr/lib/node_modules" "$ctx/rootfs/usr/include"
  cp "$node_bin" "$ctx/rootfs/usr/bin/node"
  cp -a "$node_prefix/lib/node_modules/npm" "$ctx/rootfs/usr/lib/node_modules/"
  cp -a "$node_prefix/include/node" "$ctx/rootfs/usr/include/"
  # The CAs this host's node trusts (a TLS-inspecting proxy's own CA, for example); empty when none.
  mkdir -p "$ctx/rootfs/etc/ssl/certs"
  ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  if [ -f "$ca" ]; then cp "$ca" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"; else : >"$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"; fi
  cp deploy/local/node.Dockerfile "$ctx/Dockerfile"
  podman "${PODMAN_FLAGS[@]}" build "${BUILD_FLAGS[@]}" -t localhost/chorus-node:20 "$ctx"
  rm -rf "$ctx"
  log "localhost/chorus-node:20 built in $(($(seconds) - t)) s"
else
  log "localhost/chorus-node:20 present (reused; --rebuild-base to rebuild)"
fi

# ---- 3. The two apps, from the repository root as the build context
for app in server client; do
  log "localhost/chorus-$app:local (deploy/local/$app.Dockerfile)"
  t=$(seconds)
  podman "${PODMAN_FLAGS[@]}" build "${BUILD_FLAGS[@]}" "${APP_FLAGS[@]}" -f "deploy/local/$app.Dockerfile" -t "localhost/chorus-$app:local" .
  log "localhost/chorus-$app:local built in $(($(seconds) - t)) s"
done

log "done in $(($(seconds) - started)) s"
podman "${PODMAN_FLAGS[@]}" images --filter reference='localhost/*'
