/**
 * Links waits to the caller's `AbortSignal` with ONE listener per signal, however many waits share it.
 *
 * A service typically hands the same shutdown signal to every wait. One listener per wait would make Node
 * print `MaxListenersExceededWarning` from the 11th wait on, and `removeEventListener` walks the signal's
 * listener list, so settling thousands of waits would cost quadratic time. Raising the signal's listener
 * limit instead would change the caller's object and hide their own leaks.
 */

type OnAbort = (reason: unknown) => void;

interface Link {
  readonly callbacks: Set<OnAbort>;
  readonly listener: () => void;
}

const links = new WeakMap<AbortSignal, Link>();

/** Calls `callback` with the signal's reason when it aborts, until {@link unlinkAbort}. */
export function linkAbort(signal: AbortSignal, callback: OnAbort): void {
  let link = links.get(signal);
  if (link === undefined) {
    const callbacks = new Set<OnAbort>();
    const listener = () => {
      links.delete(signal);
      for (const each of callbacks) each(signal.reason);
      callbacks.clear();
    };
    link = { callbacks, listener };
    links.set(signal, link);
    signal.addEventListener('abort', listener, { once: true });
  }
  link.callbacks.add(callback);
}

/** Forgets `callback`; the last one to go removes the signal's listener, so nothing of ours stays on it. */
export function unlinkAbort(signal: AbortSignal, callback: OnAbort): void {
  const link = links.get(signal);
  if (link === undefined || !link.callbacks.delete(callback) || link.callbacks.size > 0) return;
  links.delete(signal);
  signal.removeEventListener('abort', link.listener);
}
