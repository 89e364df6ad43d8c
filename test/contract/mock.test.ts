/**
 * The client against Prism mocks built from the vendored spec: every example in the YAML, Prism's own
 * authentication answer, the waiter on the default example, and hundreds of generated (`-d`) responses.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import { START_PATH, STATUS_PATH } from '../../src/operations.js';
import { instrumentedFetch, withCodeZero } from './instrumented-fetch.js';
import { envelopeOf, type SpecExample, specExamples } from './spec-examples.js';

// The spec's examples answer `sessionId: "string"`: ask for that session, or the client rightly refuses an
// answer about another one.
const PARAMS = { platform: 'douyin', sessionId: 'string' } as const;
/** What DESIGN.md says each business code in the spec's examples means (a new code fails until added). */
const KINDS: Readonly<Record<number, AitoearnApiErrorKind>> = {
  401: 'unauthorized',
  10002: 'validation',
  15039: 'session-invalid',
  15040: 'platform-mismatch',
};

const prismUrl = inject('prismMockUrl');
if (!prismUrl) throw new Error('No shared Prism mock: test/contract/prism-setup.ts did not start one.');
const examples = specExamples();
const statusExamples = examples.filter((e) => e.path === STATUS_PATH);

/** The client's call for each operation, and what a code-0 answer resolves to. */
const CALLS: Readonly<Record<string, (client: AitoearnClient) => Promise<unknown>>> = {
  [STATUS_PATH]: (client) => getAuthStatus(client, PARAMS).then((r) => r.session),
  [START_PATH]: (client) =>
    startAuth(client, { platform: PARAMS.platform }).then(({ requestId: _, ...data }) => data),
};

function client(baseUrl = prismUrl, options: Parameters<typeof instrumentedFetch>[0] = {}) {
  const recorder = instrumentedFetch(options);
  return {
    recorder,
    client: createAitoearnClient({ apiKey: 'contract-key', baseUrl, fetch: recorder.fetch }),
  };
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('every example in the spec', () => {
  it('finds the examples by walking the YAML (an empty walk would test nothing)', () => {
    for (const path of [STATUS_PATH, START_PATH])
      expect(examples.filter((e) => e.path === path).map((e) => envelopeOf(e).code)).toContain(0);
    expect(statusExamples.some((e) => envelopeOf(e).code !== 0)).toBe(true);
  });

  it.each(examples.map((e) => [`${e.method} ${e.path} ${e.status} ${e.mediaType} "${e.name}"`, e] as const))(
    '%s ends as its code says',
    async (_title, example: SpecExample) => {
      const call = example.method === 'GET' ? CALLS[example.path] : undefined;
      if (!call) throw new Error(`The client has no call for ${example.method} ${example.path}.`);
      const { code, data } = envelopeOf(example);
      const { client: c, recorder } = client(prismUrl, {
        set: { Prefer: `code=${example.status}, example=${example.name}` },
      });
      const outcome = await settle(call(c));
      const result = outcome.ok ? outcome.value : outcome.error;

      // Prism served exactly this example (an unknown example name would be a 404 problem).
      expect(recorder.exchanges.map((e) => [e.status, JSON.parse(e.body)])).toEqual([
        [Number(example.status), example.value],
      ]);
      const url = example.path === START_PATH ? String((data as { url?: unknown })?.url ?? '') : '';
      if (example.status !== '200') expect(result).toBeInstanceOf(AitoearnTransportError);
      else if (code === 0 && url && !/^(https?:\/\/|data:image\/)/i.test(url)) {
        // The start example's placeholder url "string" is neither a page nor a QR code image: refused, named.
        expect(result).toMatchObject({
          reason: 'refused-url',
          message: expect.stringContaining(`"data.url": expected an http(s) URL or a data:image/ URL`),
        });
      } else if (code === 0) expect(outcome).toEqual({ ok: true, value: data });
      else {
        expect(result).toBeInstanceOf(AitoearnApiError);
        expect(result).toMatchObject({ code, kind: KINDS[code], httpStatus: 200 });
      }
    },
  );
});

describe("Prism's own answers", () => {
  it("turns Prism's HTTP 401 problem (no X-Api-Key) into a terminal transport error, and the waiter stops at once", async () => {
    const { client: c, recorder } = client(prismUrl, { remove: ['X-Api-Key'] });
    const error = await getAuthStatus(c, PARAMS).catch((e: unknown) => e);
    expect(recorder.exchanges[0]).toMatchObject({ status: 401, contentType: 'application/problem+json' });
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ reason: 'http-status', httpStatus: 401 });
    expect(isTransient(error)).toBe(false);

    const waited = await waitForAuth(c, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(waited).toMatchObject({ name: 'AitoearnTransportError', httpStatus: 401 });
    expect(recorder.sent()).toBe(2);
  });

  it('ends waitForAuth as expired after exactly one request on the default example (pending, expiresAt past)', async () => {
    // Prism's default is the operation's first example; the test relies on what it holds.
    const data = envelopeOf(statusExamples[0] as SpecExample).data as AuthSession;
    expect(data.status).toBe('pending');
    expect(Date.parse(data.expiresAt ?? '')).toBeLessThan(Date.now());
    const { client: c, recorder } = client();
    const error = await waitForAuth(c, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthExpiredError);
    expect((error as AuthExpiredError).session).toEqual(data);
    expect(recorder.sent()).toBe(1);
  });
});

const sessionLabel = (s: AuthSession) =>
  `session ${s.status} ${typeof s.sessionId} ${typeof s.requiresSelection}`;

/** A label per error; throws on anything that is not one of our errors. */
function errorLabel(error: unknown): string {
  if (!(error instanceof AitoearnError)) throw new Error('An untyped error escaped', { cause: error });
  const detail =
    error instanceof AitoearnApiError
      ? error.kind
      : error instanceof AitoearnTransportError
        ? error.reason
        : '';
  return `${error.name} ${detail}`;
}

describe('generated responses (prism mock -d)', () => {
  const RUNS = 200;
  let dynamic: PrismServer | undefined;
  beforeAll(async () => {
    dynamic = await startPrism({ mode: 'mock', dynamic: true });
  }, 60_000);
  afterAll(() => dynamic?.stop());

  it.each([
    [
      'getAuthStatus',
      (c: AitoearnClient) => getAuthStatus(c, PARAMS).then(({ session }) => sessionLabel(session)),
    ],
    [
      'startAuth',
      (c: AitoearnClient) => startAuth(c, { platform: 'douyin' }).then((s) => `start ${typeof s.sessionId}`),
    ],
  ])(`ends each of ${RUNS} %s calls in an answer or one of our errors`, async (_name, call) => {
    // Prism's generator never sends `code: 0` (the schema gives `code` no enum): every other response gets
    // code 0, to drive the generated `data` (random status, dates, accounts) through the answer path.
    const transform = (res: Response, i: number) => (i % 2 ? withCodeZero(res) : Promise.resolve(res));
    const { client: c, recorder } = client(dynamic?.url, { transform });
    const labels = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next++ < RUNS) {
        const outcome = await settle(call(c));
        labels.add(outcome.ok ? outcome.value : errorLabel(outcome.error));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(recorder.exchanges.length).toBeGreaterThanOrEqual(RUNS);
    expect(recorder.exchanges.every((e) => e.status === 200)).toBe(true);
    expect(labels.size, [...labels].join('; ')).toBeGreaterThanOrEqual(2);
    for (const label of labels) expect(label).toMatch(/^(session \w+ string boolean|start string|Aitoearn)/);
  });
});
