#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite (type check, unit and integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
exec npx mocha "$@"
