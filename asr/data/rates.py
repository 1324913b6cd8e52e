"""The audio sample rates the tools accept; no audio library imported (feature configurations need them
on machines that train from stored features, without soundfile)."""

# Below, a header is wrong (a 1 Hz "wav" would be read as hours of audio); above, no recording
# equipment writes it.
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384000
