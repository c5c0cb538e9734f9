/**
 * Every resource limit the toolkit enforces, in one place (docs/limits.md lists them with the error a
 * user sees). Each bounds memory or time that untrusted input (a flag, a dataset, a model file)
 * could otherwise make unbounded.
 */

/** Threads for matrix products and native kernels (--threads, RWKV_MUSIC_THREADS). */
export const MAX_THREADS = 256;

/** Frames generated per sample (generate, compare, demo --length). */
export const MAX_GENERATED_FRAMES = 1_000_000;

/** Samples drawn at once (generate --count). */
export const MAX_SAMPLE_COUNT = 10_000;

/** Seconds of audio in one rendered WAV file (about 100 MB of stereo samples while rendering). */
export const MAX_AUDIO_SECONDS = 600;

/** Frames of one imported MIDI piece (data import --max-frames). */
export const MAX_PIECE_FRAMES = 100_000;

/** Bytes of a dataset file after gzip decompression. */
export const MAX_DATASET_BYTES = 256 * 1024 * 1024;

/** Weights in one model (its config is checked against this before anything is allocated). */
export const MAX_MODEL_PARAMETERS = 100_000_000;

/** Bytes of a model file the studio serves (the page loads it whole). */
export const MAX_MODEL_FILE_BYTES = 1024 * 1024 * 1024;

/** Bytes of a metrics.jsonl the studio reads. */
export const MAX_METRICS_BYTES = 64 * 1024 * 1024;

/** Bytes of a card.json (or a run's config.json / state.json) read. */
export const MAX_SMALL_FILE_BYTES = 1024 * 1024;
