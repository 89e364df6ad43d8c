/** First requests sent in one turn of the event loop before the rest wait for the next turns. */
const PER_TURN = 32;

let admitted = 0;
const waiting: (() => void)[] = [];

const releaseTurn = (): void => {
  admitted = 0;
  while (admitted < PER_TURN && waiting.length > 0) {
    admitted += 1;
    waiting.shift()?.();
  }
  if (admitted > 0) setImmediate(releaseTurn);
};

/**
 * Resolves when a wait may send its first request. A lone wait (or a few) goes at once; a burst of
 * thousands started in one tick goes 32 per turn of the event loop, in order, so that the starts return at
 * once and the loop keeps turning instead of sending every request in one synchronous stretch.
 */
export function admit(signal: AbortSignal): Promise<void> | undefined {
  if (admitted < PER_TURN && waiting.length === 0) {
    if (admitted++ === 0) setImmediate(releaseTurn);
    return undefined;
  }
  // An abort lets the wait go at once (it then sends nothing); its place in the queue is given up.
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
