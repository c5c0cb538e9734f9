/** Plays rendered sound (from the toolkit's synthesiser) with Web Audio and reports the position. */

export interface RenderedAudio {
  sampleRate: number;
  channels: Float32Array[];
}

export interface PlayOptions {
  /** Where to start, in seconds. */
  from: number;
  /** Repeat from 0 to `loopEnd` seconds until stopped. */
  loop: boolean;
  /** End of the music (the sound's release tail is cut when looping). */
  loopEnd: number;
}

export class Player {
  private ctx: AudioContext | null = null;
  private source: AudioBufferSourceNode | null = null;
  private raf = 0;

  get playing(): boolean {
    return this.source !== null;
  }

  /**
   * Starts playback; `onPosition` gets the seconds into the music on every animation frame, and null
   * when the sound ends by itself (not when stop() is called).
   */
  async play(audio: RenderedAudio, options: PlayOptions, onPosition: (seconds: number | null) => void): Promise<void> {
    this.stop();
    this.ctx ??= new AudioContext();
    if (this.ctx.state === 'suspended') await this.ctx.resume();
    const ctx = this.ctx;
    const buffer = ctx.createBuffer(audio.channels.length, audio.channels[0].length, audio.sampleRate);
    audio.channels.forEach((ch, c) => buffer.copyToChannel(ch as Float32Array<ArrayBuffer>, c));
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    const loopEnd = Math.min(options.loopEnd, buffer.duration);
    if (options.loop) {
      source.loop = true;
      source.loopStart = 0;
      source.loopEnd = loopEnd;
    }
    source.connect(ctx.destination);
    const from = Math.max(0, Math.min(options.from, buffer.duration));
    const startedAt = ctx.currentTime + 0.05;
    source.start(startedAt, from);
    this.source = source;
    source.onended = () => {
      if (this.source !== source) return;
      this.stop();
      onPosition(null);
    };
    const tick = (): void => {
      if (this.source !== source) return;
      let at = from + Math.max(0, ctx.currentTime - startedAt);
      if (options.loop && loopEnd > 0 && at >= loopEnd) at %= loopEnd;
      onPosition(at);
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    const s = this.source;
    this.source = null;
    if (s) {
      s.onended = null;
      try {
        s.stop();
      } catch {
        // already stopped
      }
    }
  }
}
