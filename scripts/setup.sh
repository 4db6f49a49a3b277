#!/usr/bin/env bash
# Installs everything tortie needs on Debian 12 with Node 20, as root, and builds it.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  etcd-server etcd-client          # the datastore, and throwaway etcds in tests
  openssl                          # throwaway CAs and certificates for TLS etcd tests
  frr bird2 gobgpd                 # peers for interop tests and the benchmark
  iproute2 iptables ipset nftables # the kernel interfaces felix and the labs drive
  tcpdump procps psmisc            # captures in tests; ps/pstree for process checks
  librsvg2-bin                     # rsvg-convert: `tortie lab graph --png`
  iputils-ping                     # ping probes inside test namespaces
  containernetworking-plugins      # reference CNI plugins chained after ours
  make g++ python3                 # the native socket-option addon (TCP MD5, GTSM)
  gcc                              # the CNI plugin's C client (native/cni-client.c)
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages"
  npm ci --no-fund --no-audit --loglevel=error
fi

echo "setup: building"
npm run --silent build
