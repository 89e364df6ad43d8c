/**
 * One `abort` listener per signal, however many waits share it. Node's `EventTarget` checks every
 * listener already added on each `addEventListener` and `removeEventListener` (O(n)), and warns
 * (`MaxListenersExceededWarning`) from the 11th: with 10,000 waits on a service's shutdown signal, adding
 * and removing a listener per sleep and per request cost more CPU than the requests themselves.
 */
const fanouts = new WeakMap<AbortSignal, Fanout>();

interface Fanout {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

/**
 * Calls `fn` once when `signal` aborts. Returns a function that unregisters it (O(1)); the signal's one
 * listener is removed with the last registration, so nothing is left on a signal no wait uses. If the
 * signal has already aborted, `fn` is not called: check `signal.aborted` first.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      fanouts.delete(signal);
      for (const callback of callbacks) {
        try {
          callback();
        } catch (error) {
          // One callback's failure must not keep the others from hearing the abort.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
      callbacks.clear();
    };
    fanout = { callbacks, listener };
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = fanout;
  callbacks.add(fn);
  return () => {
    if (!callbacks.delete(fn) || callbacks.size > 0) return;
    if (fanouts.get(signal)?.callbacks === callbacks) fanouts.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
