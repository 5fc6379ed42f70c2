#!/usr/bin/env bash
# test.sh: the one command that installs everything the tests need and runs every test.
# System packages (apt-get), node modules (npm ci), the build, then vitest. Reference artifacts
# (stock images, Trivy SBOMs, real .debs) are built on first use into .cache/test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
npm ci --no-audit --no-fund
npm run build
npx vitest run "$@"
