#!/usr/bin/env bash
# Debian packages the test suites need, installed as root (CI runs on a fresh Debian 12 machine).
# - nats-server >= 2.10 (sync_interval, MQTT fixes): Debian 12 has 2.9.10, so it comes from trixie (Debian 13),
#   pinned at priority 50 so that nothing else on the machine is upgraded from trixie.
# - Ceph (mon, mgr, osd, radosgw) for the S3 lake suites; chromium for the dashboard's browser tests; prometheus (and
#   promtool) to scrape a platform and evaluate the Grafana dashboard (test/server/metrics-prometheus.test.ts).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# The trixie source reuses the machine's own Debian archive address (deb822 `URIs:` or one-line `deb` entry of its
# main suite), so this script names no host and follows whatever mirror the machine is configured with.
if ! grep -rqs 'trixie' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  archive=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
    /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) suite = 1 }
    /^$/ { if (uri != "" && suite && uri !~ /security/ && found == "") found = uri; uri = ""; suite = 0 }
    END { if (uri != "" && suite && uri !~ /security/ && found == "") found = uri; print found }')
  if [ -z "$archive" ]; then
    archive=$(grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '$3 !~ /-/ && $2 !~ /security/ { print $2; exit }')
  fi
  if [ -z "$archive" ]; then
    echo "no Debian archive found in the machine's apt sources: cannot add trixie for nats-server" >&2
    exit 1
  fi
  echo "deb $archive trixie main" > /etc/apt/sources.list.d/dronewatch-trixie.list
fi
cat > /etc/apt/preferences.d/dronewatch-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 50
PIN

apt-get update -qq
apt-get install -y -qq -t trixie nats-server >/dev/null
apt-get install -y -qq --no-install-recommends ceph-mon ceph-mgr ceph-osd radosgw ceph-common chromium prometheus >/dev/null
echo "nats-server $(nats-server --version | awk '{print $NF}'), ceph $(ceph --version | awk '{print $3}'), $(chromium --version 2>/dev/null | head -1)"
