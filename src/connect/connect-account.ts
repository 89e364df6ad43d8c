import type { AitoearnClient, AuthSession, AuthStartResult } from '../client.js';
import { checkClient, startAuth } from '../client.js';
import { resolveWaitOptions, type WaitForAuthOptions } from '../poll/options.js';
import { sleep } from '../poll/sleep.js';
import { type AuthWatch, watchAuth } from '../poll/watch-auth.js';
import { checkFunction, checkObject, refuse } from '../validate.js';
import { type CallbackListener, startCallbackListener } from './callback-listener.js';

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

/**
 * connectAccount as `watchAuth` (the command's live view): bad options throw synchronously; breaking out of
 * the loop, an abort and the end all close the listener. `listen` is replaced only by tests. @internal
 */
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
  const { platform, signal } = waitOptions;

  let inner: AuthWatch | undefined;
  // Aborted by the browser's POST, which also ends the lingering below.
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
        ...(listener === undefined ? {} : { callbackUrl: listener.url }),
        ...(signal === undefined ? {} : { signal }),
      });
      await onStart?.(Object.freeze({ authInstructions: undefined, ...started, callbackUrl: listener?.url }));
      inner = watchAuth(client, { ...waitOptions, sessionId: started.sessionId });
      for await (const event of inner) {
        completed = event.status === 'completed';
        yield event;
      }
    } finally {
      if (listener && completed && !posted.signal.aborted)
        linger(listener, posted, waitOptions.sleep ?? sleep);
      else await listener?.close();
    }
  }
  return Object.assign(run(), { poke: () => inner?.poke() });
}

/**
 * Polling saw the completion first and the browser's POST may be a moment behind: keep answering it for
 * LINGER_MS, on the waiter's sleep, so that the person lands on the "done" page rather than on an error.
 * Node's own timer bounds it too: an injected clock that stops must not keep the port open.
 */
function linger(listener: CallbackListener, posted: AbortController, nap: typeof sleep): void {
  const end = () => posted.abort();
  const bound = setTimeout(end, LINGER_MS);
  posted.signal.addEventListener('abort', () => {
    clearTimeout(bound);
    void listener.close();
  });
  void Promise.resolve()
    .then(() => nap(LINGER_MS, posted.signal))
    .then(end, end);
}

/**
 * Connects an account in one call: starts an authorization, hands its URL to `onStart` (show it to the
 * person, or open it), and waits until the session ends. Unless `callback: false`, it listens on a random
 * loopback path for the browser's final POST and checks at once when it arrives; the outcome is always
 * what the status operation answers, so a forged POST changes nothing but the time of one check.
 * Resolves and rejects as {@link waitForAuth} does; a bad option rejects before anything is sent.
 *
 * @example
 * const session = await connectAccount(client, {
 *   platform: 'douyin',
 *   onStart: ({ url }) => console.log(`Open ${url} to connect your account`),
 * });
 * console.log(session.accounts?.map((a) => a.displayName));
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
