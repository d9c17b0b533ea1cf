#!/usr/bin/env bash
# Installs the Debian packages berth's tests and benchmarks use (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  busybox-static iproute2 nftables procps util-linux uidmap \
  runc podman conmon crun fuse-overlayfs hyperfine python3 ca-certificates libc6-dev musl-tools passwd \
  docker-registry apache2-utils openssl libcap2-bin tar \
  btrfs-progs e2fsprogs zstd skopeo containernetworking-plugins \
  golang-go golang-github-opencontainers-runc-dev
