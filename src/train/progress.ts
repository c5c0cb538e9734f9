/**
 * Progress display on stderr: a cli-progress bar (loss, frames/s, ETA) when stderr is a terminal;
 * otherwise nothing during an epoch (the loop prints one line per epoch).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  startEpoch(epoch: number, batches: number, done: number): void;
  /** runEtaSeconds: estimated time to the end of the run (null when unknown). */
  update(done: number, loss: number, framesPerSecond: number, runEtaSeconds: number | null): void;
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
          format: `epoch ${epoch + 1} [{bar}] {value}/{total} | loss {loss} | {fps} frames/s | epoch ETA {eta_formatted} | run ETA {run}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, done, { loss: '-', fps: '-', run: '-' });
    },
    update(done, loss, fps, runEta) {
      bar?.update(done, { loss: Number.isFinite(loss) ? loss.toFixed(3) : 'n/a', fps: Math.round(fps), run: formatDuration(runEta) });
    },
    stopEpoch() {
      bar?.stop();
      bar = null;
    },
  };
}

function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
