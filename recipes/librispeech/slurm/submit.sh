#!/usr/bin/env bash
# The whole LibriSpeech recipe as a chain of Slurm jobs, each starting when the one before succeeded:
#   prepare (CPU) -> features (array, one shard per task) -> merge -> train (multi-node GPUs) -> decode.
#
#   bash recipes/librispeech/slurm/submit.sh --data-root /corpora                      # defaults of each .sbatch
#   SHARDS=128 NODES=4 CPU_OPTS="-p cpu" GPU_OPTS="-p gpu -A myproj" bash recipes/librispeech/slurm/submit.sh ...
#
# All arguments go to run.sh in every job (so --data, --exp, --units ... stay consistent across jobs).
set -euo pipefail
cd "$(dirname "$0")/../../.."
shards=${SHARDS:-64}
nodes=${NODES:-2}
cpu_opts=${CPU_OPTS:-}
gpu_opts=${GPU_OPTS:-}
dir=recipes/librispeech/slurm
# shellcheck disable=SC2086
prep=$(sbatch --parsable $cpu_opts "$dir/prepare.sbatch" "$@")
# shellcheck disable=SC2086
feats=$(sbatch --parsable $cpu_opts --dependency=afterok:"$prep" --array=0-$((shards - 1)) "$dir/features.sbatch" "$@")
# shellcheck disable=SC2086
merge=$(sbatch --parsable $cpu_opts --dependency=afterok:"$feats" "$dir/merge.sbatch" "$@")
# shellcheck disable=SC2086
train=$(sbatch --parsable $gpu_opts --nodes "$nodes" --dependency=afterok:"$merge" "$dir/train.sbatch" "$@")
# shellcheck disable=SC2086
decode=$(sbatch --parsable $gpu_opts --dependency=afterok:"$train" "$dir/decode.sbatch" "$@")
echo "submitted: prepare $prep, features $feats (${shards} shards), merge $merge, train $train ($nodes nodes), decode $decode"
