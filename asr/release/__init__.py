"""Release: a trained model made into the package's shipped model (``asr bundle``), its card, ``asr models``."""
