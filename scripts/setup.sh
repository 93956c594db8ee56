#!/bin/sh
# Installs the Debian 12 packages pyalloc-bench needs; idempotent and quiet when all are there.
# As root it runs apt-get (with `apt-get update` first when needed); otherwise it prints the command and fails.
set -eu
PKGS="build-essential cmake pkg-config libbenchmark-dev libjemalloc-dev libmimalloc-dev \
libgoogle-perftools-dev libtbb-dev python3 python3-matplotlib python3-scipy parallel rsync openssh-client openssh-server"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "pyalloc-bench needs:$missing. Run as root: apt-get update && $cmd" >&2
    exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A minimal system may have empty package lists; refresh them when an install cannot find a package.
$cmd >/tmp/pab-setup.log 2>&1 || { apt-get update >>/tmp/pab-setup.log 2>&1 && $cmd >>/tmp/pab-setup.log 2>&1; } || {
    echo "setup: apt-get failed; see /tmp/pab-setup.log" >&2; tail -5 /tmp/pab-setup.log >&2; exit 1; }
