#!/usr/bin/env bash
# Sets everything up, then runs the demo: a BGP fabric of tortie and FRR in network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import ./test/register.mjs scripts/demo.ts
