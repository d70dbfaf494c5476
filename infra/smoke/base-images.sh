#!/usr/bin/env bash
# Provides the base images infra/Dockerfile and infra/docker-compose.yml name (node:20-bookworm-slim, redis:7.2-bookworm):
# pulled when a registry answers, else bootstrapped from Debian's repositories with mmdebstrap and tagged with those
# names, so the Dockerfile and compose file under test stay the ones users get.
#
# The Node stand-in carries this machine's own Node 20 package (repacked with dpkg-repack: Debian bookworm ships
# Node 18, below the project's engines field, and that package depends on python3) and its npm, as the official
# image carries the npm its Node release bundles. It also trusts the certificate authorities this machine adds
# (/usr/local/share/ca-certificates, e.g. a TLS-intercepting egress proxy's), as Node and npm here do, so `npm ci`
# in the image build reaches the registry the host reaches; the Redis stand-in is Debian's redis-server (7.0) with the same
# entry point conventions (`redis-server` on PATH, data in /data).
set -euo pipefail

NODE_IMAGE=docker.io/library/node:20-bookworm-slim
REDIS_IMAGE=docker.io/library/redis:7.2-bookworm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have() { podman image exists "$1"; }
pulled() { timeout 30 podman pull -q "$1" >/dev/null 2>&1; }

# The machine's apt sources, so the stand-ins come from the same mirror the host uses.
mirror() { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}'; }

bootstrap() { # tag, packages, image settings (podman import --change, ;-separated), extra mmdebstrap args...
  local tag=$1 packages=$2 settings=$3; shift 3
  echo "base images: bootstrapping $tag from Debian bookworm ($packages)"
  mmdebstrap --quiet --variant=minbase --include="$packages" --format=tar \
    --customize-hook='chroot "$1" sh -c "apt-get clean && rm -rf /var/lib/apt/lists/*"' "$@" bookworm "$work/rootfs.tar" "$(mirror)"
  local changes=()
  IFS=';' read -ra lines <<<"$settings"
  for line in "${lines[@]}"; do changes+=(--change "$line"); done
  podman import --quiet "${changes[@]}" "$work/rootfs.tar" "$tag" >/dev/null
  rm -f "$work/rootfs.tar"
}

if have "$NODE_IMAGE" || pulled "$NODE_IMAGE"; then
  echo "base images: $NODE_IMAGE present"
else
  command -v dpkg-repack >/dev/null || { echo "base images: dpkg-repack is needed for the Node stand-in (apt-get install -y dpkg-repack)" >&2; exit 1; }
  node_version=$(dpkg-query -W -f='${Version}' nodejs)
  case "$node_version" in 20.*) ;; *) echo "base images: the host's nodejs package is $node_version, not Node 20" >&2; exit 1;; esac
  # Its warnings list the files the global npm upgrade replaced: the npm copied in below is the one in use.
  (cd "$work" && dpkg-repack nodejs >"$work/repack.log" 2>&1) || { cat "$work/repack.log" >&2; exit 1; }
  deb=$(ls "$work"/nodejs_*.deb)
  bootstrap "$NODE_IMAGE" "ca-certificates,python3,libstdc++6" 'CMD ["node"];ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --customize-hook="copy-in /usr/local/share/ca-certificates /usr/local/share" \
    --customize-hook='chroot "$1" update-ca-certificates >/dev/null' \
    --customize-hook="copy-in $deb /tmp" \
    --customize-hook='chroot "$1" sh -c "dpkg -i /tmp/nodejs_*.deb && rm -r /tmp/nodejs_*.deb /usr/lib/node_modules/npm && useradd -m -u 1000 node"' \
    --customize-hook="copy-in $(npm root -g)/npm /usr/lib/node_modules"
fi

if have "$REDIS_IMAGE" || pulled "$REDIS_IMAGE"; then
  echo "base images: $REDIS_IMAGE present"
else
  bootstrap "$REDIS_IMAGE" "redis-server,redis-tools" 'WORKDIR /data;ENTRYPOINT ["docker-entrypoint.sh"];CMD ["redis-server"]' \
    --customize-hook="copy-in $(dirname "$0")/redis-entrypoint.sh /usr/local/bin" \
    --customize-hook='chroot "$1" sh -c "mv /usr/local/bin/redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh && mkdir -p /data && chown redis:redis /data"'
fi
