/**
 * ONE listener per caller's `AbortSignal`, however many waits share it: one per wait would warn
 * (`MaxListenersExceededWarning`) from the 11th on, and removing each would be quadratic over thousands.
 */
type OnAbort = (reason: unknown) => void;

const links = new WeakMap<AbortSignal, { readonly callbacks: Set<OnAbort>; readonly listener: () => void }>();

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

/** Forgets `callback`; the last one to go removes the signal's listener. */
export function unlinkAbort(signal: AbortSignal, callback: OnAbort): void {
  const link = links.get(signal);
  if (link === undefined || !link.callbacks.delete(callback) || link.callbacks.size > 0) return;
  links.delete(signal);
  signal.removeEventListener('abort', link.listener);
}
