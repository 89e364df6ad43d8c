/** The client against a Prism mock of the vendored spec: every example, Prism's own answers, generated ones. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrismServer, startPrism } from '../../scripts/prism.js';
import * as api from '../../src/index.js';
import { START_PATH, STATUS_PATH } from '../../src/operations.js';
import { type InstrumentOptions, instrumentedFetch, withCodeZero } from './instrumented-fetch.js';
import { envelopeOf, type SpecExample, specExamples } from './spec-examples.js';

const { AitoearnApiError, AitoearnTransportError, getAuthStatus, startAuth, waitForAuth } = api;
// The spec's examples answer `sessionId: "string"`: ask for that session, or the client rightly refuses an
// answer about another one.
const PARAMS = { platform: 'douyin', sessionId: 'string' } as const;
/** What DESIGN.md says each business code in the spec's examples means (a new code fails until added). */
const KINDS: Record<number, api.AitoearnApiErrorKind> = {
  401: 'unauthorized',
  10002: 'validation',
  15039: 'session-invalid',
  15040: 'platform-mismatch',
};
const examples = specExamples();
const statusExamples = examples.filter((e) => e.path === STATUS_PATH);
/** The client's call for each operation, and what a code-0 answer resolves to. */
const CALLS: Record<string, (client: api.AitoearnClient) => Promise<unknown>> = {
  [STATUS_PATH]: (c) => getAuthStatus(c, PARAMS).then((r) => r.session),
  [START_PATH]: (c) => startAuth(c, { platform: PARAMS.platform }).then(({ requestId: _, ...data }) => data),
};

let prism: PrismServer;
beforeAll(async () => {
  prism = await startPrism({ mode: 'mock' });
}, 90_000);
afterAll(async () => {
  await prism?.stop();
  expect(prism.child.exitCode ?? prism.child.signalCode).not.toBeNull();
});

function client(options: InstrumentOptions = {}) {
  const recorder = instrumentedFetch(options);
  const c = api.createAitoearnClient({ apiKey: 'contract-key', baseUrl: prism.url, fetch: recorder.fetch });
  return { recorder, client: c };
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
      const Prefer = `code=${example.status}, example=${example.name}`;
      const { client: c, recorder } = client({ set: { Prefer } });
      const outcome = await settle(call(c));
      const result = outcome.ok ? outcome.value : outcome.error;
      // Prism served exactly this example (an unknown example name would be a 404 problem).
      const served = recorder.exchanges.map((e) => [e.status, JSON.parse(e.body)]);
      expect(served).toEqual([[Number(example.status), example.value]]);
      const url = example.path === START_PATH ? String((data as { url?: unknown })?.url ?? '') : '';
      if (example.status !== '200') expect(result).toBeInstanceOf(AitoearnTransportError);
      else if (code === 0 && url && !/^(https?:\/\/|data:image\/)/i.test(url)) {
        // The start example's placeholder url "string" is neither a page nor a QR code image: refused, named.
        const message = expect.stringContaining(`"data.url": expected an http(s) URL or a data:image/ URL`);
        expect(result).toMatchObject({ reason: 'refused-url', message });
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
    const { client: c, recorder } = client({ remove: ['X-Api-Key'] });
    const error = await getAuthStatus(c, PARAMS).catch((e: unknown) => e);
    expect(recorder.exchanges[0]).toMatchObject({ status: 401, contentType: 'application/problem+json' });
    expect(error).toBeInstanceOf(AitoearnTransportError);
    expect(error).toMatchObject({ reason: 'http-status', httpStatus: 401 });
    expect(api.isTransient(error)).toBe(false);
    const waited = await waitForAuth(c, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(waited).toMatchObject({ name: 'AitoearnTransportError', httpStatus: 401 });
    expect(recorder.sent()).toBe(2);
  });

  it('ends waitForAuth as expired after exactly one request on the default example (pending, expiresAt past)', async () => {
    // Prism's default is the operation's first example; the test relies on what it holds.
    const data = envelopeOf(statusExamples[0] as SpecExample).data as api.AuthSession;
    expect(data.status).toBe('pending');
    expect(Date.parse(data.expiresAt ?? '')).toBeLessThan(Date.now());
    const { client: c, recorder } = client();
    const error = await waitForAuth(c, { ...PARAMS, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(api.AuthExpiredError);
    expect((error as api.AuthExpiredError).session).toEqual(data);
    expect(recorder.sent()).toBe(1);
  });
});

/** A label per outcome; throws on an error that is not one of ours. */
function label(outcome: Awaited<ReturnType<typeof settle<string>>>): string {
  if (outcome.ok) return outcome.value;
  const { error } = outcome;
  if (!(error instanceof api.AitoearnError)) throw new Error('An untyped error escaped', { cause: error });
  return `${error.name} ${'kind' in error ? error.kind : 'reason' in error ? error.reason : ''}`;
}

const session = ({ session: s }: api.AuthStatusResult) =>
  `session ${s.status} ${typeof s.sessionId} ${typeof s.requiresSelection}`;
const started = (s: { sessionId: unknown }) => `start ${typeof s.sessionId}`;
it.each([
  ['getAuthStatus', (c: api.AitoearnClient) => getAuthStatus(c, PARAMS).then(session)],
  ['startAuth', (c: api.AitoearnClient) => startAuth(c, { platform: 'douyin' }).then(started)],
])(
  'ends each of 200 %s calls on generated answers (Prefer: dynamic=true) in an answer or one of our errors',
  async (_name, call) => {
    // Prism's generator never sends `code: 0` (the schema gives `code` no enum): every other answer gets
    // code 0, to drive the generated `data` (random status, dates, accounts) through the answer path.
    const transform = (res: Response, i: number) => (i % 2 ? withCodeZero(res) : Promise.resolve(res));
    const { client: c, recorder } = client({ set: { Prefer: 'dynamic=true' }, transform });
    const labels = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next++ < 200) labels.add(label(await settle(call(c))));
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(recorder.exchanges.length).toBeGreaterThanOrEqual(200);
    expect(recorder.exchanges.every((e) => e.status === 200)).toBe(true);
    expect(labels.size, [...labels].join('; ')).toBeGreaterThanOrEqual(2);
    for (const label of labels) expect(label).toMatch(/^(session \w+ string boolean|start string|Aitoearn)/);
  },
);
