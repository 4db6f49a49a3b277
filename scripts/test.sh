#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (type check, unit and integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
# With no arguments, the whole suite; with files, just those.
if (($#)); then exec npx mocha "$@"; fi
exec npx mocha 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts'
