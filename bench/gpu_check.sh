#!/usr/bin/env bash
# GPU check of training (one H100/H200, about 4 minutes): throughput of the training pipeline against
# its model-only ceiling and a naive loop, bf16 against fp32, torch.compile, and a short real training
# run on CUDA (AMP, SpecAugment, mid-epoch checkpoints, resume, fp16 + GradScaler).
#
#   bash bench/gpu_check.sh               # from the repository root; log + JSON in $OUT (or /tmp/asr_gpu_check)
#   bash bench/gpu_check.sh --cpu-smoke   # the same steps, tiny and on the CPU: checks the script itself
#
# Needs python3 with torch, torchaudio, numpy, pyyaml, tqdm, safetensors; no soundfile, librosa, jiwer or
# espeak (all data is synthetic: random log-mels in a real feature store, random transcripts), and the
# package need not be installed (PYTHONPATH=repo). Each step has its own timeout; a failed step is
# reported and the next one runs; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/asr_gpu_check}
work=$(mktemp -d /tmp/asr_gpu_check.XXXX)
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}

dev=cuda hours=2 big_hours=5 steps=15 big_steps=10 train_frames=48000 train_model=""
big_model="--hidden 1024 --layers 5 --max-frames 100000"
if [ "${1:-}" = "--cpu-smoke" ]; then
  dev=cpu hours=0.15 big_hours=0.15 steps=2 big_steps=2 train_frames=6000 train_model="model.hidden_size=32 model.num_layers=2"
  big_model="--hidden 48 --layers 2 --max-frames 12000"
fi
small_model="--hours $hours --max-frames 24000 --steps $steps --warmup 3"
[ "$dev" = cpu ] && small_model="--hours $hours --max-frames 8000 --hidden 64 --layers 2 --steps $steps --warmup 1"

failed=()
step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2 t0=$SECONDS
  shift 2
  echo; echo "=== $name"
  if timeout "$limit" "$@"; then echo "--- $name: ok ($((SECONDS - t0)) s)"
  else echo "--- $name: FAILED (exit $?, $((SECONDS - t0)) s)"; failed+=("$name"); fi
}

train_py='
import json, logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from asr.config import load_config
from asr.train.trainer import TrainConfig, train
cfg = load_config(TrainConfig, "recipes/synth/conf/train.yaml", sys.argv[1:])
t = time.time()
r = train(cfg)
for h in r["history"]:
    print(json.dumps(h))
fps, steps, stopped = [h["frames_per_second"] for h in r["history"]], r["steps"], r["stopped"]
if fps:
    print(f"training frames/s per epoch: {[round(f) for f in fps]}; one 1000 h epoch at the last rate: "
          f"{1000 * 3600 * 100 / fps[-1] / 3600:.2f} h")
print(f"{steps} steps, stopped: {stopped}, wall {time.time() - t:.1f} s")
'

{
  echo "asr GPU check $(date '+%F %T') on $(hostname), device $dev"
  [ "$dev" = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  step "environment" 60 "$py" -c "
import torch, torchaudio
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(),
      'torchaudio', torchaudio.__version__)
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(), 'bf16:', torch.cuda.is_bf16_supported())
import asr.train.trainer  # must import without soundfile / jiwer / librosa
"

  # 1. The synth recipe's model (256x3) at the recipe's batch size: pipeline vs model-only vs naive; fp32.
  # shellcheck disable=SC2086
  step "bench: 256x3, AMP auto" 120 "$py" bench/train.py --device $dev $small_model \
    --json "$out/bench_256x3_amp.json"
  # shellcheck disable=SC2086
  step "bench: 256x3, fp32 (no naive)" 90 "$py" bench/train.py --device $dev $small_model --amp off --no-naive \
    --json "$out/bench_256x3_fp32.json"
  # 2. A LibriSpeech-size model (1024x5) with GPU-size batches: the 1000 h projection that matters.
  # shellcheck disable=SC2086
  step "bench: 1024x5, max_frames 100000, AMP auto" 150 "$py" bench/train.py --device $dev --hours $big_hours \
    $big_model --steps $big_steps --warmup 2 --json "$out/bench_1024x5_amp.json"
  # 3. torch.compile (packed LSTM: graph breaks expected, so probably no gain: measured, not assumed).
  # shellcheck disable=SC2086
  step "bench: 256x3 model-only, torch.compile" 150 "$py" bench/train.py --device $dev $small_model --no-naive \
    --compile --json "$out/bench_256x3_compile.json"

  # 4. A short real training run: 2 epochs with SpecAugment and step checkpoints, resumed for a
  #    third; then fp16 with the GradScaler for a few steps (GPU only).
  step "synthetic train set" 60 "$py" bench/train.py --make-data "$work/train" --hours "$hours" --seed 1
  step "synthetic dev set" 60 "$py" bench/train.py --make-data "$work/dev" --hours 0.05 --seed 2
  base="exp_dir=$work/exp train_data=$work/train/data train_feats=$work/train/feats dev_data=$work/dev/data
        dev_feats=$work/dev/feats device=$dev amp=auto max_frames=$train_frames checkpoint_every_steps=10
        keep_last=3 specaug.freq_masks=2 specaug.time_masks=2 specaug.time_warp=5 log_interval=10 $train_model"
  # shellcheck disable=SC2086
  step "train: 2 epochs, AMP auto, SpecAugment" 150 "$py" -c "$train_py" $base epochs=2
  # shellcheck disable=SC2086
  step "train: resume for epoch 3" 90 "$py" -c "$train_py" $base epochs=3 resume=true
  if [ "$dev" = cuda ]; then
    # shellcheck disable=SC2086
    step "train: fp16 + GradScaler, 8 steps" 90 "$py" -c "$train_py" $base exp_dir="$work/exp_fp16" amp=fp16 \
      epochs=1 max_steps=8
  fi
  step "model directory loads" 60 "$py" -c "
import torch
from asr.model.model_dir import load_model_dir
m, fcfg, tok, meta = load_model_dir('$work/exp/model', device='$dev')
lp, lens = m(torch.randn(2, 500, fcfg.n_mels, device='$dev'), torch.tensor([500, 300]))
print('model dir ok:', tuple(lp.shape), meta.get('trained'))
"
  cp "$work/exp/metrics.jsonl" "$out/train_metrics.jsonl" 2>/dev/null
  cp "$work/exp/curves.png" "$out/train_curves.png" 2>/dev/null

  echo; echo "=== summary"
  "$py" - "$out" <<'EOF'
import json, sys
from pathlib import Path
for p in sorted(Path(sys.argv[1]).glob("bench_*.json")):
    r = json.loads(p.read_text())
    naive = (f", naive {r['naive_fps']:,.0f} (i/iii x{r['pipeline_vs_naive']:.2f}; "
             f"{100 * r['naive_feature_share']:.0f}% features, {100 * r['naive_padding_share']:.0f}% padding)"
             if "naive_fps" in r else "")
    comp = r.get("compiled_model_only_fps")
    comp = f", compiled {comp:,.0f}" if isinstance(comp, float) else (f", compiled: {comp}" if comp else "")
    print(f"{p.stem} [{r['precision']}]: pipeline {r['pipeline_fps']:,.0f} frames/s, model-only "
          f"{r['model_only_fps']:,.0f} (i/ii x{r['pipeline_vs_model_only']:.2f}){naive}{comp}; "
          f"peak {r['pipeline_peak_gib']:.1f} GiB; one 1000 h epoch {r['hours_per_epoch_1000h']:.2f} h")
EOF
  if [ ${#failed[@]} -eq 0 ]; then echo "all steps ok"; else echo "FAILED steps: ${failed[*]}"; false; fi
} 2>&1 | tee "$out/gpu_check.log"
rc=${PIPESTATUS[0]}
rm -rf "$work"
exit "$rc"
