/** A scripted AiToEarn status endpoint on the virtual clock, injected as the client's `fetch`. */
import type { FakeClock } from './fake-clock.js';

export const SERVER_START_MS = Date.UTC(2026, 10, 26, 8, 0, 0);

export type Reply = Readonly<
  | { status: string; requiresSelection?: boolean; extra?: Record<string, unknown> }
  | { code: number; headers?: Record<string, string> }
  | { http: number; body?: string; headers?: Record<string, string> }
  | { hang: true }
  /** Ignores its signal and never settles. */
  | { deaf: true }
  | { network: true }
>;

export interface FakeApiOptions {
  /** The session's expiresAt, as ms after SERVER_START_MS; undefined leaves it out. */
  readonly expiresInMs?: number | undefined;
  /** The server's clock at virtual time 0 (epoch ms). */ readonly serverStartMs?: number;
  /** Send a `Date` header. @default true */ readonly sendDate?: boolean;
  /** Virtual latency of each answer, ms. @default 50 */ readonly latencyMs?: number;
}

type Script = readonly Reply[] | ((index: number) => Reply);

export function fakeApi(clock: FakeClock, script: Script, options: FakeApiOptions = {}) {
  const serverStart = options.serverStartMs ?? SERVER_START_MS;
  const latency = options.latencyMs ?? 50;
  // Virtual times at which requests arrived, and at which code-0 answers were sent.
  const [calls, requests, answers] = [[] as number[], [] as Request[], [] as number[]];
  /** Indexes of the requests whose answer was sent (not hung, not aborted first). */
  const delivered = new Set<number>();
  const fetch = async (request: Request): Promise<Response> => {
    const index = calls.length;
    calls.push(clock.now());
    requests.push(request);
    const reply =
      typeof script === 'function'
        ? script(index)
        : (script[Math.min(index, script.length - 1)] ?? { status: 'pending' });
    if ('deaf' in reply) return new Promise<Response>(() => {});
    if ('hang' in reply)
      return new Promise<Response>((_, reject) => {
        request.signal.throwIfAborted();
        request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
      });
    await clock.sleep(latency, request.signal);
    delivered.add(index);
    if ('network' in reply) throw new TypeError('fetch failed', { cause: new Error('read ECONNRESET') });
    const headers = new Headers({ 'content-type': 'application/json', 'x-request-id': `req-${index + 1}` });
    if (options.sendDate ?? true) headers.set('date', new Date(serverStart + clock.now()).toUTCString());
    if ('headers' in reply) for (const [k, v] of Object.entries(reply.headers ?? {})) headers.set(k, v);
    if ('http' in reply)
      return new Response(reply.body ?? '<html>Bad gateway</html>', { status: reply.http, headers });
    if ('code' in reply) {
      const body = { code: reply.code, message: 'error', data: {}, timestamp: serverStart + clock.now() };
      return new Response(JSON.stringify(body), { status: 200, headers });
    }
    const data: Record<string, unknown> = {
      // The session asked for: an answer about another one is refused by the client.
      sessionId: decodeURIComponent(new URL(request.url).pathname.split('/').at(-1) ?? ''),
      status: reply.status,
      requiresSelection: reply.requiresSelection ?? false,
      ...reply.extra,
    };
    if (options.expiresInMs !== undefined)
      data.expiresAt = new Date(serverStart + options.expiresInMs).toISOString();
    answers.push(clock.now());
    return new Response(JSON.stringify({ code: 0, message: 'ok', data }), { status: 200, headers });
  };
  return { fetch, calls, requests, answers, delivered };
}
