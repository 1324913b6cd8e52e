#!/usr/bin/env bash
# Synthetic-speech recipe, end to end on a fresh machine: TTS corpus -> features -> BiLSTM-CTC -> WER.
#
#   bash recipes/synth/run.sh                      # all stages
#   bash recipes/synth/run.sh --stage 3 --stop-stage 5
#   bash recipes/synth/run.sh --train-hours 1 --train-args "epochs=3"
#   bash recipes/synth/run.sh --stage 6 --stop-stage 8    # LM from the training text, tune on dev, decode test
#
# Stages: 0 corpus, 1 validate, 2 features, 3 train, 4 greedy decode of test, 5 score it (+ report),
#         6 n-gram LM, 7 tune LM weight/word score on dev, 8 LM beam search on test + score, 9 transcribe.
set -euo pipefail

stage=0
stop_stage=9
nj=2
seed=0
# TTS engines, those installed among them (the log says which). The pip ones by default, so the run
# takes the same ~23 minutes wherever Debian's are installed too: Festival makes ~16 h of audio per hour
# on 2 cores, eSpeak ~450. `--engines espeak,piper,flite,festival` for the multi-engine corpus.
engines=espeak,piper
train_hours=30       # hours of synthetic training speech
dev_utts=200
test_utts=300
train_config=recipes/synth/conf/train.yaml
train_args=""        # extra key=value overrides for asr train
ngpu=1               # training processes (GPUs); > 1 runs torchrun --nproc-per-node (DistributedDataParallel)
data=data/synth
exp=exp/synth
lm_order=3           # word n-gram LM (interpolated modified Kneser-Ney) from the training text only
beam=50

cd "$(dirname "$0")/../.."   # run from the repository root
. recipes/parse_options.sh

log() { echo -e "$(date '+%F %T') (run.sh:${BASH_LINENO[0]}) $*"; }
timed() { local t0=$SECONDS; "$@"; log "stage took $((SECONDS - t0)) s"; }
mkdir -p "$exp"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "Stage 0: synthesize the corpus ($train_hours h train, $dev_utts dev, $test_utts test utterances)"
  timed asr synth-corpus --out-dir "$data" --train-hours "$train_hours" --dev-utts "$dev_utts" \
    --test-utts "$test_utts" --nj "$nj" --seed "$seed" --engines "$engines"
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
  train_cmd=(asr train)
  [ "$ngpu" -gt 1 ] && train_cmd=(torchrun --standalone --nproc-per-node "$ngpu" -m asr.cli train)
  # shellcheck disable=SC2086
  timed "${train_cmd[@]}" --config "$train_config" exp_dir="$exp/bilstm_ctc" \
    train_data="$data/train" train_feats="$data/feats/train" \
    dev_data="$data/dev" dev_feats="$data/feats/dev" seed="$seed" $train_args
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "Stage 4: greedy decoding of the held-out-voice test set"
  # --greedy: the model directory may already hold a tuned LM setup (stage 7) that would be used by default.
  timed asr decode "$exp/bilstm_ctc/model" "$data/test" "$exp/decode_test_greedy" --greedy
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: scoring"
  asr score "$data/test/text" "$exp/decode_test_greedy/hyp.txt" --out-dir "$exp/decode_test_greedy" \
    --data-dir "$data/test" --title "test, greedy" | tee "$exp/decode_test_greedy/result.txt"
  log "per-utterance alignments: $exp/decode_test_greedy/per_utt.txt; report: $exp/decode_test_greedy/report.html"
fi

lm_dir=$exp/lm_${lm_order}gram
lm_decode=$exp/decode_test_beam${beam}_lm${lm_order}
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: ${lm_order}-gram word LM from the training text only -> $lm_dir"
  timed asr lm "$data/train/text" "$lm_dir" --order "$lm_order"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  log "Stage 7: tune the LM weight and word score on dev (written to $exp/bilstm_ctc/model/decode.json)"
  timed asr tune-lm "$exp/bilstm_ctc/model" "$data/dev" --lm "$lm_dir" --beam "$beam" \
    | tee "$exp/bilstm_ctc/tune_lm.txt"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  log "Stage 8: beam search with the LM (tuned setup from decode.json) on test, and scoring"
  timed asr decode "$exp/bilstm_ctc/model" "$data/test" "$lm_decode"
  asr score "$data/test/text" "$lm_decode/hyp.txt" --out-dir "$lm_decode" --data-dir "$data/test" \
    --title "test, beam $beam + ${lm_order}-gram LM" | tee "$lm_decode/result.txt"
  log "greedy:  $(cat "$exp/decode_test_greedy/result.txt" 2>/dev/null || echo 'not scored (stage 5)')"
  log "LM beam: $(cat "$lm_decode/result.txt")"
  log "report: $lm_decode/report.html"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  log "Stage 9: transcribe a sentence that is in no split, spoken by each held-out test voice (US accent)"
  sentence="the quick brown fox jumps over the lazy dog near the river bank"
  mkdir -p "$exp/new_sentence"
  wavs=()
  for variant in $(python3 -c "from asr.data.synth import DEFAULT_TEST_VARIANTS as v; print(' '.join(v))"); do
    asr speak --voice "en-us+$variant" --out "$exp/new_sentence/$variant.wav" "$sentence"
    wavs+=("$exp/new_sentence/$variant.wav")
  done
  log "said: $sentence"
  asr transcribe "$exp/bilstm_ctc/model" "${wavs[@]}" 2>/dev/null | tee "$exp/new_sentence/transcripts.tsv"
fi
log "Done."
