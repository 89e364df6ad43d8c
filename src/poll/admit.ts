/** First requests sent in one turn of the event loop before the rest wait for the next turns. */
const PER_TURN = 32;

let admitted = 0;
const waiting: (() => void)[] = [];

const releaseTurn = (): void => {
  admitted = 0;
  for (; admitted < PER_TURN && waiting.length > 0; admitted++) waiting.shift()?.();
  if (admitted > 0) setImmediate(releaseTurn);
};

/**
 * Resolves when a wait may send its first request; `undefined` when it may at once. A burst of thousands
 * started in one tick goes 32 per turn of the event loop, in order, so that the starts return at once and
 * the loop keeps turning. An abort lets the wait go at once (it then sends nothing), giving up its place.
 */
export function admit(signal: AbortSignal): Promise<void> | undefined {
  if (admitted < PER_TURN && waiting.length === 0) {
    if (admitted++ === 0) setImmediate(releaseTurn);
    return undefined;
  }
  return new Promise<void>((resolve) => {
    const go = () => {
      signal.removeEventListener('abort', go);
      const at = waiting.indexOf(go);
      if (at >= 0) waiting.splice(at, 1);
      resolve();
    };
    waiting.push(go);
    signal.addEventListener('abort', go, { once: true });
  });
}
