#!/usr/bin/env bash
# The release recipe: the model shipped inside the package (asr/model/bundled_model/, `asr transcribe FILE`),
# made from a fresh clone with one command:
#
#   bash recipes/synth/install_deps.sh && pip install -e '.[test,piper,hibari]' && bash recipes/synth/release.sh
#
# It is run.sh with more of everything (40 h of speech from every engine, a 3x256 model trained in three
# rounds on 2 CPU cores: 2.1 epochs, then 2.7 and 2.4 more, each round from the previous one's averaged
# weights with the learning rate restarted; checkpoint averaging), an LM over general English as well as
# books, then the bundle: fp16 weights, the tuned decode.json, the pruned LM in KenLM's binary form gzipped,
# and a model card with the measured figures. Training checkpoints every 400 steps; after an interruption,
# `--stage 3` (round 1) or `--stage 4` (rounds 2 and 3) resumes it exactly.
#
#   bash recipes/synth/release.sh --stage 3            # resume round 1, then everything after it
#   bash recipes/synth/release.sh --stage 4            # resume rounds 2-3, then everything after it
#   bash recipes/synth/release.sh --stage 5            # LM, tuning, scoring, the bundle
#   bash recipes/synth/release.sh --train-config recipes/synth/conf/train_gpu.yaml --more-config "" \
#       --train-hours 120 --nj 16
#
# Stages: 0-2 run.sh's (corpus, validation, features); 3 training round 1 (resumable); 4 average it, then
# each --more-config round from the previous average (resumable; --more-config "" for none), the last
# average becoming the model; 5 run.sh's 4-8
# (greedy and LM scoring, the LM, its tuning on the real dev set); 6 the bundle into $bundle_dir, with
# its card.
set -euo pipefail
# The model card's command: this one's options, less --stage/--stop-stage (a resumed run is the same run).
cmdline="bash recipes/synth/release.sh"
_args=("$@")
for ((i = 0; i < ${#_args[@]}; i += 2)); do
  case "${_args[i]}" in --stage|--stop-stage) ;; *) cmdline+=" ${_args[i]} ${_args[i + 1]:-}" ;; esac
done

stage=0
stop_stage=6
nj=2
seed=0
train_hours=40
train_config=recipes/synth/conf/train_release.yaml
more_config="recipes/synth/conf/train_release_round2.yaml recipes/synth/conf/train_release_round3.yaml"  # rounds 2, 3 ("" for none)
train_args=""
average=5            # newest checkpoints averaged, per round (every 400 steps: the end of its cosine decay)
data=data/release
exp=exp/release
# General English for the shipped LM, not only the books the real dev set reads: every WordNet example
# sentence and fortune-cookie saying shipped in asr/data/text (the corpus' prompts: short, modern, some
# of them commands and questions), not only those trained on, besides the books and GCIDE.
lm_sources=gcide-quotes,gcide-notes,austen,moby
lm_include="asr/data/text/wordnet_sentences.txt asr/data/text/fortune_sentences.txt"
lm_weights=1.5,1.75,2,2.25   # stage 5's alpha grid (round 1 picked 2, the edge of run.sh's 1.5,1.75,2)
decode_beam=500      # the shipped beam width (decode.json): RTF <= 0.05 on 2 cores (run.sh: 1000)
lm_prune=1           # drop n-grams (order >= 2) seen at most this often before estimating: a smaller bundle
bundle_dir=asr/model/bundled_model
realdev=../shared/realdev

. "$(dirname "$0")/../utils.sh"   # log, timed
cd "$(dirname "$0")/../.."
. recipes/parse_options.sh

run=(bash recipes/synth/run.sh --nj "$nj" --seed "$seed" --train-hours "$train_hours" --data "$data" --exp "$exp"
     --train-config "$train_config" --lm-sources "$lm_sources" --lm-include "$lm_include" --decode-beam "$decode_beam" --lm-weights "$lm_weights"
     --realdev "$realdev")
model=$exp/bilstm_ctc/model

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 0 ]; then
  log "Stages 0-2 (run.sh): $train_hours h of synthetic speech, validation, features -> $data"
  "${run[@]}" --stage "$stage" --stop-stage "$((stop_stage < 2 ? stop_stage : 2))"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # resume=true: a rerun after an interruption continues from the newest checkpoint (bit-exact);
  # with none in $exp/bilstm_ctc it starts from scratch.
  log "Stage 3: train ($train_config), resumable"
  "${run[@]}" --stage 3 --stop-stage 3 --train-args "resume=true $train_args"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  # The trainer exports the best-dev-WER epoch as $model; keep it as $model.best_epoch.
  [ -d "$model.best_epoch" ] || cp -r "$model" "$model.best_epoch"
  prev=$exp/bilstm_ctc/model.round1
  if [ ! -d "$prev" ]; then
    log "Stage 4: average round 1's $average newest checkpoints into $prev"
    timed asr average "$exp/bilstm_ctc" --last-checkpoints "$average" "$prev.tmp" && mv "$prev.tmp" "$prev"
  fi
  # Each further round restarts the learning rate from the previous round's averaged weights.
  n=2
  for config in $more_config; do
    dir=$exp/round$n/bilstm_ctc
    log "Stage 4: round $n ($config) from $prev -> $dir, resumable"
    "${run[@]}" --stage 3 --stop-stage 3 --exp "$exp/round$n" --train-config "$config" \
      --train-args "resume=true init_from=$prev $train_args"
    if [ ! -d "$dir/model.average" ]; then
      log "Stage 4: average round $n's $average newest checkpoints into $dir/model.average"
      timed asr average "$dir" --last-checkpoints "$average" "$dir/model.average.tmp"
      mv "$dir/model.average.tmp" "$dir/model.average"
    fi
    prev=$dir/model.average
    n=$((n + 1))
  done
  rm -rf "$model.tmp" && cp -r "$prev" "$model.tmp" && rm -rf "$model" && mv "$model.tmp" "$model"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5 (run.sh 4-8): greedy scoring, the LM, its weights tuned on the real dev set, LM scoring"
  "${run[@]}" --stage 4 --stop-stage 8 --lm-args "--prune $lm_prune"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: bundle $model -> $bundle_dir (fp16 weights, gzipped LM), measure its speed, write its card"
  # The LM ships in KenLM's binary form (loads in milliseconds, not ~0.5 s): its build_binary is compiled once.
  bash recipes/tools/install_kenlm.sh || log "no KenLM build_binary: the LM ships as ARPA text"
  bundle=(asr bundle "$model" "$bundle_dir" --exp "$exp" --data "$data" --command "$cmdline")
  timed "${bundle[@]}"
  speed_set=$data/realdev
  [ -d "$speed_set" ] || speed_set=$data/test
  timed python bench/bundled.py "$speed_set" --model "$bundle_dir" --threads "$nj" --json "$exp/bundled_speed.json"
  "${bundle[@]}" --speed "$exp/bundled_speed.json"
  du -sh "$bundle_dir"
fi
log "Done."
