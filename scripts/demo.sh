#!/usr/bin/env bash
# Sets everything up, then runs the demo: the tor-frr lab (FRR top-of-rack routers, tortie
# hosts, etcd, workloads) in network namespaces, a sample policy, and a reachability matrix.
# The lab stays up at the end for a look around; `npx tortie lab down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import ./test/register.mjs scripts/demo.ts
