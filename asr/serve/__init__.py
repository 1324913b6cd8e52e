"""``asr serve``: an OpenAI-compatible transcription server (``POST /v1/audio/transcriptions``) and a browser page.

Modules: config (ServeConfig: limits, workers, batching), errors (OpenAI's error shape), engine
(audio decoding off the event loop, and concurrent requests' segments batched into one forward
pass), openai_format (json/text/srt/vtt/verbose_json bodies), upload (multipart parsing under a size
limit, temporary files), app (the Starlette routes), server (uvicorn, in the foreground or a
background thread), commands (``asr serve``), static/index.html (the page at ``/``).

Starlette, uvicorn and python-multipart are the ``asr[serve]`` extra: only the run functions import them.
"""
