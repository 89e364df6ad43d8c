import {
  type AitoearnClient,
  type AuthProgress,
  type AuthSession,
  AuthTimeoutError,
  type ConnectStart,
  connectAccount,
  type Platform,
} from 'aitoearn-auth';

/** A running connectAccount: the session it started, and its end. */
export interface Connection {
  readonly platform: Platform;
  readonly start: ConnectStart;
  /** Settles once, with the completed session or the waiter's error. */
  readonly done: Promise<AuthSession>;
  /** The waiter's latest progress event. */
  readonly latest: () => AuthProgress | undefined;
  /** Stops it: the callback listener closes and no request is sent after this. */
  readonly stop: (reason?: unknown) => void;
}

/**
 * Starts connectAccount (loopback callback listener, then polling) and resolves once the session exists;
 * rejects when starting failed. The wait goes on in the background until `done` settles or `stop()`.
 */
export async function beginConnection(
  client: AitoearnClient,
  platform: Platform,
  groupId: string | undefined,
): Promise<Connection> {
  const controller = new AbortController();
  let last: AuthProgress | undefined;
  let onStart: (start: ConnectStart) => void = () => {};
  const started = new Promise<ConnectStart>((resolve) => {
    onStart = resolve;
  });
  const done = connectAccount(client, {
    platform,
    ...(groupId === undefined ? {} : { groupId }),
    signal: controller.signal,
    onStart: (start) => onStart(start),
    onProgress: (event) => {
      last = event;
    },
  });
  done.catch(() => {});
  // `done` cannot resolve before onStart; it rejects first when the start failed.
  const start = await Promise.race([started, done.then(() => started)]);
  return { platform, start, done, latest: () => last, stop: (reason) => controller.abort(reason) };
}

/** Sessions handed out as links and not collected yet; beyond this many the oldest is stopped. */
const MAX_KEPT = 100;

/**
 * Link-mode connections, kept running after connect_account returned so that the callback listener is up
 * when the person approves: wait_for_auth then notices the end at once instead of at its next check.
 */
export class KeptConnections {
  readonly #kept = new Map<string, { readonly connection: Connection; waiters: number }>();

  keep(connection: Connection): void {
    this.#kept.set(connection.start.sessionId, { connection, waiters: 0 });
    for (const [sessionId, { connection: oldest }] of this.#kept) {
      if (this.#kept.size <= MAX_KEPT) break;
      oldest.stop(new Error('too many pending sessions'));
      this.#kept.delete(sessionId);
    }
  }

  find(platform: string, sessionId: string): Connection | undefined {
    const entry = this.#kept.get(sessionId);
    return entry?.connection.platform === platform ? entry.connection : undefined;
  }

  /**
   * Waits for a kept connection's end, at most `timeoutMs`. An outcome is handed out once (later calls
   * ask the API); a timeout leaves it running; cancelling the last waiter stops it.
   */
  async wait(
    connection: Connection,
    timeoutMs: number | undefined,
    signal: AbortSignal,
  ): Promise<AuthSession> {
    const { sessionId } = connection.start;
    const entry = this.#kept.get(sessionId);
    if (entry) entry.waiters += 1;
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    let timedOut = false;
    try {
      return await Promise.race([
        connection.done,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          if (timeoutMs === undefined) return;
          timer = setTimeout(() => {
            timedOut = true;
            reject(new AuthTimeoutError(timeoutMs, connection.latest()?.session));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (entry) entry.waiters -= 1;
      if (signal.aborted && entry?.waiters === 0) connection.stop(signal.reason);
      if (!timedOut && entry?.waiters === 0) this.#kept.delete(sessionId);
    }
  }
}
