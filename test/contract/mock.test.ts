/**
 * The client against Prism mocks built from the vendored spec: every example in the YAML, Prism's own
 * authentication answer, the waiter on the default example, and hundreds of generated (`-d`) responses.
 */
import { afterAll, beforeAll, describe, expect, inject, it, test } from 'vitest';
import { type PrismServer, startPrism } from '../../scripts/prism.js';
import {
  AitoearnApiError,
  type AitoearnApiErrorKind,
  type AitoearnClient,
  AitoearnError,
  AitoearnTransportError,
  AuthExpiredError,
  type AuthSession,
  createAitoearnClient,
  getAuthStatus,
  isTransient,
  startAuth,
  waitForAuth,
} from '../../src/index.js';
import { instrumentedFetch, withCodeZero } from './instrumented-fetch.js';
import { envelopeOf, type SpecExample, specExamples } from './spec-examples.js';

const START_PATH = '/api/v2/channels/accounts/auth/{platform}';
const STATUS_PATH = '/api/v2/channels/accounts/auth/{platform}/status/{sessionId}';
// The spec's examples answer `sessionId: "string"`: ask for that session, or the client rightly refuses an
// answer about another one.
const PARAMS = { platform: 'douyin', sessionId: 'string' } as const;
const API_KEY = 'contract-test-key';

/** The business codes DESIGN.md lists for the two operations, and what each one means. */
const KNOWN_CODES: Readonly<Record<number, AitoearnApiErrorKind>> = {
  401: 'unauthorized',
  400: 'validation',
  10002: 'validation',
  15039: 'session-invalid',
  15040: 'platform-mismatch',
  15032: 'platform-unsupported',
  12601: 'group-not-found',
  429: 'rate-limited',
  500: 'internal',
};

const prismUrl = inject('prismMockUrl');
if (!prismUrl) {
  throw new Error('No shared Prism mock: test/contract/prism-setup.ts did not start one for this run.');
}
const examples = specExamples();
const statusExamples = examples.filter((e) => e.method === 'GET' && e.path === STATUS_PATH);
const startExamples = examples.filter((e) => e.method === 'GET' && e.path === START_PATH);

/** The client's call for each operation in the spec, and what a code-0 answer resolves to. */
const CALLS: Readonly<
  Record<string, (client: AitoearnClient) => Promise<{ readonly data: unknown; readonly requestId?: string }>>
> = {
  [STATUS_PATH]: (client) => getAuthStatus(client, PARAMS).then((r) => ({ data: r.session })),
  [START_PATH]: (client) =>
    startAuth(client, { platform: PARAMS.platform }).then(({ requestId: _, ...data }) => ({ data })),
};

function startUrlOf(envelope: { readonly data?: unknown }): string {
  const { data } = envelope;
  return typeof data === 'object' && data !== null && 'url' in data ? String(data.url) : '';
}

function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('every example in the spec', () => {
  it('finds the examples by walking the YAML (an empty walk would test nothing)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(statusExamples.map((e) => envelopeOf(e).code)).toContain(0);
    expect(statusExamples.some((e) => envelopeOf(e).code !== 0)).toBe(true);
    expect(startExamples.map((e) => envelopeOf(e).code)).toContain(0);
  });

  const cases = examples.map(
    (e) => [`${e.method} ${e.status} ${e.mediaType} example "${e.name}"`, e] as const,
  );

  test.each(cases)('%s ends as its code says', async (_title: string, example: SpecExample) => {
    const call = example.method === 'GET' ? CALLS[example.path] : undefined;
    if (!call) {
      throw new Error(
        `The client has no call for ${example.method} ${example.path}; add one or drop the example.`,
      );
    }
    const envelope = envelopeOf(example);
    const recorder = instrumentedFetch({
      set: { Prefer: `code=${example.status}, example=${example.name}` },
    });
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: prismUrl, fetch: recorder.fetch });

    const outcome = await settle(call(client));

    // Prism served exactly this example (an unknown example name would be a 404 problem).
    expect(recorder.exchanges).toHaveLength(1);
    expect(recorder.exchanges[0]?.status).toBe(Number(example.status));
    expect(JSON.parse(recorder.exchanges[0]?.body ?? '')).toEqual(example.value);

    if (example.status !== '200') {
      expect(outcome.ok ? outcome.value : outcome.error).toBeInstanceOf(AitoearnTransportError);
      return;
    }
    const url = example.path === START_PATH ? startUrlOf(envelope) : '';
    if (envelope.code === 0 && url && !/^(https?:\/\/|data:image\/)/i.test(url)) {
      // The spec's start example holds the placeholder url "string": the client refuses to hand out a
      // url that is neither a page nor a QR code image, naming the field.
      expect(outcome.ok ? outcome.value : outcome.error).toMatchObject({
        reason: 'refused-url',
        message: expect.stringContaining(`"data.url": expected an http(s) URL or a data:image/ URL`),
      });
      return;
    }
    if (envelope.code === 0) {
      if (!outcome.ok) throw outcome.error;
      expect(outcome.value.data).toEqual(envelope.data);
      return;
    }
    expect(outcome.ok).toBe(false);
    const error = outcome.ok ? undefined : outcome.error;
    expect(error).toBeInstanceOf(AitoearnApiError);
    expect(error).toMatchObject({
      code: envelope.code,
      kind: KNOWN_CODES[envelope.code] ?? 'unknown',
      httpStatus: 200,
    });
  });
});

describe("Prism's own answers", () => {
  it("turns Prism's HTTP 401 problem (no X-Api-Key) into a terminal transport error", async () => {
    const recorder = instrumentedFetch({ remove: ['X-Api-Key'] });
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: prismUrl, fetch: recorder.fetch });

    const error = await getAuthStatus(client, PARAMS).catch((e: unknown) => e);

    expect(recorder.exchanges[0]).toMatchObject({ status: 401, contentType: 'application/problem+json' });
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ reason: 'http-status', httpStatus: 401 });
    expect(isTransient(error)).toBe(false);
  });

  it('makes waitForAuth stop at the first HTTP 401 instead of retrying until the deadline', async () => {
    const recorder = instrumentedFetch({ remove: ['X-Api-Key'] });
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: prismUrl, fetch: recorder.fetch });

    const error = await waitForAuth(client, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ httpStatus: 401 });
    expect(recorder.sent()).toBe(1);
  });

  it('ends waitForAuth as expired after exactly one request on the default example (pending, expiresAt past)', async () => {
    // Prism's default is the first example of the operation; the test relies on what it holds.
    const fallback = statusExamples[0];
    const data = fallback ? (envelopeOf(fallback).data as AuthSession) : undefined;
    expect(data?.status).toBe('pending');
    expect(Date.parse(data?.expiresAt ?? '')).toBeLessThan(Date.now());

    const recorder = instrumentedFetch();
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: prismUrl, fetch: recorder.fetch });
    const error = await waitForAuth(client, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AuthExpiredError);
    expect((error as AuthExpiredError).session).toEqual(data);
    expect(recorder.sent()).toBe(1);
  });
});

describe('generated responses (prism mock -d)', () => {
  const RUNS = 200;
  const CONCURRENCY = 8;
  let dynamic: PrismServer | undefined;

  beforeAll(async () => {
    dynamic = await startPrism({ mode: 'mock', dynamic: true });
  }, 60_000);
  afterAll(() => dynamic?.stop());

  /** A label per outcome; throws on anything that is neither a session nor one of our errors. */
  function classify(outcome: { ok: true; value: AuthSession } | { ok: false; error: unknown }): string {
    if (outcome.ok) {
      const session = outcome.value;
      expect(typeof session.sessionId).toBe('string');
      expect(typeof session.requiresSelection).toBe('boolean');
      return `session ${session.status}`;
    }
    const { error } = outcome;
    if (!(error instanceof AitoearnError)) throw new Error('An untyped error escaped', { cause: error });
    const detail =
      error instanceof AitoearnApiError
        ? error.kind
        : error instanceof AitoearnTransportError
          ? error.reason
          : '';
    return `${error.name}${detail ? ` ${detail}` : ''}`;
  }

  async function runAll(task: (index: number) => Promise<string>): Promise<Map<string, number>> {
    const tally = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) {
          const label = await task(next++);
          tally.set(label, (tally.get(label) ?? 0) + 1);
        }
      }),
    );
    return tally;
  }

  // Prism's generator never produces `code: 0` (the schema gives `code` no enum), so every other response
  // gets code 0 to drive the generated `data` (random status, dates, accounts) through the session path.
  const recorder = () =>
    instrumentedFetch({ transform: (res, i) => (i % 2 ? withCodeZero(res) : Promise.resolve(res)) });

  it(`ends each of ${RUNS} getAuthStatus calls in a session or one of our errors`, async () => {
    const rec = recorder();
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: dynamic?.url ?? '', fetch: rec.fetch });

    const tally = await runAll(async () =>
      classify(await settle(getAuthStatus(client, PARAMS).then((r) => r.session))),
    );

    expect(rec.exchanges.length).toBeGreaterThanOrEqual(RUNS);
    expect(rec.exchanges.every((e) => e.status === 200)).toBe(true);
    expect(tally.size, JSON.stringify([...tally])).toBeGreaterThanOrEqual(2);
  });

  it(`ends each of ${RUNS} startAuth calls in a start or one of our errors`, async () => {
    const rec = recorder();
    const client = createAitoearnClient({ apiKey: API_KEY, baseUrl: dynamic?.url ?? '', fetch: rec.fetch });

    const tally = await runAll(async () => {
      const outcome = await settle(startAuth(client, { platform: PARAMS.platform }));
      if (!outcome.ok) return classify(outcome);
      expect(typeof outcome.value.sessionId).toBe('string');
      return 'start';
    });

    expect(rec.exchanges.length).toBeGreaterThanOrEqual(RUNS);
    expect(tally.size, JSON.stringify([...tally])).toBeGreaterThanOrEqual(2);
  });

  it('leaves no Prism process behind after stop()', async () => {
    if (!dynamic) throw new Error('The dynamic mock never started.');
    await dynamic.stop();
    const { exitCode, signalCode } = dynamic.child;
    expect(exitCode !== null || signalCode !== null).toBe(true);
  });
});
