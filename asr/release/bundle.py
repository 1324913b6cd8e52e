"""``asr bundle``: a trained, LM-tuned model directory made into the package's shipped model.

    asr bundle exp/release/bilstm_ctc/model asr/model/bundled_model --exp exp/release --data data/release

What it writes (``OUT``, replaced as a whole: built beside it, then renamed):

    model.safetensors   the weights in float16 (the CMVN buffers stay float32); loaded back into float32
    config.json, tokens.txt (bpe.model)     as in the model directory
    decode.json         the tuned beam search, its LM and lexicon named by their unpacked names
    lm.bin.gz, lexicon.txt.gz               the LM (KenLM's binary form, which loads in milliseconds: with
                                            --kenlm-build-binary, else lm.arpa.gz) and lexicon, gzipped
                                            (asr.model.bundled unpacks them once)
    card.json, README.md                    the model card (asr.release.card)

The card's figures are read from the release run's outputs (``--exp``, ``--data``) and from
``--speed`` (bench/bundled.py's JSON), never typed in.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from pathlib import Path

from asr.decode.config import DECODE_JSON, load_decode_config, weights_digest
from asr.decode.kenlm_binary import BINARY_NAME, build_kenlm_binary, is_kenlm_binary
from asr.io import atomic_write_text
from asr.model.bundled import CARD_JSON, CARD_README, GZ
from asr.model.layout import CONFIG_JSON, TOKENS, WEIGHTS
from asr.release.card import collect_card, render_card
from asr.text.bpe import BPE_MODEL

log = logging.getLogger(__name__)

PACKED_LM = "lm.arpa"  # without KenLM's build_binary; with it, BINARY_NAME
PACKED_LEXICON = "lexicon.txt"


def _fp16_weights(src: Path, dst: Path) -> int:
    """Write ``src``'s weights with every parameter in float16; return the parameter count."""
    import torch
    from safetensors.torch import load_file, save_file

    from asr.model.ctc_model import CTCModel
    from asr.model.encoder import ModelConfig

    meta = json.loads((src.parent / CONFIG_JSON).read_text())
    params = {name for name, _ in CTCModel(ModelConfig(**meta["model"])).named_parameters()}
    state = load_file(str(src))
    missing = params - set(state)
    if missing:
        raise ValueError(f"{src}: weights lack parameters {sorted(missing)[:5]} (not this config's model?)")
    out = {k: (v.to(torch.float16) if k in params and v.is_floating_point() else v).contiguous()
           for k, v in state.items()}
    save_file(out, str(dst))
    return sum(state[k].numel() for k in params)


def _gzip(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, gzip.GzipFile(dst, "wb", compresslevel=9, mtime=0) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def bundle_model(model_dir: str | os.PathLike, out_dir: str | os.PathLike, exp: str | os.PathLike | None = None,
                 data: str | os.PathLike | None = None, command: str = "",
                 speed: str | os.PathLike | None = None, build_binary: str | os.PathLike | None = None) -> dict:
    """Write the bundle of ``model_dir`` to ``out_dir``; return its card. ``build_binary``: KenLM's tool
    (asr.decode.kenlm_binary.find_build_binary), to ship the LM in binary form."""
    src, out = Path(model_dir), Path(out_dir)
    for name in (CONFIG_JSON, WEIGHTS, TOKENS):
        if not (src / name).is_file():
            raise FileNotFoundError(f"{src}: not a model directory (missing {name})")
    decode = load_decode_config(src)
    if decode is None or not decode.lm:
        raise ValueError(f"{src}: no tuned LM in decode.json (run `asr tune-lm` first): the bundle ships one")
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        n_params = _fp16_weights(src / WEIGHTS, tmp / WEIGHTS)
        for name in (CONFIG_JSON, TOKENS, BPE_MODEL):
            if (src / name).is_file():
                shutil.copy2(src / name, tmp / name)
        lm, converted = Path(decode.lm), None
        if not is_kenlm_binary(lm) and build_binary is not None:
            lm = converted = build_kenlm_binary(lm, tmp / BINARY_NAME, build_binary)
        elif not is_kenlm_binary(lm):
            log.warning("no KenLM build_binary: the LM ships as ARPA text, which loads ~0.5 s slower "
                        "(recipes/tools/install_kenlm.sh)")
        lm_name = BINARY_NAME if is_kenlm_binary(lm) else PACKED_LM
        _gzip(lm, tmp / (lm_name + GZ))
        if converted is not None:
            converted.unlink()  # only its gzipped copy ships
        if decode.lexicon:
            _gzip(Path(decode.lexicon), tmp / (PACKED_LEXICON + GZ))
        tuned = json.loads((src / DECODE_JSON).read_text())
        tuned.update(lm=lm_name, lexicon=PACKED_LEXICON if decode.lexicon else "",
                     weights_sha256=weights_digest(tmp), float32_weights_sha256=tuned.get("weights_sha256", ""))
        atomic_write_text(tmp / DECODE_JSON, json.dumps(tuned, indent=2) + "\n")
        card = collect_card(src, tmp, exp=exp, data=data, command=command, speed=speed, parameters=n_params)
        atomic_write_text(tmp / CARD_JSON, json.dumps(card, indent=2) + "\n")
        atomic_write_text(tmp / CARD_README, render_card(card))
        os.chmod(tmp, 0o755)
        for p in tmp.iterdir():
            os.chmod(p, 0o644)  # package data readable by everyone (safetensors writes 0600)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: %d files, %.1f MB", out, len(list(out.iterdir())), card["bundle"]["megabytes"])
    return card
