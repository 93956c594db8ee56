#!/bin/bash
# One shard of a pyalloc-bench plan per Slurm array task (docs/shards.md).  Submit it from the built checkout:
#   sbatch --array=1-8 docs/slurm-shards.sh SEED [pyalloc run options...]
# and, once every task has ended, merge:  scripts/pyalloc merge shards/*/latest --out results
# (or chain it: sbatch --dependency=afterok:JOBID --wrap 'scripts/pyalloc merge shards/*/latest --out results').
# env: PAB_SHARDS_DIR (default shards/; task I writes shards/I), PAB_HOST_LABEL (the host column; default: the
# partition, so the nodes of one partition read as one kind of host).
#SBATCH --job-name=pyalloc-shards
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --exclusive
#SBATCH --time=04:00:00
set -euo pipefail
seed=${1:?usage: sbatch --array=1-N docs/slurm-shards.sh SEED [pyalloc run options...]}
shift
: "${SLURM_ARRAY_TASK_ID:?not a Slurm array task: submit with sbatch --array=1-N}"
n=${SLURM_ARRAY_TASK_COUNT:?}
i=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))  # 1..N whatever the array's first index
cd "${SLURM_SUBMIT_DIR:-.}"  # Slurm runs a copy of this script from its spool: the checkout is where it was submitted
label=${PAB_HOST_LABEL:-${SLURM_JOB_PARTITION:-}}
exec scripts/pyalloc run --seed "$seed" --shard "$i/$n" --out "${PAB_SHARDS_DIR:-shards}/$i" \
    ${label:+--host-label "$label"} "$@"
