#!/usr/bin/env bash
# LibriSpeech recipe: import -> speed perturbation -> BPE units -> features -> BiLSTM-CTC -> (LM) -> decode -> WER.
#
#   bash recipes/librispeech/run.sh --data-root /corpora            # /corpora/LibriSpeech/<split>/...
#   bash recipes/librispeech/run.sh --data-root /corpora --stage 4 --stop-stage 7
#   bash recipes/librispeech/run.sh --data-root /corpora --units char --speed-perturb false
#   bash recipes/librispeech/run.sh --data-root /corpora --train-cmd "torchrun --nproc-per-node 8 -m asr.cli train"
#
# Every split found under LibriSpeech/ is imported; training uses those of --train-sets that exist.
# Scale-out (N GPUs, Slurm) and disk/time budgets: recipes/librispeech/README.md.
set -euo pipefail

stage=0
stop_stage=7
data_root=""         # folder holding LibriSpeech/ (or LibriSpeech/ itself), as extracted from openslr.org/12
lm_text=""           # librispeech-lm-norm.txt (openslr.org/11); default: <data_root>/librispeech-lm-norm.txt if there
nj=8                 # parallel processes/threads for import, perturbation and features
units=bpe            # bpe | char
vocab_size=500       # BPE pieces (<blk> and <unk> included)
speed_perturb=true   # add 0.9x and 1.1x copies of the training audio (pre-generated FLAC, see asr/data/perturb.py)
train_sets="train-clean-100 train-clean-360 train-other-500"
dev_sets="dev-clean dev-other"                             # combined into one dev set for model selection
decode_sets="dev-clean dev-other test-clean test-other"
train_config=recipes/librispeech/conf/train.yaml
train_args=""        # extra key=value overrides for asr train
train_cmd="asr train"  # e.g. "torchrun --nproc-per-node 8 -m asr.cli train" (README.md: scale-out)
feature_shard=""     # I/N: stage 3 computes only shard I of N of the training features (a Slurm array task)
lm_order=4
lm_sentences=300000  # LM text: a random subset of this many sentences (~6M words) of --lm-text; 0: all of it
beam=50
data=data/librispeech
exp=exp/librispeech

. "$(dirname "$0")/../utils.sh"   # log, timed
cd "$(dirname "$0")/../.."   # run from the repository root
. recipes/parse_options.sh

existing() { local s out=""; for s in "$@"; do [ -d "$data/$s" ] && out="$out $s"; done; echo "$out"; }

case "$units" in
  bpe) lang="$data/lang_bpe_$vocab_size"; unit_tag="bpe$vocab_size" ;;
  char) lang="$data/lang_char"; unit_tag="char" ;;
  *) echo "--units must be bpe or char, got $units" >&2; exit 2 ;;
esac
train_dir=$data/train; [ "$speed_perturb" = true ] && train_dir=$data/train_sp
exp_dir=$exp/bilstm_ctc_$unit_tag
if [ -z "$lm_text" ] && [ -n "$data_root" ] && [ -f "$data_root/librispeech-lm-norm.txt" ]; then
  lm_text=$data_root/librispeech-lm-norm.txt
fi
lm_dir=$data/lm_${lm_order}gram
mkdir -p "$exp_dir"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$data_root" ] || { echo "stage 0 needs --data-root (the folder holding LibriSpeech/)" >&2; exit 2; }
  log "Stage 0: import every LibriSpeech split under $data_root into $data/<split>"
  timed asr import librispeech "$data_root" "$data" --nj "$nj"
  # The importer opened every audio file already (utt2dur); here only the data-dir files are checked.
  # shellcheck disable=SC2046
  asr validate-data --no-audio $(for s in $(existing $train_sets $dev_sets $decode_sets); do echo "$data/$s"; done)
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "Stage 1: one training set ($(existing $train_sets)), one dev set ($(existing $dev_sets))"
  [ -n "$(existing $train_sets)" ] || { echo "none of --train-sets '$train_sets' is in $data" >&2; exit 1; }
  [ -n "$(existing $dev_sets)" ] || { echo "none of --dev-sets '$dev_sets' is in $data" >&2; exit 1; }
  # shellcheck disable=SC2046
  asr combine-data "$data/train" $(for s in $(existing $train_sets); do echo "$data/$s"; done)
  # shellcheck disable=SC2046
  asr combine-data "$data/dev" $(for s in $(existing $dev_sets); do echo "$data/$s"; done)
  if [ "$speed_perturb" = true ]; then
    log "speed perturbation 0.9/1.1: copies under $data/train_sp/audio (resumable)"
    timed asr speed-perturb "$data/train" "$data/train_sp" --factors 0.9 1.1 --nj "$nj"
  fi
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "Stage 2: $units units from the training transcripts -> $lang"
  # Units come from the unperturbed transcripts: the copies repeat the same text.
  timed asr tokenizer --type "$units" --vocab-size "$vocab_size" "$data/train" "$lang"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  train_feats=$data/feats/$(basename "$train_dir")
  if [ -n "$feature_shard" ]; then
    log "Stage 3: shard $feature_shard of the features of $train_dir (merged by a later plain stage 3)"
    timed asr features "$train_dir" "$train_feats" --shard "$feature_shard"
    exit 0
  fi
  log "Stage 3: log-mel features of $train_dir (with CMVN) and $data/dev"
  # Shards already computed (by --feature-shard runs, or before an interruption) are reused, then merged.
  # Decoding reads audio directly, so the test sets need no stored features.
  timed asr features "$train_dir" "$train_feats" --nj "$nj" --cmvn
  timed asr features "$data/dev" "$data/feats/dev" --nj "$nj"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "Stage 4: train BiLSTM-CTC ($train_cmd) -> $exp_dir"
  # shellcheck disable=SC2086
  timed $train_cmd --config "$train_config" exp_dir="$exp_dir" \
    train_data="$train_dir" train_feats="$data/feats/$(basename "$train_dir")" \
    dev_data="$data/dev" dev_feats="$data/feats/dev" units="$units" tokenizer_dir="$lang" $train_args
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  if [ -z "$lm_text" ]; then
    log "Stage 5: no --lm-text (librispeech-lm-norm.txt): no LM, greedy decoding only"
  else
    mkdir -p "$lm_dir"
    lm_train=$lm_text
    if [ "$lm_sentences" -gt 0 ]; then
      # asr lm keeps its n-gram counts in Python dicts (asr/decode/ngram_lm.py): a few million words, not
      # the 800M of librispeech-lm-norm.txt. A fixed random subset of sentences keeps every book's style.
      lm_train=$lm_dir/lm_text.txt
      shuf -n "$lm_sentences" --random-source=<(yes) "$lm_text" > "$lm_train"
    fi
    log "Stage 5: ${lm_order}-gram word LM from $lm_train -> $lm_dir"
    timed asr lm "$lm_train" "$lm_dir" --order "$lm_order"
    # BPE or characters alike: the beam search re-spells the lexicon's words in the model's units.
    log "Stage 5: tune the LM weight and word score on $data/dev (stored in $exp_dir/model/decode.json)"
    timed asr tune-lm "$exp_dir/model" "$data/dev" --lm "$lm_dir" --beam "$beam"
  fi
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  for t in $(existing $decode_sets); do
    log "Stage 6: greedy decoding of $t"
    timed asr decode "$exp_dir/model" "$data/$t" "$exp_dir/decode_${t}_greedy" --greedy
    if [ -f "$lm_dir/lm.arpa" ]; then
      log "Stage 6: beam search (beam $beam) with the ${lm_order}-gram LM (tuned alpha/beta) on $t"
      timed asr decode "$exp_dir/model" "$data/$t" "$exp_dir/decode_${t}_beam${beam}_lm${lm_order}" \
        --beam "$beam" --lm "$lm_dir"
    fi
  done
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  for t in $(existing $decode_sets); do
    for d in "$exp_dir"/decode_"${t}"_*; do
      [ -f "$d/hyp.txt" ] || continue
      log "Stage 7: scoring $(basename "$d")"
      asr score "$data/$t/text" "$d/hyp.txt" --out-dir "$d" --data-dir "$data/$t" | tee "$d/result.txt"
    done
  done
  python recipes/librispeech/local/fill_results.py --template recipes/librispeech/RESULTS.md \
    --exp-dir "$exp_dir" --train-dir "$train_dir" --train-sets "$(existing $train_sets)" \
    --dev-sets "$(existing $dev_sets)" --lang "$lang" --out "$exp_dir/RESULTS.md"
  log "results: $exp_dir/RESULTS.md"
fi
log "Done."
