#!/usr/bin/env bash
# Synthetic-speech recipe, end to end on a fresh machine: TTS corpus -> features -> BiLSTM-CTC -> WER.
#
#   bash recipes/synth/run.sh                      # all stages
#   bash recipes/synth/run.sh --stage 3 --stop-stage 5
#   bash recipes/synth/run.sh --train-hours 1 --train-args "epochs=3"
#   bash recipes/synth/run.sh --stage 6 --stop-stage 8    # LM, tune on the real dev set, decode the test sets
#
# Stages: 0 the real-speech dev set, book sentences, the corpus, its augmented copy; 1 validate, 2 features, 3 train,
#         4 greedy decode of the test sets, 5 score them (+ reports), 6 n-gram LM, 7 tune LM weight/word score,
#         8 LM beam search on the test sets + score, 9 transcribe.
# Test sets: the synthetic test set (held-out voices) and, when --realdev names a folder of real human
# speech with a manifest.tsv (file, seconds, speaker, gender, transcript) or a data dir, that real dev
# set: the measure that matters. It is never trained on; the LM weights are tuned on it when it is there.
# `bash recipes/synth/install_deps.sh` (root) installs the Debian TTS engines and LM texts it uses.
set -euo pipefail

stage=0
stop_stage=9
nj=2
seed=0
# TTS engines, those installed among them (the log says which), and their shares (voices). eSpeak is pip's,
# Piper (the neural voice: real dev greedy WER -1.8 at a 1/6 share, README: Real speech) and hibari (Kokoro's
# af_heart distilled: -7 points with the LM at 41%) pip's extras (pip install -e '.[piper,hibari]');
# Flite, RHVoice, MBROLA and Pico come from Debian (bash recipes/synth/install_deps.sh).
# Festival (~16 h of audio per hour on 2 cores) would take most of the 30 minutes: `--engines ...,festival` adds it.
engines=espeak,flite,rhvoice,mbrola,pico,piper,hibari
voices=recipes/synth/conf/voices_real.yaml
# Extra asr synth-corpus flags. hibari's own voice alone, at rates 0.85-1.15: real dev 64.7% with the LM
# against 66.4% with its 200 converted speakers (README: Real speech, d10 and d9).
synth_args="--hibari-voices 0 --hibari-speed 0.85,1.15"
# Engines that read sentences of books (asr lm-text's sources, 10-30 words, the real dev set's left out) instead
# of the short WordNet examples: hibari reading them, real dev 60.7% with the LM against 64.7% (README: Real
# speech, the long-sentence study). book_sources="": every engine reads the WordNet examples.
book_sources=austen,gcide-quotes,moby
book_engines=hibari,piper
train_hours=13       # hours of synthetic training speech (15 h took 31-32 min on 2 cores: README)
dev_utts=200
test_utts=300
augment_config=recipes/synth/conf/augment_real.yaml  # channel realism (room, noise, mic, codec); "none": clean
train_config=recipes/synth/conf/train.yaml
train_args=""        # extra key=value overrides for asr train
ngpu=1               # training processes (GPUs); > 1 runs torchrun --nproc-per-node (DistributedDataParallel)
data=data/synth
exp=exp/synth
lm_order=3           # word n-gram LM (interpolated modified Kneser-Ney): training text + lm_sources
lm_include=""        # more LM text (files, one sentence a line; data dirs), besides the training text
lm_args=""           # extra asr lm flags, e.g. "--prune 1" (release.sh: a smaller LM to ship)
lm_sources=gcide-quotes,gcide-notes,austen,moby  # asr lm-text (Debian dict-gcide, r-cran-janeaustenr, r-cran-tokenizers); "": training text only
beam=200                # stage 7 tunes at this width (the grid decodes the tuning set once per point) ...
decode_beam=1000        # ... and stage 8 and `asr transcribe` decode at this one (real dev, d12: beam 500 61.9%, 1000 61.3%)
lm_weights=1.5,1.75,2   # stage 7's grid: LM weight alpha x word score beta (d12 at beam 500: alpha 1 63.9%, 1.25 62.4%,
word_scores=0           # 1.5 61.9%, 1.75 61.4%; beta 0.5 and 1 lost at 1.75 and 2; alpha 1 and beta -1 never won before)
realdev=../shared/realdev   # real human speech, evaluation only (README: *Real speech*); "" or missing: skipped

. "$(dirname "$0")/../utils.sh"   # log, timed
cd "$(dirname "$0")/../.."   # run from the repository root
. recipes/parse_options.sh

mkdir -p "$exp"
train_set=train   # what stage 2 and 3 use: the augmented copy of train unless --augment-config none
[ "$augment_config" != none ] && train_set=train_aug
test_sets=(test)
if [ -n "$realdev" ] && { [ -f "$realdev/manifest.tsv" ] || [ -f "$realdev/wav.scp" ]; }; then
  test_sets+=(realdev)
else
  log "no real dev set (${realdev:-none given}: neither manifest.tsv nor a data dir): scoring the synthetic test set only"
fi

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  mkdir -p "$data"
  if [[ " ${test_sets[*]} " == *" realdev "* ]]; then
    log "Stage 0: the real dev set $realdev -> $data/realdev (evaluation only)"
    if [ -f "$realdev/wav.scp" ]; then   # a data dir, e.g. from asr import librispeech
      asr subset-data "$realdev" "$data/realdev" --first 1000000000
    else                                 # a folder of audio + manifest.tsv (file, seconds, speaker, gender, text)
      asr import folder "$realdev" "$data/realdev" --transcripts "$realdev/manifest.tsv" \
        --speaker-from column --speaker-column speaker
    fi
  fi
  engine_prompts=()
  if [ -n "$book_sources" ] && [ -n "$book_engines" ]; then
    log "Stage 0: book sentences ($book_sources) for $book_engines to read -> $data/book_prompts.txt"
    # The real dev set's sentences are left out: it is never trained on, its text included.
    exclude=()
    [[ " ${test_sets[*]} " == *" realdev "* ]] && exclude=(--exclude "$data/realdev")
    if timed asr lm-text "$data/book_prompts.txt" --sources "$book_sources" "${exclude[@]}"; then
      pairs=""
      for e in ${book_engines//,/ }; do pairs+="${pairs:+,}$e=$data/book_prompts.txt"; done
      engine_prompts=(--engine-prompts "$pairs")
    else
      log "the book text sources are not installed (bash recipes/synth/install_deps.sh): every engine reads the prompts"
    fi
  fi
  log "Stage 0: synthesize the corpus ($train_hours h train, $dev_utts dev, $test_utts test utterances)"
  # shellcheck disable=SC2086
  timed asr synth-corpus --out-dir "$data" --train-hours "$train_hours" --dev-utts "$dev_utts" \
    --test-utts "$test_utts" --nj "$nj" --seed "$seed" --engines "$engines" --voices "$voices" \
    "${engine_prompts[@]}" $synth_args
  if [ "$augment_config" != none ]; then
    log "Stage 0: augment the training set ($augment_config): one copy replaces each utterance -> $data/train_aug"
    timed asr augment "$data/train" "$data/train_aug" --config "$augment_config" --nj "$nj" --seed "$seed" \
      --audio-dir "$data/wav/train_aug"
  fi
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "Stage 1: validate the data directories"
  timed asr validate-data "$data/$train_set" "$data/dev" "${test_sets[@]/#/$data/}"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "Stage 2: log-mel features and global CMVN"
  timed asr features "$data/$train_set" "$data/feats/$train_set" --nj "$nj" --cmvn
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
    train_data="$data/$train_set" train_feats="$data/feats/$train_set" \
    dev_data="$data/dev" dev_feats="$data/feats/dev" seed="$seed" $train_args
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for set in "${test_sets[@]}"; do
    log "Stage 4: greedy decoding of $set"
    # --greedy: the model directory may already hold a tuned LM setup (stage 7) that would be used by default.
    timed asr decode "$exp/bilstm_ctc/model" "$data/$set" "$exp/decode_${set}_greedy" --greedy
  done
fi

score() {  # score SET DECODE_DIR TITLE: WER/CER, reports, and the one-line result in DECODE_DIR/result.txt
  asr score "$data/$1/text" "$2/hyp.txt" --out-dir "$2" --data-dir "$data/$1" --title "$3" | tee "$2/result.txt"
}

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: scoring"
  for set in "${test_sets[@]}"; do
    score "$set" "$exp/decode_${set}_greedy" "$set, greedy"
    log "per-utterance alignments: $exp/decode_${set}_greedy/per_utt.txt; report: $exp/decode_${set}_greedy/report.html"
  done
fi

lm_dir=$exp/lm_${lm_order}gram
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: ${lm_order}-gram word LM: training text + ${lm_sources:-nothing else} -> $lm_dir"
  # The text stays outside $lm_dir (tune-lm copies the ARPA and lexicon into the model dir, not the text).
  # Every evaluation set is excluded: books are read in real corpora, and an LM must not hold the test text.
  # shellcheck disable=SC2206
  lm_text=(asr lm-text "$exp/lm_text.txt" --include "$data/train" $lm_include --exclude "$data/dev" "${test_sets[@]/#/$data/}")
  if ! timed "${lm_text[@]}" --sources "$lm_sources"; then
    log "the LM text sources are not installed (bash recipes/synth/install_deps.sh): training text only"
    timed "${lm_text[@]}" --sources ""
  fi
  # shellcheck disable=SC2086
  timed asr lm "$exp/lm_text.txt" "$lm_dir" --order "$lm_order" --normalized $lm_args  # lm-text wrote it normalized
fi

tune_set=dev
[[ " ${test_sets[*]} " == *" realdev "* ]] && tune_set=realdev
if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  log "Stage 7: tune the LM weight and word score on $tune_set (written to $exp/bilstm_ctc/model/decode.json)"
  timed asr tune-lm "$exp/bilstm_ctc/model" "$data/$tune_set" --lm "$lm_dir" --beam "$beam" \
    --decode-beam "$decode_beam" --lm-weights "$lm_weights" --word-scores="$word_scores" \
    | tee "$exp/bilstm_ctc/tune_lm.txt"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  for set in "${test_sets[@]}"; do
    log "Stage 8: beam search with the LM (tuned setup from decode.json) on $set, and scoring"
    lm_decode=$exp/decode_${set}_beam${decode_beam}_lm${lm_order}
    timed asr decode "$exp/bilstm_ctc/model" "$data/$set" "$lm_decode"
    score "$set" "$lm_decode" "$set, beam $decode_beam + ${lm_order}-gram LM"
  done
  for set in "${test_sets[@]}"; do
    log "$set greedy:  $(cat "$exp/decode_${set}_greedy/result.txt" 2>/dev/null || echo 'not scored (stage 5)')"
    log "$set LM beam: $(cat "$exp/decode_${set}_beam${decode_beam}_lm${lm_order}/result.txt")"
  done
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
