import { type AitoearnClient, type AuthSession, checkClient, startAuth } from '../client.js';
import { AitoearnInputError } from '../errors.js';
import type { AuthProgress, WaitForAuthOptions } from '../poll/options.js';
import { resolveWaitOptions } from '../poll/options.js';
import { sleep } from '../poll/sleep.js';
import { type AuthWatch, watchAuth } from '../poll/watch-auth.js';
import { checkFunction, show } from '../validate.js';
import { type CallbackListener, startCallbackListener } from './callback-listener.js';

/** How long the listener keeps serving after a completion found by polling, unless the POST comes first. */
export const LINGER_MS = 3000;

type Started = Awaited<ReturnType<typeof startAuth>>;

/** What {@link connectAccount} hands to `onStart`: everything needed to send the person to the consent page. */
export interface ConnectStart {
  /** The page the person opens; for some platforms a `data:image/…` URL of a QR code to scan in their app. */
  readonly url: string;
  /** The session id, for `waitForAuth` or `aitoearn-auth wait` later. */
  readonly sessionId: string;
  /** When the session ends, in the server's clock (ISO 8601). */
  readonly expiresAt: string;
  /** Text to show the person, by language (`en-US`, `zh-CN`), when the platform has some. */
  readonly authInstructions: Started['authInstructions'];
  /** The loopback URL the browser posts to at the end; undefined with `callback: false` or when it could not listen. */
  readonly callbackUrl: string | undefined;
  /** The API's request id of the start answer, for support tickets. */
  readonly requestId: Started['requestId'];
}

export interface ConnectAccountOptions extends Omit<WaitForAuthOptions, 'sessionId'> {
  /** The account group to connect into. @default the API key owner's default group */
  readonly groupId?: string;
  /**
   * Listen on 127.0.0.1 for the browser's final POST, so that success is noticed in one round trip instead
   * of at the next poll. Polling runs either way; the callback only makes the next check happen now.
   * @default true
   */
  readonly callback?: boolean;
  /** Called once the session exists, with a frozen {@link ConnectStart}: show its `url` to the person. A promise it returns is awaited; if it throws or rejects, connecting stops with that error. */
  readonly onStart?: (start: ConnectStart) => unknown;
}

/**
 * Like {@link connectAccount}, but yields the waiter's progress events as `watchAuth` does; `poke()` checks
 * now. Options are checked synchronously, before anything is started or sent. Breaking out of the loop, an
 * abort and the end of the wait all close the callback listener. `listen` is replaced only by tests.
 * @internal (the command's live view; users call connectAccount)
 */
export function watchConnect(
  client: AitoearnClient,
  options: ConnectAccountOptions,
  listen: typeof startCallbackListener = startCallbackListener,
): AuthWatch {
  checkClient(client);
  if (typeof options !== 'object' || options === null) {
    throw new AitoearnInputError('options', `Expected the options to be an object, got ${show(options)}.`);
  }
  // connect's own options; the rest are the waiter's, checked by it.
  const { groupId, callback = true, onStart, ...waitOptions } = options;
  // The waiter's options are checked now, with a stand-in session id, so that nothing starts on a bad value.
  resolveWaitOptions({ ...waitOptions, sessionId: 'unstarted' }, client.requestTimeoutMs);
  if (typeof callback !== 'boolean') {
    throw new AitoearnInputError('callback', `Expected "callback" to be a boolean, got ${show(callback)}.`);
  }
  if (onStart !== undefined) checkFunction('onStart', onStart);
  const { platform, signal } = waitOptions;

  let inner: AuthWatch | undefined;
  // Ends the lingering listener early: the browser's POST was answered with the "done" page.
  let endLinger: (() => void) | undefined;
  async function* run(): AsyncGenerator<AuthProgress, undefined, undefined> {
    signal?.throwIfAborted();
    let listener: CallbackListener | undefined;
    let posted = false;
    if (callback) {
      const onCallback = () => {
        posted = true;
        endLinger?.();
        inner?.poke();
      };
      // Without a listener (no loopback, no free port) polling alone still finishes the job.
      listener = await listen({ onCallback }).catch(() => undefined);
    }
    let completed = false;
    try {
      const started = await startAuth(client, {
        platform,
        ...(groupId === undefined ? {} : { groupId }),
        ...(listener === undefined ? {} : { callbackUrl: listener.url }),
        ...(signal === undefined ? {} : { signal }),
      });
      await onStart?.(
        Object.freeze({
          url: started.url,
          sessionId: started.sessionId,
          expiresAt: started.expiresAt,
          authInstructions: started.authInstructions,
          callbackUrl: listener?.url,
          requestId: started.requestId,
        }),
      );
      inner = watchAuth(client, { ...waitOptions, sessionId: started.sessionId });
      for await (const event of inner) {
        completed = event.status === 'completed';
        yield event;
      }
    } finally {
      if (listener !== undefined && completed && !posted) {
        // Polling saw the end first; the browser's POST may be a moment behind. Keep answering it for a
        // little while (ended by the POST), so that the person lands on the "done" page, not on an error.
        const stop = new AbortController();
        const closing = listener;
        const nap = waitOptions.sleep ?? sleep;
        // Also bounded on Node's own timer: an injected clock that stops, or a sleep that ignores its
        // signal, must not keep the port open.
        const bound = setTimeout(() => endLinger?.(), LINGER_MS);
        endLinger = () => {
          endLinger = undefined;
          clearTimeout(bound);
          stop.abort();
          closing.close().catch(() => {});
        };
        void Promise.resolve()
          .then(() => nap(LINGER_MS, stop.signal))
          .catch(() => {})
          .then(() => endLinger?.());
      } else await listener?.close();
    }
    return undefined;
  }
  const generator = run();
  return Object.assign(generator, { poke: () => inner?.poke() });
}

/**
 * Connects an account in one call: starts an authorization, hands its URL to `onStart` (show it to the
 * person, or open it), and waits until the session ends. Unless `callback: false`, it listens on a random
 * loopback path for the browser's final POST and checks at once when it arrives; the outcome is always
 * what the status operation answers, so a forged POST changes nothing but the time of one check.
 * Resolves with the completed session and rejects exactly as {@link waitForAuth} does; options are
 * checked before anything is sent (a bad one rejects with `AitoearnInputError`).
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
  // The waiter's iteration ends only after a `completed` event, which carries the session.
  if (session?.status !== 'completed') throw new Error('connectAccount ended without a completed session');
  return session;
}
