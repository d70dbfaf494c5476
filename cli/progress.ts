/** A training progress bar on stderr (shown only on a terminal). */
import { SingleBar, Presets } from 'cli-progress';
import type { EpochProgress } from '../shared/ml/train.js';

export function epochBar(label: string): { update: (p: EpochProgress) => void; stop: () => void } {
  const bar = new SingleBar(
    { format: `${label} {bar} {value}/{total} epochs | loss {loss} | val {val} | {speed} samples/s`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = { loss: p.loss.toFixed(5), val: p.valLoss?.toFixed(5) ?? '-', speed: Math.round(p.samplesPerSecond) };
      if (!started) {
        bar.start(p.epochs, 0, payload);
        started = true;
      }
      bar.update(p.epoch, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
