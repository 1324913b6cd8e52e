"""``asr import <corpus> SRC OUT_DIR``: Kaldi-style data directories from real corpora.

One module per layout (librispeech, commonvoice, ljspeech, folder), each with an ``import_<layout>``
function and a docstring describing the layout it reads; :mod:`asr.data.importers.common` holds what
they share. Their command-line options are in :mod:`asr.data.commands`.
"""
