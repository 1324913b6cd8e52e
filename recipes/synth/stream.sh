#!/usr/bin/env bash
# The streaming model (issue #29): the release model's weights run as a latency-controlled BiLSTM
# (chunks of 180 ms + 120 ms of right context, conf/train_stream.yaml), fine-tuned chunked on the
# release corpus, scored like the offline model, and its latency and concurrency measured.
#
#   bash recipes/synth/release.sh --stop-stage 5   # first: the corpus, the offline model, its LM
#   bash recipes/synth/stream.sh                   # then: this
#
# Stages (--stage N --stop-stage M):
#   1  train (resumable: init_from the release model)
#   2  average the newest checkpoints
#   3  greedy scoring; the release LM, its weights tuned for this model on the real dev set; LM scoring
#   4  bench/streaming.py: word latency, real-time factor, concurrent real-time streams
#   5  bundle it as the package's streaming model (asr/model/bundled_stream: fp16, gzipped LM, card)
set -euo pipefail

stage=1
stop_stage=5
nj=2
seed=0
data=data/release
release_exp=exp/release
exp=exp/stream
train_config=recipes/synth/conf/train_stream.yaml
train_args=""
average=3
decode_beam=500
realdev=../shared/realdev
bench_utts=100
bundle_dir=asr/model/bundled_stream

. "$(dirname "$0")/../utils.sh"   # log, timed
cd "$(dirname "$0")/../.."
. recipes/parse_options.sh

run=(bash recipes/synth/run.sh --nj "$nj" --seed "$seed" --data "$data" --exp "$exp" --train-config "$train_config"
     --decode-beam "$decode_beam" --realdev "$realdev")
model=$exp/bilstm_ctc/model

for need in "$data/feats/train_aug" "$release_exp/bilstm_ctc/model" "$release_exp/lm_3gram"; do
  [ -e "$need" ] || { log "missing $need: run recipes/synth/release.sh --stop-stage 5 first"; exit 1; }
done

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "Stage 1: fine-tune $release_exp/bilstm_ctc/model as an LC-BLSTM ($train_config), resumable"
  "${run[@]}" --stage 3 --stop-stage 3 \
    --train-args "resume=true init_from=$release_exp/bilstm_ctc/model $train_args"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "Stage 2: average the $average newest checkpoints into $model"
  timed asr average "$exp/bilstm_ctc" --last-checkpoints "$average" "$model.avg"
  rm -rf "$model" && mv "$model.avg" "$model"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "Stage 3 (run.sh 4-5, 7-8): greedy scoring; the release LM tuned for this model; LM scoring"
  "${run[@]}" --stage 4 --stop-stage 5
  rm -rf "$exp/lm_3gram" && cp -r "$release_exp/lm_3gram" "$exp/lm_3gram"
  "${run[@]}" --stage 7 --stop-stage 8
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  speed_set=$data/realdev
  [ -d "$speed_set" ] || speed_set=$data/test
  log "Stage 4: latency, real-time factor and concurrent streams on $speed_set"
  timed python bench/streaming.py "$model" "$speed_set" --max-utts "$bench_utts" --threads "$nj" \
    --json "$exp/streaming_bench.json"
  timed python bench/streaming.py "$model" "$speed_set" --max-utts "$((bench_utts / 2))" --threads "$nj" --beam \
    --streams "$nj" --json "$exp/streaming_bench_beam.json"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: bundle $model -> $bundle_dir"
  timed asr bundle "$model" "$bundle_dir" --exp "$exp" --data "$data" --command "bash recipes/synth/stream.sh"
  du -sh "$bundle_dir"
fi
log "Done."
