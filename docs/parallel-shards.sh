#!/bin/bash
# One plan run as N shards over hosts by GNU parallel (docs/shards.md), then merged into one run.
# usage: docs/parallel-shards.sh SSHLOGINS N SEED [pyalloc run options...]
#   SSHLOGINS  GNU parallel's --sshlogin list: host1,host2,user@host3 (":" is this machine); each host needs a built
#              checkout at the same path (relative to its home) as this one, and rsync
#   N SEED     the number of shards and the plan's seed (every shard must use the same one)
#   env: PAB_JOBS_PER_HOST  shards one host runs at a time (default 1: shards on one host would disturb each other)
#        PAB_SHARDS_DIR     where each shard's run comes back to (default shards/, shard I in shards/I)
#        PAB_RESULTS        where the merged run is made (default results/)
# Prints the merged run's directory.  Example: docs/parallel-shards.sh big1,big2,big3 3 4242 --preset full
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '3,9p' "$0" >&2
    exit 2
fi
hosts=$1 n=$2 seed=$3
shift 3
cd "$(dirname "$0")/.."
shards=${PAB_SHARDS_DIR:-shards}
mkdir -p "$shards"

parallel --will-cite --halt soon,fail=1 --jobs "${PAB_JOBS_PER_HOST:-1}" --sshlogin "$hosts" --wd . \
    --return "$shards/{}" -q scripts/pyalloc run --seed "$seed" --shard "{}/$n" --out "$shards/{}" "$@" ::: $(seq "$n")

runs=()
for i in $(seq "$n"); do runs+=("$shards/$i/latest"); done
scripts/pyalloc merge "${runs[@]}" --out "${PAB_RESULTS:-results}"
