import { frameSeconds, type FrameTiming } from '../data/pianoroll.js';
import { UserError } from '../errors.js';
import { MAX_AUDIO_SECONDS } from '../limits.js';

/** Refuses to render more than MAX_AUDIO_SECONDS of audio (the samples are held in memory). */
export function checkAudioDuration(frames: number, timing: FrameTiming): void {
  const seconds = frames * frameSeconds(timing);
  if (!(seconds <= MAX_AUDIO_SECONDS)) {
    throw new UserError(
      `${frames} frames of ${frameSeconds(timing).toFixed(3)} s are ${(seconds / 60).toFixed(1)} minutes of audio; ` +
        `WAV files are rendered up to ${MAX_AUDIO_SECONDS / 60} minutes (docs/limits.md): use fewer frames or leave out wav`,
    );
  }
}
