#!/bin/sh
# Builds a Node base image for the Dockerfile without pulling from any registry: a Debian
# bookworm root file system made by debootstrap, this machine's Node (its `node` binary and npm)
# copied in, ca-certificates, and a `node` user (uid 1000) as in the official node images;
# imported into podman as localhost/webka-node-base:20-bookworm. Run as root on a Debian or
# Ubuntu host whose Node was built for glibc 2.36 or older (e.g. NodeSource's packages):
#   apt-get install podman debootstrap runc
#   sh deploy/debian-node-base.sh
#   podman build --format docker --build-arg NODE_IMAGE=localhost/webka-node-base:20-bookworm -t webka .
# (--format docker keeps the HEALTHCHECK; podman drops it from OCI images)
# EXTRA_CA=/path/to/bundle.crt adds a CA bundle for Node (NODE_EXTRA_CA_CERTS), for a host whose
# registry traffic goes through a proxy with its own CA (the image's build stage runs npm ci).
# See docs/deploy.md ("Container image") for what was run with it and what of it is tested.
set -eu
TAG=${TAG:-localhost/webka-node-base:20-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOT=$(mktemp -d)/rootfs
trap 'rm -rf "$(dirname "$ROOT")"' EXIT
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
NODE=$(command -v node)
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
cp "$NODE" "$ROOT/usr/bin/node"
mkdir -p "$ROOT/usr/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" /bin/sh -c 'apt-get install -y -q --no-install-recommends ca-certificates && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node && apt-get clean && rm -rf /var/lib/apt/lists/* && node --version'
rm -f "$ROOT/etc/resolv.conf"
if [ -n "${EXTRA_CA:-}" ]; then
  cp "$EXTRA_CA" "$ROOT/usr/local/share/extra-ca.crt"
  tar -C "$ROOT" -c . | podman import --change 'CMD ["node"]' --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.crt' - "$TAG"
else
  tar -C "$ROOT" -c . | podman import --change 'CMD ["node"]' - "$TAG"
fi
echo "built $TAG"
