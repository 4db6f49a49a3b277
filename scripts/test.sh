#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (type check, unit and integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Daemons started in-process by tests log warnings and errors only; a test that needs more sets its own level.
export TORTIE_LOG_LEVEL="${TORTIE_LOG_LEVEL:-warn}"
npm run --silent typecheck
# With no arguments, the whole suite; with files, just those.
if (($#)); then exec npx mocha "$@"; fi
exec npx mocha 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts'
