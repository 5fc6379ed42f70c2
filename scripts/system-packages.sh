#!/usr/bin/env bash
# system-packages.sh: installs the Debian packages distill's tests and demo use as oracles and tools
# (idempotent; skips apt-get when everything is present). Needs root, as on the CI machines.
set -euo pipefail
need=(time mmdebstrap podman skopeo umoci oci-image-tool golang-go dpkg-dev zstd zip unzip xz-utils gnupg rpm python3-packaging maven runc openssl apt-utils docker-registry postgresql chromium)
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-packages: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
