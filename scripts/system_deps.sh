#!/usr/bin/env bash
# The system packages the tests and maps need, then PostGIS started for the tests.
#
#   GIS_TEST_DB=$(bash scripts/system_deps.sh)      # what `make test` does
#
# Debian/Ubuntu packages:
#   chromium                  headless browser for the map/report tests (Playwright drives it)
#   fonts-noto-cjk            a CJK font for the charts (the vendored subset font also works)
#   postgresql-N-postgis-3    PostgreSQL + PostGIS for tests/test_postgis.py
#   python3-qgis qgis-providers  PyQGIS for the GeoPackage-styles test
# Run as root on Debian/Ubuntu it installs what is missing with apt-get;
# otherwise it prints the exact command to run and carries on (the tests
# that need a missing package are skipped, and the test run says so).
# Idempotent and quick (dpkg-query only) when everything is present.
# Then it starts PostgreSQL + PostGIS with scripts/start_postgis.sh and prints
# the connection URL on stdout (nothing when PostGIS cannot be started).
# Progress goes to stderr.  Settings: PGVER (default: the distribution's
# PostgreSQL), GIS_NO_SYSTEM_DEPS=1 (check and print only, never install).
set -uo pipefail
cd "$(dirname "$0")/.."
log() { echo "system_deps: $*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  log "not Debian/Ubuntu: install Chromium, a CJK font, PostgreSQL + PostGIS and PyQGIS yourself"
  exit 0
fi

if [ -z "${PGVER:-}" ]; then
  # the PostgreSQL already installed, else the one the distribution's metapackage names
  PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  if [ -z "$PGVER" ]; then
    PGVER=$(apt-cache depends postgresql 2>/dev/null | grep -o 'postgresql-[0-9]\+' | head -1 | cut -d- -f2)
  fi
  PGVER=${PGVER:-15}
fi
export PGVER

PACKAGES=(chromium fonts-noto-cjk "postgresql-$PGVER-postgis-3" python3-qgis qgis-providers)
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)
  [ "$status" = "installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ] && [ -z "${GIS_NO_SYSTEM_DEPS:-}" ]; then
    log "installing ${missing[*]} (apt-get)"
    start=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq >&2 && $cmd -qq >&2; then
      log "installed in $(( $(date +%s) - start )) s"
    else
      log "apt-get failed; the tests that need ${missing[*]} will be skipped"
    fi
  else
    log "missing system packages: ${missing[*]}; the tests that need them will be skipped. Install with:"
    log "  sudo apt-get update && sudo $cmd"
  fi
fi

if [ -n "${GIS_TEST_DB:-}" ]; then
  echo "$GIS_TEST_DB"
elif [ -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ] \
    && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
  bash scripts/start_postgis.sh || log "PostGIS could not be started; the PostGIS tests will be skipped"
else
  log "PostGIS not started (not installed, or not root); the PostGIS tests will be skipped"
fi
exit 0
