#!/usr/bin/env bash
# Does a multi-engine, augmented synthetic corpus generalize better than a clean eSpeak-only one?
# (issue #3). Models trained with the same recipe (conf/train.yaml) and the same compute budget
# (hours of training audio x epochs):
#   A            clean corpus, eSpeak only, --hours of it, the config's epochs
#   B_<engine>   every installed engine except <engine>, which is held out entirely, + augmentation;
#                --b-hours of it (default --hours), trained for epochs x hours / b_hours epochs
#                (a fraction ends the last epoch early), so that A and B process the same frames
# each scored (greedy) on
#   espeak       the held-out eSpeak variants (corpus A's test set: voices no model heard)
#   <engine>     every voice of a held-out engine (B_<engine>'s test_<engine>: an engine that neither A
#                nor B_<engine> heard: the proxy for generalization to new kinds of voice)
#   <engine>-v   held-out voices of an engine B_<other> trained on (its other voices) but A never heard
#
#   bash recipes/synth/engine_study.sh                        # flite and festival held out in turn, 6 h each
#   bash recipes/synth/engine_study.sh --hours 3 --heldout flite
#   bash recipes/synth/engine_study.sh --hours 15 --b-hours 18.75 --heldout festival   # B: A's eSpeak hours + 25 %
# Needs the Debian engines: apt-get install flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
set -euo pipefail

stage=0
stop_stage=4
nj=2
seed=0
hours=6                 # hours of training audio of A (and of B unless --b-hours), before augmentation
b_hours=""              # hours of training audio of the B models (default: hours); same compute either way
heldout="flite festival"
train_config=recipes/synth/conf/train.yaml
train_args=""
augment_config=recipes/synth/conf/augment.yaml   # "none": B trains on its clean multi-engine corpus
synth_args=""          # more asr synth-corpus options for every corpus, e.g. "--dev-utts 100 --test-utts 200"
aug_tag=aug             # B's augmented training set is <corpus>/train_<aug_tag> (another config: another tag)
models=""               # default: A and B_<e> for each held-out engine
data=data/study
exp=exp/study

. "$(dirname "$0")/../utils.sh"   # log, timed
cd "$(dirname "$0")/../.."
. recipes/parse_options.sh

mkdir -p "$exp"
b_hours=${b_hours:-$hours}
# B's epochs for the same frames as A: the config's epochs (with train_args applied) x hours / b_hours
# shellcheck disable=SC2086
b_epochs=$(python3 -c "import sys; from asr.config import load_config; from asr.train.trainer import TrainConfig
print(f'{load_config(TrainConfig, sys.argv[1], sys.argv[4:]).epochs * float(sys.argv[2]) / float(sys.argv[3]):.6g}')" \
  "$train_config" "$hours" "$b_hours" $train_args)
if [ -z "$models" ]; then
  models="A"
  for e in $heldout; do models="$models B_$e"; done
fi

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "Stage 0: corpora: A = eSpeak only, $hours h; B_<e> = all engines but <e>, $b_hours h"
  # shellcheck disable=SC2086
  timed asr synth-corpus --out-dir "$data/A" --engines espeak --train-hours "$hours" --nj "$nj" --seed "$seed" \
    $synth_args
  for e in $heldout; do
    # B's eSpeak utterances are A's wherever their indices overlap (same seed, same plan: the draws of an
    # utterance do not depend on the other engines), so hard-link A's audio in; synth-corpus reuses those
    # files and deletes the links it does not plan. Saves synthesis time and, for 100 h, ~10 GB of disk.
    for s in train dev test; do
      [ -d "$data/A/wav/$s" ] || continue
      mkdir -p "$data/B_$e/wav/$s"
      cp -al "$data/A/wav/$s/." "$data/B_$e/wav/$s/" 2>/dev/null \
        || log "some of $data/A/wav/$s was not hard-linked (another filesystem, or B has its own files): B synthesizes what it lacks"
    done
    # shellcheck disable=SC2086
    timed asr synth-corpus --out-dir "$data/B_$e" --engines espeak,piper,flite,festival --heldout-engines "$e" \
      --train-hours "$b_hours" --nj "$nj" --seed "$seed" $synth_args
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ] && [ "$augment_config" != none ]; then
  log "Stage 1: augment the B training sets ($augment_config); A stays clean"
  for e in $heldout; do
    timed asr augment "$data/B_$e/train" "$data/B_$e/train_$aug_tag" --config "$augment_config" --nj "$nj" \
      --seed "$seed"
  done
fi

train_dir() {
  if [ "$1" = A ] || [ "$augment_config" = none ]; then echo "$data/$1/train"; else echo "$data/$1/train_$aug_tag"; fi
}

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "Stage 2: features"
  for m in $models; do
    timed asr features "$(train_dir "$m")" "$data/$m/feats/$(basename "$(train_dir "$m")")" --nj "$nj" --cmvn
    timed asr features "$data/$m/dev" "$data/$m/feats/dev" --nj "$nj"
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "Stage 3: train every model with $train_config (same hours x epochs: B_<e> for $b_epochs epochs)"
  for m in $models; do
    epochs_arg=""
    [ "$m" = A ] || epochs_arg="epochs=$b_epochs"
    # shellcheck disable=SC2086
    timed asr train --config "$train_config" exp_dir="$exp/$m" train_data="$(train_dir "$m")" \
      train_feats="$data/$m/feats/$(basename "$(train_dir "$m")")" dev_data="$data/$m/dev" dev_feats="$data/$m/feats/dev" seed="$seed" $train_args $epochs_arg
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "Stage 4: evaluation sets, greedy decoding and scoring of every model on every set"
  sets="espeak=$data/A/test"
  for e in $heldout; do
    sets="$sets $e=$data/B_$e/test_$e"
    # B_<e>'s test set also holds held-out voices of the other engines it trained on.
    for o in flite festival piper; do
      [ "$o" = "$e" ] && continue
      if grep -q "^${o}_" "$data/B_$e/test/utt2spk" 2>/dev/null; then
        asr subset-data "$data/B_$e/test" "$data/eval/$o-v" --speaker-prefix "${o}_" >/dev/null
        case " $sets " in *" $o-v="*) ;; *) sets="$sets $o-v=$data/eval/$o-v" ;; esac
      fi
    done
  done
  table=$exp/results.md
  { echo "| model | $(for s in $sets; do printf '%s | ' "${s%%=*}"; done)"
    echo "|---|$(for _ in $sets; do printf -- '---|'; done)"; } > "$table.tmp"
  for m in $models; do
    row="| $m |"
    for s in $sets; do
      name=${s%%=*}; dir=${s#*=}
      out=$exp/$m/decode_$name
      asr decode "$exp/$m/model" "$dir" "$out" --greedy >/dev/null
      asr score "$dir/text" "$out/hyp.txt" --out-dir "$out" --data-dir "$dir" --title "$m on $name" > "$out/result.txt"
      row="$row $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(f\"{100*r['wer']['error_rate']:.1f} / {100*r['cer']['error_rate']:.1f}\")" "$out/summary.json") |"
    done
    echo "$row" >> "$table.tmp"
  done
  { echo "WER / CER (%), greedy; training audio: A $hours h, B $b_hours h ($b_epochs epochs); $train_config $train_args"; echo
    cat "$table.tmp"; } > "$table" && rm "$table.tmp"
  cat "$table"
fi
