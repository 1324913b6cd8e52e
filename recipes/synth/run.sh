#!/usr/bin/env bash
# Synthetic-speech recipe, end to end on a fresh machine: TTS corpus -> features -> BiLSTM-CTC -> WER.
#
#   bash recipes/synth/run.sh                      # all stages
#   bash recipes/synth/run.sh --stage 3 --stop-stage 5
#   bash recipes/synth/run.sh --train-hours 1 --train-args "epochs=3"
set -euo pipefail

stage=0
stop_stage=6
nj=2
seed=0
train_hours=3.0      # hours of synthetic training speech
dev_utts=200
test_utts=300
train_config=recipes/synth/conf/train.yaml
train_args=""        # extra key=value overrides for asr train
data=data/synth
exp=exp/synth

cd "$(dirname "$0")/../.."   # run from the repository root
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --train-hours) train_hours=$2; shift 2 ;;
    --dev-utts) dev_utts=$2; shift 2 ;;
    --test-utts) test_utts=$2; shift 2 ;;
    --train-config) train_config=$2; shift 2 ;;
    --train-args) train_args=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --exp) exp=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

log() { echo -e "$(date '+%F %T') (run.sh:${BASH_LINENO[0]}) $*"; }
timed() { local t0=$SECONDS; "$@"; log "stage took $((SECONDS - t0)) s"; }
mkdir -p "$exp"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "Stage 0: synthesize the corpus ($train_hours h train, $dev_utts dev, $test_utts test utterances)"
  timed asr synth-corpus --out-dir "$data" --train-hours "$train_hours" --dev-utts "$dev_utts" \
    --test-utts "$test_utts" --nj "$nj" --seed "$seed"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "Stage 1: validate the data directories"
  timed asr validate-data "$data/train" "$data/dev" "$data/test"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "Stage 2: log-mel features and global CMVN"
  timed asr features "$data/train" "$data/feats/train" --nj "$nj" --cmvn
  for part in dev test; do
    timed asr features "$data/$part" "$data/feats/$part" --nj "$nj"
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "Stage 3: train the BiLSTM-CTC model"
  # shellcheck disable=SC2086
  timed asr train --config "$train_config" exp_dir="$exp/bilstm_ctc" \
    train_data="$data/train" train_feats="$data/feats/train" \
    dev_data="$data/dev" dev_feats="$data/feats/dev" seed="$seed" $train_args
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "Stage 4: greedy decoding of the held-out-voice test set"
  timed asr decode "$exp/bilstm_ctc/model" "$data/test" "$exp/decode_test_greedy"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: scoring"
  asr score "$data/test/text" "$exp/decode_test_greedy/hyp.txt" --out-dir "$exp/decode_test_greedy" \
    | tee "$exp/decode_test_greedy/result.txt"
  log "per-utterance alignments: $exp/decode_test_greedy/per_utt.txt"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: transcribe a sentence that is in no split, spoken by a test voice"
  sentence="the quick brown fox jumps over the lazy dog near the river bank"
  asr speak --split test --out "$exp/new_sentence.wav" "$sentence"
  log "said:        $sentence"
  log "transcribed: $(asr transcribe "$exp/bilstm_ctc/model" "$exp/new_sentence.wav")"
fi
log "Done."
