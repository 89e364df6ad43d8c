import type { AitoearnClient, AuthSession, AuthStartResult } from '../client.js';
import { checkClient, startAuth } from '../client.js';
import { resolveWaitOptions, type WaitForAuthOptions } from '../poll/options.js';
import { sleep } from '../poll/sleep.js';
import { type AuthWatch, watchAuth } from '../poll/watch-auth.js';
import { checkFunction, checkObject, refuse } from '../validate.js';
import { startCallbackListener } from './callback-listener.js';

/** How long the listener keeps serving after a completion found by polling, unless the POST comes first. */
export const LINGER_MS = 3000;

/** What {@link connectAccount} hands to `onStart`: everything needed to send the person to the consent page. */
export interface ConnectStart extends Omit<AuthStartResult, 'authInstructions'> {
  /** Text to show the person, by language (`en-US`, `zh-CN`), when the platform has some. */
  readonly authInstructions: AuthStartResult['authInstructions'] | undefined;
  /** The loopback URL the browser posts to at the end; undefined with `callback: false` or when it could not listen. */
  readonly callbackUrl: string | undefined;
}

export interface ConnectAccountOptions extends Omit<WaitForAuthOptions, 'sessionId'> {
  /** The account group to connect into. @default the API key owner's default group */
  readonly groupId?: string;
  /** Listen on 127.0.0.1 for the browser's final POST, which makes the next check happen now. @default true */
  readonly callback?: boolean;
  /** Called once the session exists, with a frozen {@link ConnectStart}: show its `url` to the person. A promise it returns is awaited; if it throws or rejects, connecting stops with that error. */
  readonly onStart?: (start: ConnectStart) => unknown;
}

/** connectAccount as `watchAuth`, for the command: bad options throw at once; every end closes the listener. */
export function watchConnect(
  client: AitoearnClient,
  options: ConnectAccountOptions,
  listen: typeof startCallbackListener = startCallbackListener,
): AuthWatch {
  checkClient(client);
  checkObject('options', options);
  const { groupId, callback = true, onStart, ...waitOptions } = options;
  // A stand-in session id, so that a bad wait option is refused before anything starts.
  resolveWaitOptions({ ...waitOptions, sessionId: 'unstarted' }, client.requestTimeoutMs);
  if (typeof callback !== 'boolean') refuse('callback', 'a boolean', callback);
  if (onStart !== undefined) checkFunction('onStart', onStart);
  const { platform, signal, sleep: nap = sleep } = waitOptions;

  let inner: AuthWatch | undefined;
  // Aborted by the browser's POST or the end of lingering; either closes a lingering listener.
  const posted = new AbortController();
  async function* run() {
    signal?.throwIfAborted();
    const onCallback = () => {
      posted.abort();
      inner?.poke();
    };
    // Without a listener (no loopback, no free port) polling alone still finishes the job.
    const listener = callback ? await listen({ onCallback }).catch(() => undefined) : undefined;
    let completed = false;
    try {
      const started = await startAuth(client, {
        platform,
        ...(groupId === undefined ? {} : { groupId }),
        ...(listener && { callbackUrl: listener.url }),
        ...(signal && { signal }),
      });
      await onStart?.(Object.freeze({ authInstructions: undefined, ...started, callbackUrl: listener?.url }));
      inner = watchAuth(client, { ...waitOptions, sessionId: started.sessionId });
      for await (const event of inner) {
        completed = event.status === 'completed';
        yield event;
      }
    } finally {
      if (!listener || !completed || posted.signal.aborted) await listener?.close();
      else {
        // Polling saw the completion first and the browser's POST may be a moment behind: answer it for
        // LINGER_MS (the person lands on the "done" page, not an error), on the waiter's sleep (even one that
        // throws) bounded by Node's own timer, as an injected clock that stops must not keep the port open.
        const end = () => posted.abort();
        const bound = setTimeout(end, LINGER_MS);
        posted.signal.addEventListener('abort', () => void listener.close().then(() => clearTimeout(bound)));
        void (async () => nap(LINGER_MS, posted.signal))().then(end, end);
      }
    }
  }
  return Object.assign(run(), { poke: () => inner?.poke() });
}

/**
 * Connects an account in one call: starts an authorization, hands it to `onStart` (show its `url` to the
 * person) and waits until the session ends. Unless `callback: false`, the browser's final POST to a random
 * loopback path makes the next check happen at once; only the status operation decides the outcome, so a
 * forged POST changes nothing but the time of one check. Settles as {@link waitForAuth} does; a bad option
 * rejects before anything is sent.
 *
 * @example
 * const session = await connectAccount(client, { platform: 'douyin', onStart: ({ url }) => console.log(url) });
 */
export async function connectAccount(
  client: AitoearnClient,
  options: ConnectAccountOptions,
): Promise<AuthSession> {
  let session: AuthSession | undefined;
  for await (const event of watchConnect(client, options)) session = event.session;
  if (session?.status !== 'completed') throw new Error('connectAccount ended without a completed session');
  return session;
}
