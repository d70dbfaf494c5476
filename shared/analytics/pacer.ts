/**
 * Cooperative yielding for long synchronous work (training, ranking, UMAP layouts): a BullMQ worker renews its job lock on timers,
 * which run only when the event loop gets a turn. `due()` yields at most every `everyMs`; `now()` always does.
 */
export interface Pacer {
  due(): Promise<void>;
  now(): Promise<void>;
}

export function pacer(everyMs = 50): Pacer {
  let last = performance.now();
  const now = async (): Promise<void> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = performance.now();
  };
  return { now, due: () => (performance.now() - last > everyMs ? now() : Promise.resolve()) };
}
