/**
 * Progress display on stderr: a cli-progress bar (loss, frames/s, ETA) when stderr is a terminal;
 * otherwise nothing during an epoch (the loop prints one line per epoch).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  startEpoch(epoch: number, batches: number, done: number): void;
  update(done: number, loss: number, framesPerSecond: number): void;
  stopEpoch(): void;
}

export const silentProgress: Progress = {
  startEpoch() {},
  update() {},
  stopEpoch() {},
};

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silentProgress;
  let bar: cliProgress.SingleBar | null = null;
  return {
    startEpoch(epoch, batches, done) {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `epoch ${epoch + 1} [{bar}] {value}/{total} | loss {loss} | {fps} frames/s | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, done, { loss: '-', fps: '-' });
    },
    update(done, loss, fps) {
      bar?.update(done, { loss: Number.isFinite(loss) ? loss.toFixed(3) : 'n/a', fps: Math.round(fps) });
    },
    stopEpoch() {
      bar?.stop();
      bar = null;
    },
  };
}
