#!/usr/bin/env bash
# demo.sh: installs distill and runs the main job on the embedded defaults: build distill's minimal nginx
# image from signed Debian packages, build its public-image equivalent (../shared/tools/stock-image), list
# both images' packages, scan both and print the comparison. The remediation plan arrives with
# `distill triage` (see the README's status table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
npm ci --no-audit --no-fund
npm run build
mkdir -p .cache/demo
stock="${DISTILL_STOCK_IMAGE_TOOL:-../shared/tools/stock-image}"
[ -s .cache/demo/stock-nginx.tar ] || "$stock" nginx .cache/demo/stock-nginx.tar >/dev/null
node dist/cli/main.js sbom docker-archive:.cache/demo/stock-nginx.tar
node dist/cli/main.js sbom docker-archive:.cache/demo/stock-nginx.tar --format cyclonedx-json --output .cache/demo/stock-nginx.cdx.json
echo "CycloneDX SBOM written to .cache/demo/stock-nginx.cdx.json" >&2

# Vulnerabilities: the real feeds bundled in ../shared/data (CISA KEV, PyPA) plus a Debian tracker-format feed
# derived from real changelog.Debian.gz facts (the tracker itself is not reachable from these machines).
feeds=.cache/demo/feeds
if [ ! -d "$feeds" ]; then
  mkdir -p "$feeds.tmp"
  cp ../shared/data/cisa-kev/known_exploited_vulnerabilities.json "$feeds.tmp/"
  tar xzf ../shared/data/pypa-advisory-database/pypa-advisory-database-vulns.tar.gz -C "$feeds.tmp"
  node --import tsx bench/changelog-tracker.ts "$feeds.tmp/debian-changelog-tracker.json" >/dev/null
  mv "$feeds.tmp" "$feeds"
fi
node dist/cli/main.js db import "$feeds" --db .cache/demo/vuln.db -q

# The minimal image: resolved, verified and assembled from signed bookworm packages (amd64 here).
node dist/cli/main.js build images/nginx.yaml --output docker-archive:.cache/demo/distill-nginx.tar --arch amd64 --cache .cache/demo/debs
node dist/cli/main.js sbom docker-archive:.cache/demo/distill-nginx.tar

echo; echo "== scan: public-image equivalent (stock nginx) =="
node dist/cli/main.js scan docker-archive:.cache/demo/stock-nginx.tar --db .cache/demo/vuln.db
echo; echo "== scan: distill nginx =="
node dist/cli/main.js scan docker-archive:.cache/demo/distill-nginx.tar --db .cache/demo/vuln.db

echo; echo "== compare: stock nginx (A) vs distill nginx (B) =="
node dist/cli/main.js compare docker-archive:.cache/demo/stock-nginx.tar docker-archive:.cache/demo/distill-nginx.tar --db .cache/demo/vuln.db

echo; echo "== triage: the plan for stock nginx (what to do next) =="
node dist/cli/main.js triage docker-archive:.cache/demo/stock-nginx.tar --replacement docker-archive:.cache/demo/distill-nginx.tar --db .cache/demo/vuln.db --top 8
