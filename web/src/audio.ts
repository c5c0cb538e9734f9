/** Plays rendered sound (from the toolkit's synthesiser) with Web Audio and reports the position. */

export interface RenderedAudio {
  sampleRate: number;
  channels: Float32Array[];
}

export class Player {
  private ctx: AudioContext | null = null;
  private source: AudioBufferSourceNode | null = null;
  private raf = 0;

  get playing(): boolean {
    return this.source !== null;
  }

  /** Starts playback; `onPosition` gets the seconds played on every animation frame, and null at the end. */
  async play(audio: RenderedAudio, onPosition: (seconds: number | null) => void): Promise<void> {
    this.stop();
    this.ctx ??= new AudioContext();
    if (this.ctx.state === 'suspended') await this.ctx.resume();
    const ctx = this.ctx;
    const buffer = ctx.createBuffer(audio.channels.length, audio.channels[0].length, audio.sampleRate);
    audio.channels.forEach((ch, c) => buffer.copyToChannel(ch as Float32Array<ArrayBuffer>, c));
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const startedAt = ctx.currentTime + 0.05;
    source.start(startedAt);
    this.source = source;
    source.onended = () => {
      if (this.source === source) this.stop();
      onPosition(null);
    };
    const tick = (): void => {
      if (this.source !== source) return;
      onPosition(Math.max(0, ctx.currentTime - startedAt));
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
