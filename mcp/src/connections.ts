import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { AitoearnClient, AuthProgress, AuthSession, ConnectStart, Platform } from 'aitoearn-auth';
import { AuthTimeoutError, connectAccount } from 'aitoearn-auth';

/** A running connectAccount: the session it started, its end, its latest progress event, and a stop. */
export interface Connection {
  readonly platform: Platform;
  readonly start: ConnectStart;
  readonly done: Promise<AuthSession>;
  readonly latest: () => AuthProgress | undefined;
  /** Stops it: the callback listener closes and no request is sent after this. */
  readonly stop: (reason?: unknown) => void;
}

/** Resolves once the session exists (rejects when starting failed); the wait goes on until `done` or `stop()`. */
export function beginConnection(
  client: AitoearnClient,
  platform: Platform,
  groupId: string | undefined,
  signal: AbortSignal,
): Promise<Connection> {
  const controller = new AbortController();
  let last: AuthProgress | undefined;
  return new Promise((resolve, reject) => {
    const done = connectAccount(client, {
      platform,
      ...(groupId === undefined ? {} : { groupId }),
      signal: controller.signal,
      onStart: (start) => {
        // Cancelled while starting: nobody will learn this session id, so nobody may wait for it.
        signal.throwIfAborted();
        resolve({ platform, start, done, latest: () => last, stop: (reason) => controller.abort(reason) });
      },
      onProgress: (event) => {
        last = event;
      },
    });
    done.catch(reject); // once started, a no-op that keeps the rejection handled
  });
}

/** Sessions handed out as links and not collected yet; beyond this many the oldest is stopped. */
const MAX_KEPT = 100;

/**
 * Link-mode connections by session id, kept running after connect_account returned so that the callback
 * listener is up when the person approves: wait_for_auth then notices the end at once.
 */
export class KeptConnections extends Map<string, Connection> {
  /** wait_for_auth calls in progress per session: only the last one to go may stop the connection. */
  readonly #waiters = new Map<string, number>();

  keep(connection: Connection): void {
    this.set(connection.start.sessionId, connection);
    for (const [sessionId, oldest] of this) {
      if (this.size <= MAX_KEPT) break;
      oldest.stop(new Error('too many pending sessions'));
      this.delete(sessionId);
    }
  }

  find(platform: string, sessionId: string): Connection | undefined {
    const connection = this.get(sessionId);
    return connection?.platform === platform ? connection : undefined;
  }

  /** Waits at most `timeoutMs`. An outcome is handed out once (later calls ask the API); a timeout leaves
   * the connection running; cancelling the last waiter stops it. */
  async wait(connection: Connection, timeoutMs: number | undefined, signal: AbortSignal) {
    const { sessionId } = connection.start;
    this.#waiters.set(sessionId, (this.#waiters.get(sessionId) ?? 0) + 1);
    // Ends the losers of the race below, so that no listener or timer outlives the wait.
    const settled = new AbortController();
    const cleanup = { signal: settled.signal };
    let timedOut = false;
    const giveUp = async (ms: number) => {
      await delay(ms, undefined, cleanup);
      timedOut = true;
      throw new AuthTimeoutError(ms, connection.latest()?.session);
    };
    const cancelled = once(signal, 'abort', cleanup).then(() => Promise.reject(signal.reason));
    const timeout = timeoutMs === undefined ? [] : [giveUp(timeoutMs)];
    try {
      return await Promise.race([connection.done, cancelled, ...timeout]);
    } finally {
      settled.abort();
      const left = (this.#waiters.get(sessionId) ?? 1) - 1;
      if (left > 0) this.#waiters.set(sessionId, left);
      else this.#waiters.delete(sessionId);
      if (signal.aborted && left === 0) connection.stop(signal.reason);
      if (!timedOut && left === 0) this.delete(sessionId);
    }
  }
}
