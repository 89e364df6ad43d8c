import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { parse } from 'yaml';
import { createAitoearnClient } from '../src/client.js';
import { AitoearnInputError } from '../src/errors.js';
import { endingPage } from '../src/sandbox/pages.js';
import { describeBinding, hostAllowed, hostPolicy } from '../src/sandbox/guard.js';
import { newRequestId, newSessionId } from '../src/sandbox/sessions.js';
import {
  formatSandboxRequest,
  SANDBOX_API_KEY,
  type Sandbox,
  SandboxListenError,
  type SandboxRequest,
  type SandboxSessionSpec,
  startSandbox,
} from '../src/sandbox/index.js';
import { emfile, liveServerAt } from './helpers/live-server.js';

// ---------------------------------------------------------------------------------------------------------
// The spec's schema, checked by hand (no validator dependency): types, required properties, enums.

interface SchemaNode {
  type?: string;
  format?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

const spec = parse(readFileSync(new URL('../openapi/aitoearn.openapi.yaml', import.meta.url), 'utf8')) as {
  components: { schemas: { AuthSessionStatusVo: SchemaNode; AuthStartVo: SchemaNode } };
};
const SESSION_SCHEMA = spec.components.schemas.AuthSessionStatusVo;
const START_SCHEMA = spec.components.schemas.AuthStartVo;
const SPEC_PLATFORMS = SESSION_SCHEMA.properties?.accounts?.items?.properties?.platform?.enum as string[];

/** Every way `value` breaks `schema`; properties the schema does not declare count as violations too. */
function violations(value: unknown, schema: SchemaNode, at = 'data'): string[] {
  const found: string[] = [];
  const type = schema.type;
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return [`${at} is not an object`];
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!(name in record)) found.push(`${at}.${name} is required`);
    }
    for (const [name, item] of Object.entries(record)) {
      const sub = schema.properties?.[name];
      if (!sub) found.push(`${at}.${name} is not in the schema`);
      else found.push(...violations(item, sub, `${at}.${name}`));
    }
  } else if (type === 'array') {
    if (!Array.isArray(value)) return [`${at} is not an array`];
    value.forEach((item, i) => {
      found.push(...violations(item, schema.items ?? {}, `${at}[${i}]`));
    });
  } else if (type === 'string') {
    if (typeof value !== 'string') found.push(`${at} is not a string`);
    else if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) {
      found.push(`${at} is not a date-time`);
    }
  } else if (type === 'number' || type === 'integer') {
    if (typeof value !== 'number' || !Number.isFinite(value)) found.push(`${at} is not a number`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') found.push(`${at} is not a boolean`);
  }
  if (schema.enum && !schema.enum.includes(value))
    found.push(`${at} is not one of ${schema.enum.join(', ')}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// One sandbox on a fake clock for most tests; each test makes its own sessions.

const START = Date.parse('2026-07-02T12:00:00.000Z');
let clock = START;
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ now: () => clock });
});
afterAll(async () => {
  await sandbox.close();
});

interface Answer {
  readonly res: Response;
  readonly body: Record<string, unknown>;
}

/** Every code-0 answer of the status endpoint must match the spec's schema. */
async function status(
  platform: string,
  sessionId: string,
  headers: Record<string, string> = { 'X-Api-Key': SANDBOX_API_KEY },
): Promise<Answer> {
  const res = await fetch(`${sandbox.url}/api/v2/channels/accounts/auth/${platform}/status/${sessionId}`, {
    headers,
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (body.code === 0) expect(violations(body.data, SESSION_SCHEMA)).toEqual([]);
  return { res, body };
}

async function create(spec: unknown, key: string | null = SANDBOX_API_KEY, raw?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (key !== null) headers['X-Api-Key'] = key;
  const res = await fetch(`${sandbox.url}/sandbox/sessions`, {
    method: 'POST',
    headers,
    body: raw ?? JSON.stringify(spec),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

/** Creates a session over HTTP and returns its id. */
async function newSession(spec: SandboxSessionSpec): Promise<string> {
  const { res, body } = await create(spec);
  expect(res.status).toBe(201);
  return body.sessionId as string;
}

function postForm(path: string, fields: [string, string][]): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function postJson(path: string, body?: unknown): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

// ---------------------------------------------------------------------------------------------------------

describe('the hand-written schema check', () => {
  it('finds a missing required property, a wrong enum value and an undeclared property', () => {
    const broken = { sessionId: 's', status: 'expired', typo: 1 };
    expect(violations(broken, SESSION_SCHEMA)).toEqual([
      'data.requiresSelection is required',
      'data.status is not one of pending, completed, failed',
      'data.typo is not in the schema',
    ]);
  });

  it('finds a connected account without displayName and with an unknown platform', () => {
    const broken = {
      sessionId: 's',
      status: 'completed',
      requiresSelection: false,
      accounts: [{ accountId: 'a', platform: 'myspace', platformUid: 'u' }],
    };
    expect(violations(broken, SESSION_SCHEMA)).toEqual([
      'data.accounts[0].displayName is required',
      'data.accounts[0].platform is not one of douyin, xhs, wxSph, KWAI, youtube, wxGzh, bilibili, twitter, tiktok, facebook, instagram, threads, pinterest, linkedin, google_business',
    ]);
  });
});

describe('the status endpoint answers business errors with HTTP 200, as the real API does', () => {
  it('answers code 401 without an X-Api-Key header', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('douyin', id, {});
    expect(res.status).toBe(200);
    expect(body).toEqual({
      code: 401,
      message: 'Unauthorized',
      data: {},
      timestamp: clock,
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('answers code 401 to an unknown X-Api-Key', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('douyin', id, { 'X-Api-Key': 'someone-else' });
    expect(res.status).toBe(200);
    expect(body.code).toBe(401);
    expect(body.data).toEqual({});
  });

  it('answers code 15039 for a session id it never issued', async () => {
    const { res, body } = await status('douyin', 'no-such-session');
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      code: 15039,
      message: 'Invalid or expired authorization session',
      data: {},
    });
  });

  it('answers code 15040 when the session belongs to another platform', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('youtube', id);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ code: 15040, message: 'Authorization platform does not match', data: {} });
  });

  it('answers 15040 or 15039 for a platform the spec does not know, as the real server does (never 10002)', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('myspace', id);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ code: 15040, data: {} });
    expect((await status('myspace', 'no-such-session')).body).toMatchObject({ code: 15039, data: {} });
  });

  it('checks the key before anything else, then the session, then the platform', async () => {
    expect((await status('myspace', 'no-such-session', {})).body.code).toBe(401);
    const id = await newSession({ platform: 'douyin' });
    expect((await status('youtube', id, { 'X-Api-Key': 'wrong' })).body.code).toBe(401);
  });

  it('answers Chinese messages to Accept-Language zh-CN, as in the spec examples', async () => {
    const id = await newSession({ platform: 'douyin' });
    const zh = { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' };
    expect((await status('douyin', 'gone', zh)).body.message).toBe('授权会话无效或已过期');
    expect((await status('xhs', id, zh)).body.message).toBe('授权平台不匹配');
    expect((await status('douyin', id, zh)).body.message).toBe('请求成功');
    const enFirst = { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'en-US,zh-CN;q=0.5' };
    expect((await status('douyin', 'gone', enFirst)).body.message).toBe(
      'Invalid or expired authorization session',
    );
    // The success message is Chinese in every language: the real server hard-codes it.
    expect((await status('douyin', id, enFirst)).body.message).toBe('请求成功');
    // Unauthorized comes from the framework, in English whatever the language.
    expect((await status('douyin', id, { 'Accept-Language': 'zh-CN' })).body.message).toBe('Unauthorized');
  });
});

describe('headers', () => {
  it("sends Date from the sandbox's clock and echoes x-request-id into the header and the body", async () => {
    const id = await newSession({ platform: 'douyin' });
    clock += 1234;
    const { res, body } = await status('douyin', id, {
      'X-Api-Key': SANDBOX_API_KEY,
      'x-request-id': 'trace-42',
    });
    expect(res.headers.get('date')).toBe(new Date(clock).toUTCString());
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    expect(body.requestId).toBe('trace-42');
    expect(body.code).toBe(0);
  });

  it('generates a request id when none is sent, a new one per request, on errors too', async () => {
    const first = await status('douyin', 'unknown');
    const second = await status('douyin', 'unknown', {});
    for (const { res, body } of [first, second]) {
      const header = res.headers.get('x-request-id');
      // The real server's shape: nanoid's customAlphabet of [0-9a-z], 21 characters.
      expect(header).toMatch(/^[0-9a-z]{21}$/);
      expect(body.requestId).toBe(header);
      expect(res.headers.get('date')).toBe(new Date(clock).toUTCString());
    }
    expect(first.body.requestId).not.toBe(second.body.requestId);
  });

  it('carries Date and x-request-id on the sandbox endpoints, the consent page and 404s', async () => {
    const created = await create({ platform: 'douyin' }, SANDBOX_API_KEY);
    const page = await fetch(created.body.consentUrl as string, { headers: { 'x-request-id': 'page-1' } });
    const missing = await fetch(`${sandbox.url}/nowhere`);
    for (const res of [created.res, page, missing]) {
      expect(res.headers.get('date')).toBe(new Date(clock).toUTCString());
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
    expect(page.headers.get('x-request-id')).toBe('page-1');
  });
});

describe('id shapes, as the real server makes them', () => {
  it('makes session ids of 16 characters from the whole nanoid alphabet, never starting with "-"', () => {
    const ids = Array.from({ length: 2000 }, newSessionId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/);
    expect(new Set(ids.join('')).size).toBe(64);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('makes request ids of 21 characters from [0-9a-z], all of them used', () => {
    const ids = Array.from({ length: 2000 }, newRequestId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{21}$/);
    expect(new Set(ids.join('')).size).toBe(36);
  });
});

describe('session outcomes, on a fake clock', () => {
  it('creates a session that lives 5 minutes by default and is pending', async () => {
    const { res, body } = await create({ platform: 'tiktok' });
    expect(res.status).toBe(201);
    expect(body).toEqual({
      // The real server's shape: nanoid(16).
      sessionId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      platform: 'tiktok',
      expiresAt: new Date(clock + 300_000).toISOString(),
      consentUrl: `${sandbox.url}/sandbox/consent/${String(body.sessionId)}`,
    });
    const { body: answer } = await status('tiktok', body.sessionId as string);
    expect(answer.data).toEqual({
      sessionId: body.sessionId,
      status: 'pending',
      requiresSelection: false,
      expiresAt: body.expiresAt,
    });
  });

  it('turns pending into completed once afterMs has passed, with the accounts asked for', async () => {
    const id = await newSession({
      platform: 'douyin',
      outcome: { type: 'complete', afterMs: 3000, accounts: 2 },
    });
    clock += 2999;
    expect((await status('douyin', id)).body.data).toMatchObject({
      status: 'pending',
      requiresSelection: false,
    });
    clock += 1;
    const { body } = await status('douyin', id);
    const data = body.data as Record<string, unknown>;
    expect(data).toMatchObject({ status: 'completed', requiresSelection: false });
    expect(data.accounts).toEqual([
      {
        accountId: 'sandbox-douyin-1',
        platform: 'douyin',
        platformUid: 'sandbox-uid-1',
        displayName: 'Sandbox account 1',
      },
      {
        accountId: 'sandbox-douyin-2',
        platform: 'douyin',
        platformUid: 'sandbox-uid-2',
        displayName: 'Sandbox account 2',
      },
    ]);
    expect(data.accountIds).toEqual(['sandbox-douyin-1', 'sandbox-douyin-2']);
    expect(data.accountId).toBe('sandbox-douyin-1');
  });

  it('fails with the errorCode asked for once afterMs has passed', async () => {
    const id = await newSession({
      platform: 'xhs',
      outcome: { type: 'fail', afterMs: 500, errorCode: 15045 },
    });
    expect((await status('xhs', id)).body.data).toMatchObject({ status: 'pending' });
    clock += 500;
    const { body } = await status('xhs', id);
    expect(body.data).toEqual({
      sessionId: id,
      status: 'failed',
      requiresSelection: false,
      errorCode: 15045,
      expiresAt: expect.any(String),
    });
  });

  it('asks for a selection, then completes with exactly the accounts chosen', async () => {
    const id = await newSession({
      platform: 'youtube',
      outcome: { type: 'select', accounts: ['Ann', 'Bob', 'Cy'] },
    });
    clock += 60_000;
    const pending = (await status('youtube', id)).body.data as Record<string, unknown>;
    expect(pending).toMatchObject({ status: 'pending', requiresSelection: true });
    expect(pending.selectableAccounts).toEqual([
      { platform: 'youtube', platformUid: 'sandbox-uid-1', displayName: 'Ann' },
      { platform: 'youtube', platformUid: 'sandbox-uid-2', displayName: 'Bob' },
      { platform: 'youtube', platformUid: 'sandbox-uid-3', displayName: 'Cy' },
    ]);

    const chosen = await postJson(`/sandbox/sessions/${id}/select`, {
      platformUids: ['sandbox-uid-3', 'sandbox-uid-2'],
    });
    expect(chosen.status).toBe(200);
    const answered = (await chosen.json()) as Record<string, unknown>;
    expect(answered.status).toBe('completed');
    expect(violations(answered, SESSION_SCHEMA)).toEqual([]);

    const done = (await status('youtube', id)).body.data as Record<string, unknown>;
    expect(done).toMatchObject({
      status: 'completed',
      requiresSelection: false,
      accountIds: ['sandbox-youtube-3', 'sandbox-youtube-2'],
    });
    expect(done.selectableAccounts).toBeUndefined();
    expect((done.accounts as { displayName: string }[]).map((a) => a.displayName)).toEqual(['Cy', 'Bob']);
  });

  it('picks the first account by itself when a selection session has afterMs', async () => {
    const id = await newSession({
      platform: 'bilibili',
      outcome: { type: 'select', accounts: 3, afterMs: 1000 },
    });
    expect((await status('bilibili', id)).body.data).toMatchObject({ requiresSelection: true });
    clock += 1000;
    expect((await status('bilibili', id)).body.data).toMatchObject({
      status: 'completed',
      accountIds: ['sandbox-bilibili-1'],
    });
  });

  it('refuses a selection of accounts that were not offered, and a selection on a session that asks for none', async () => {
    const id = await newSession({ platform: 'youtube', outcome: { type: 'select', accounts: 2 } });
    const bad = await postJson(`/sandbox/sessions/${id}/select`, { platformUids: ['sandbox-uid-9'] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      field: 'platformUids[0]',
      message: expect.stringContaining('"sandbox-uid-9"'),
    });
    const empty = await postJson(`/sandbox/sessions/${id}/select`, { platformUids: [] });
    expect(empty.status).toBe(400);
    const approve = await postJson(`/sandbox/sessions/${id}/approve`);
    expect(approve.status).toBe(409);

    const manual = await newSession({ platform: 'youtube' });
    const wrong = await postJson(`/sandbox/sessions/${manual}/select`, { platformUids: ['sandbox-uid-1'] });
    expect(wrong.status).toBe(409);
    expect((await status('youtube', id)).body.data).toMatchObject({
      status: 'pending',
      requiresSelection: true,
    });
  });

  it('keeps a "never" session pending until its short lifetime ends, then answers 15039', async () => {
    const id = await newSession({ platform: 'douyin', outcome: { type: 'never' }, lifetimeMs: 2000 });
    clock += 1999;
    expect((await status('douyin', id)).body.data).toMatchObject({ status: 'pending' });
    clock += 1;
    expect((await status('douyin', id)).body).toMatchObject({ code: 15039, data: {} });
  });

  it('stops reporting a completed session at expiresAt, answering 15039 instead', async () => {
    const id = await newSession({
      platform: 'douyin',
      outcome: { type: 'complete', afterMs: 0 },
      lifetimeMs: 10_000,
    });
    clock += 9999;
    expect((await status('douyin', id)).body.data).toMatchObject({ status: 'completed' });
    clock += 1;
    expect((await status('douyin', id)).body.code).toBe(15039);
    // Time does not bring it back: the expired session was dropped.
    clock -= 5000;
    expect((await status('douyin', id)).body.code).toBe(15039);
    clock += 5000;
  });

  it('uses the sandbox-wide sessionLifetimeMs and an in-process createSession', async () => {
    let now = START;
    const short = await startSandbox({ sessionLifetimeMs: 1000, now: () => now });
    try {
      const created = short.createSession({ platform: 'KWAI', outcome: { type: 'complete', afterMs: 10 } });
      expect(created.expiresAt).toBe(new Date(START + 1000).toISOString());
      expect(created.consentUrl).toBe(`${short.url}/sandbox/consent/${created.sessionId}`);
      const ask = () =>
        fetch(`${short.url}/api/v2/channels/accounts/auth/KWAI/status/${created.sessionId}`, {
          headers: { 'X-Api-Key': short.apiKey },
        }).then((r) => r.json() as Promise<Record<string, unknown>>);
      now += 10;
      const { data } = await ask();
      expect(data).toMatchObject({ status: 'completed' });
      expect(violations(data, SESSION_SCHEMA)).toEqual([]);
      now += 990;
      expect((await ask()).code).toBe(15039);
      expect(() => short.createSession({ platform: 'KWAI', lifetimeMs: -1 })).toThrow(AitoearnInputError);
    } finally {
      await short.close();
    }
  });

  test.each(SPEC_PLATFORMS)('accepts the spec platform %s', async (platform) => {
    const id = await newSession({
      platform: platform as SandboxSessionSpec['platform'],
      outcome: { type: 'complete' },
    });
    expect((await status(platform, id)).body.data).toMatchObject({ status: 'completed' });
  });
});

describe('creating sessions', () => {
  it('answers HTTP 401 without a valid API key', async () => {
    expect((await create({ platform: 'douyin' }, null)).res.status).toBe(401);
    expect((await create({ platform: 'douyin' }, 'wrong-key')).res.status).toBe(401);
  });

  test.each([
    ['bad JSON', undefined, '{"platform":', 'body'],
    ['an empty body', undefined, '', 'body'],
    ['a body that is not an object', [1, 2], undefined, 'body'],
    ['a missing platform', { outcome: { type: 'never' } }, undefined, 'platform'],
    ['an unknown platform', { platform: 'myspace' }, undefined, 'platform'],
    ['an unknown field', { platform: 'douyin', lifetime: 5 }, undefined, 'lifetime'],
    ['an outcome that is not an object', { platform: 'douyin', outcome: 'complete' }, undefined, 'outcome'],
    [
      'an unknown outcome type',
      { platform: 'douyin', outcome: { type: 'explode' } },
      undefined,
      'outcome.type',
    ],
    [
      'a negative afterMs',
      { platform: 'douyin', outcome: { type: 'complete', afterMs: -5 } },
      undefined,
      'outcome.afterMs',
    ],
    [
      'afterMs as a string',
      { platform: 'douyin', outcome: { type: 'fail', afterMs: '5', errorCode: 1 } },
      undefined,
      'outcome.afterMs',
    ],
    [
      'a fractional errorCode',
      { platform: 'douyin', outcome: { type: 'fail', errorCode: 1.5 } },
      undefined,
      'outcome.errorCode',
    ],
    [
      'a missing errorCode',
      { platform: 'douyin', outcome: { type: 'fail', afterMs: 1 } },
      undefined,
      'outcome.errorCode',
    ],
    [
      'a select without accounts',
      { platform: 'douyin', outcome: { type: 'select' } },
      undefined,
      'outcome.accounts',
    ],
    [
      'zero accounts',
      { platform: 'douyin', outcome: { type: 'complete', accounts: 0 } },
      undefined,
      'outcome.accounts',
    ],
    [
      'an empty account name',
      { platform: 'douyin', outcome: { type: 'select', accounts: ['a', ' '] } },
      undefined,
      'outcome.accounts[1]',
    ],
    [
      'a field the outcome type does not take',
      { platform: 'douyin', outcome: { type: 'never', afterMs: 5 } },
      undefined,
      'outcome.afterMs',
    ],
    ['a negative lifetimeMs', { platform: 'douyin', lifetimeMs: -1 }, undefined, 'lifetimeMs'],
  ])('refuses %s with HTTP 400 naming the field', async (_name, spec, raw, field) => {
    const { res, body } = await create(spec, SANDBOX_API_KEY, raw);
    expect(res.status).toBe(400);
    expect(body.field).toBe(field);
    expect(body.message).toContain(`"${field}"`);
  });

  it('names the refused value in the message', async () => {
    const { body } = await create({ platform: 'douyin', outcome: { type: 'complete', afterMs: -5 } });
    expect(body.message).toBe('Expected "outcome.afterMs" to be a number from 0 to 2147483647, got -5.');
  });

  it('refuses more than maxSessions unexpired sessions with HTTP 429, and accepts again once one expires', async () => {
    let now = START;
    const small = await startSandbox({ maxSessions: 2, now: () => now });
    try {
      const post = () =>
        fetch(`${small.url}/sandbox/sessions`, {
          method: 'POST',
          headers: { 'X-Api-Key': SANDBOX_API_KEY },
          body: JSON.stringify({ platform: 'douyin', lifetimeMs: 1000 }),
        });
      expect((await post()).status).toBe(201);
      now += 500;
      expect((await post()).status).toBe(201);
      const full = await post();
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('1');
      expect(((await full.json()) as { message: string }).message).toContain('"maxSessions"');
      now += 500;
      expect((await post()).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});

describe('the consent page', () => {
  it('shows Approve and Deny buttons that post to the session endpoints', async () => {
    const { body } = await create({ platform: 'wxGzh', outcome: { type: 'manual', accounts: ['Main'] } });
    const res = await fetch(body.consentUrl as string);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    // Under 'no-referrer' Chrome sends `Origin: null` with this page's own form POSTs, and the cross-site
    // guard refuses them (seen in Chromium 156); 'same-origin' sends the real origin to the sandbox only.
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const html = await res.text();
    expect(html).toContain(
      `<form method="post" action="/sandbox/sessions/${String(body.sessionId)}/approve">`,
    );
    expect(html).toContain(`<form method="post" action="/sandbox/sessions/${String(body.sessionId)}/deny">`);
    expect(html).toContain('>Approve</button>');
    expect(html).toContain('>Deny</button>');
    expect(html).toContain('wxGzh');
    expect(html).not.toMatch(/<script|<link|src=/);
  });

  it('shows checkboxes for a selection and escapes a hostile display name', async () => {
    const hostile = '<script>alert("x")</script>&\'';
    const { body } = await create({
      platform: 'facebook',
      outcome: { type: 'select', accounts: [hostile, 'Page'] },
    });
    const html = await (await fetch(body.consentUrl as string)).text();
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('<input type="checkbox" name="platformUids" value="sandbox-uid-1">');
    expect(html).toContain('<input type="checkbox" name="platformUids" value="sandbox-uid-2">');
    expect(html).toContain(`action="/sandbox/sessions/${String(body.sessionId)}/select"`);
    expect(html).toContain('>Connect selected accounts</button>');
    expect(html).not.toContain('>Approve</button>');
  });

  it('approves through the form: a result page, then the session is completed', async () => {
    const id = await newSession({ platform: 'linkedin', outcome: { type: 'manual', accounts: ['Work'] } });
    const res = await postForm(`/sandbox/sessions/${id}/approve`, [['action', 'approve']]);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('Authorization approved');
    expect((await status('linkedin', id)).body.data).toMatchObject({
      status: 'completed',
      accountIds: ['sandbox-linkedin-1'],
    });
    // A second answer changes nothing, and the page says the session is done.
    const again = await postForm(`/sandbox/sessions/${id}/deny`, [['action', 'deny']]);
    expect(again.status).toBe(409);
    expect((await fetch(`${sandbox.url}/sandbox/consent/${id}`)).status).toBe(409);
    expect((await status('linkedin', id)).body.data).toMatchObject({ status: 'completed' });
  });

  it('denies through the form: the session fails with errorCode 15045', async () => {
    const id = await newSession({ platform: 'threads', outcome: { type: 'complete', afterMs: 60_000 } });
    const res = await postForm(`/sandbox/sessions/${id}/deny`, [['action', 'deny']]);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Authorization denied');
    clock += 60_000;
    expect((await status('threads', id)).body.data).toMatchObject({ status: 'failed', errorCode: 15045 });
  });

  it('selects through the form with the ticked checkboxes, and asks again when none is ticked', async () => {
    const id = await newSession({
      platform: 'instagram',
      outcome: { type: 'select', accounts: ['A', 'B', 'C'] },
    });
    const none = await postForm(`/sandbox/sessions/${id}/select`, [['action', 'select']]);
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('Tick at least one account');
    const res = await postForm(`/sandbox/sessions/${id}/select`, [
      ['platformUids', 'sandbox-uid-1'],
      ['platformUids', 'sandbox-uid-3'],
      ['action', 'select'],
    ]);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Connected: A, C.');
    expect((await status('instagram', id)).body.data).toMatchObject({
      status: 'completed',
      accountIds: ['sandbox-instagram-1', 'sandbox-instagram-3'],
    });
  });

  it('does not act on unknown or expired sessions', async () => {
    const id = await newSession({ platform: 'pinterest', lifetimeMs: 1000 });
    clock += 1000;
    expect((await fetch(`${sandbox.url}/sandbox/consent/${id}`)).status).toBe(404);
    expect((await postForm(`/sandbox/sessions/${id}/approve`, [])).status).toBe(404);
    const json = await postJson('/sandbox/sessions/never-issued/deny');
    expect(json.status).toBe(404);
    expect(((await json.json()) as Record<string, unknown>).message).toContain('"never-issued"');
  });
});

/** GET the start operation with a query; the answer's JSON body. */
async function start(
  platform: string,
  query: Record<string, string> | [string, string][] = {},
  headers: Record<string, string> = { 'X-Api-Key': SANDBOX_API_KEY },
  on: Sandbox = sandbox,
): Promise<Answer> {
  const search = new URLSearchParams(query).toString();
  const res = await fetch(
    `${on.url}/api/v2/channels/accounts/auth/${platform}${search ? `?${search}` : ''}`,
    {
      headers,
    },
  );
  const body = (await res.json()) as Record<string, unknown>;
  // Every code-0 answer of the start operation must match the spec's schema.
  if (body.code === 0) expect(violations(body.data, START_SCHEMA)).toEqual([]);
  return { res, body };
}

/** The hidden inputs of a page's form, decoded, in document order. */
function hiddenFields(html: string): [string, string][] {
  const decode = (text: string) =>
    text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  return [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map(
    (m): [string, string] => [m[1] ?? '', decode(m[2] ?? '')],
  );
}

/** Starts a session with `query`, then approves it through the consent page's form as a browser would. */
async function startAndApprove(
  query: Record<string, string>,
): Promise<{ page: Response; html: string; sessionId: string }> {
  const { body } = await start('douyin', query);
  const data = body.data as { url: string; sessionId: string };
  const consent = await fetch(data.url);
  expect(consent.status).toBe(200);
  const action = /<form method="post" action="([^"]*approve)">/.exec(await consent.text())?.[1];
  expect(action).toBe(`/sandbox/sessions/${data.sessionId}/approve`);
  const page = await postForm(action ?? '', [['action', 'approve']]);
  return { page, html: await page.text(), sessionId: data.sessionId };
}

describe('the start operation', () => {
  it('starts a session as the real server does: a 16-character id, 5 minutes, the consent page, 请求成功', async () => {
    const { res, body } = await start('douyin');
    expect(res.status).toBe(200);
    const data = body.data as Record<string, unknown>;
    expect(body).toEqual({
      code: 0,
      message: '请求成功',
      data: {
        url: `${sandbox.url}/sandbox/consent/${String(data.sessionId)}`,
        sessionId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
        expiresAt: new Date(clock + 300_000).toISOString(),
        authInstructions: { 'en-US': expect.any(String), 'zh-CN': expect.any(String) },
      },
      requestId: res.headers.get('x-request-id'),
    });
    expect(sandbox.requests.at(-1)).toMatchObject({ path: '/api/v2/channels/accounts/auth/douyin', code: 0 });
    // The session is real: the status operation reports it, and its consent page opens.
    expect((await status('douyin', data.sessionId as string)).body.data).toEqual({
      sessionId: data.sessionId,
      status: 'pending',
      requiresSelection: false,
      expiresAt: data.expiresAt,
    });
    expect((await fetch(data.url as string)).status).toBe(200);
  });

  it('gives every session its own id', async () => {
    const ids = new Set<unknown>();
    for (let i = 0; i < 20; i += 1)
      ids.add(((await start('tiktok')).body.data as { sessionId: string }).sessionId);
    expect(ids.size).toBe(20);
  });

  it('answers code 401 without a valid key, before it looks at the query', async () => {
    for (const headers of [{}, { 'X-Api-Key': 'someone-else' }]) {
      const { res, body } = await start('xhs', { callbackUrl: 'not a url' }, headers);
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ code: 401, message: 'Unauthorized', data: {} });
    }
  });

  test.each([
    ['a callbackUrl that is not a URL', { callbackUrl: 'not a url' }],
    ['an empty callbackUrl', { callbackUrl: '' }],
    ['a callbackUrl that is not http(s)', { callbackUrl: 'ftp://example.com/cb' }],
    ['a javascript: callbackUrl', { callbackUrl: 'javascript:alert(1)' }],
    ['a callbackUrl whose host would break the CSP', { callbackUrl: 'http://a;b.example/cb' }],
    ['a loopback redirectUri (127.0.0.1)', { redirectUri: 'http://127.0.0.1:5000/done' }],
    ['a loopback redirectUri (localhost)', { redirectUri: 'http://localhost:3000/done' }],
    ['a loopback redirectUri ([::1])', { redirectUri: 'http://[::1]:3000/done' }],
    ['a redirectUri with an IP address', { redirectUri: 'https://10.0.0.1/done' }],
    ['a redirectUri that is not http(s)', { redirectUri: 'ftp://example.com/done' }],
    [
      'two callbackUrls',
      [
        ['callbackUrl', 'http://127.0.0.1:1/a'],
        ['callbackUrl', 'http://127.0.0.1:1/b'],
      ],
    ],
  ] as [string, Record<string, string> | [string, string][]][])(
    'answers code 400 to %s',
    async (_name, query) => {
      const { res, body } = await start('douyin', query);
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ code: 400, data: {} });
      expect(body.timestamp).toBe(clock);
    },
  );

  test.each([
    ['a loopback callbackUrl', { callbackUrl: 'http://127.0.0.1:5000/token' }],
    ['an https callbackUrl', { callbackUrl: 'https://example.com/relay' }],
    ['a redirectUri with a domain name', { redirectUri: 'https://example.com/done' }],
    ['both', { callbackUrl: 'http://localhost:5000/t', redirectUri: 'http://app.example.org/x' }],
    ['the default group by name', { groupId: 'sandbox-group' }],
    ['an empty groupId (the default group, as upstream)', { groupId: '' }],
    ['an unknown parameter (ignored, as zod strips it)', { colour: 'blue' }],
  ])('accepts %s', async (_name, query) => {
    expect((await start('douyin', query)).body.code).toBe(0);
  });

  test.each(['xhs', 'wxSph', 'myspace', 'DouYin'])(
    'answers code 15032 for the platform %s',
    async (platform) => {
      const { body } = await start(platform);
      expect(body).toMatchObject({ code: 15032, data: {} });
    },
  );

  it('answers code 12601 for a group it does not know', async () => {
    const { body } = await start('douyin', { groupId: 'no-such-group' });
    expect(body).toMatchObject({ code: 12601, message: 'Account group not found', data: {} });
  });

  it('checks the query before the platform, and the platform before the group', async () => {
    expect((await start('xhs', { redirectUri: 'http://localhost/x' })).body.code).toBe(400);
    expect((await start('xhs', { groupId: 'no-such-group' })).body.code).toBe(15032);
  });

  it('answers in Chinese to Accept-Language zh-CN, except the success message, which is always Chinese', async () => {
    const zh = { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'zh-CN' };
    expect((await start('xhs', {}, zh)).body.message).toBe('暂不支持该平台');
    expect((await start('douyin', { groupId: 'x' }, zh)).body.message).toBe('账号分组未找到');
    expect(
      (await start('douyin', {}, { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'en' })).body.message,
    ).toBe('请求成功');
  });

  it('takes the unsupported platforms, the groups and the lifetime from its options', async () => {
    let now = START;
    const custom = await startSandbox({
      unsupportedPlatforms: ['douyin'],
      groupIds: ['team-a'],
      sessionLifetimeMs: 2000,
      now: () => now,
    });
    try {
      expect((await start('douyin', {}, undefined, custom)).body.code).toBe(15032);
      expect((await start('xhs', { groupId: 'sandbox-group' }, undefined, custom)).body.code).toBe(12601);
      const { body } = await start('xhs', { groupId: 'team-a' }, undefined, custom);
      const data = body.data as { sessionId: string; expiresAt: string };
      expect(data.expiresAt).toBe(new Date(START + 2000).toISOString());
      const ask = () =>
        fetch(`${custom.url}/api/v2/channels/accounts/auth/xhs/status/${data.sessionId}`, {
          headers: { 'X-Api-Key': SANDBOX_API_KEY },
        }).then((r) => r.json() as Promise<{ code: number }>);
      now += 1999;
      expect((await ask()).code).toBe(0);
      now += 1;
      expect((await ask()).code).toBe(15039);
    } finally {
      await custom.close();
    }
  });

  test.each([
    [{ unsupportedPlatforms: 'xhs' }, 'unsupportedPlatforms'],
    [{ groupIds: [''] }, 'groupIds[0]'],
    [{ allowedHosts: ['a b'] }, 'allowedHosts[0]'],
    [{ onRequest: 'log' }, 'onRequest'],
    [{ onError: 1 }, 'onError'],
  ])('refuses the option %o, naming "%s"', async (options, field) => {
    const error = await startSandbox(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect((error as AitoearnInputError).field).toBe(field);
  });
});

describe('the end of an approval in the browser', () => {
  it('with a callbackUrl, answers a page whose form POSTs the upstream fields to it and submits itself', async () => {
    const callbackUrl = 'http://127.0.0.1:5999/4f9a-token';
    const { page, html, sessionId } = await startAndApprove({ callbackUrl });
    expect(page.status).toBe(200);
    expect(html).toContain(`<form id="callback" method="post" action="${callbackUrl}">`);
    const account = {
      relayAccountRef: 'sandbox-douyin-1',
      nickname: 'Sandbox account 1',
      platformUid: 'sandbox-uid-1',
      platform: 'douyin',
    };
    expect(hiddenFields(html)).toEqual([
      ['relayAccountRef', account.relayAccountRef],
      ['nickname', account.nickname],
      ['avatar', ''],
      ['platformUid', account.platformUid],
      ['account', ''],
      ['platform', 'douyin'],
      ['accounts', JSON.stringify([account])],
    ]);
    // The only script: nonce'd, and it submits exactly that form.
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    const nonce = /^ nonce="([A-Za-z0-9+/=]{16,})"$/.exec(scripts[0]?.[1] ?? '')?.[1];
    expect(nonce).toBeDefined();
    expect(scripts[0]?.[2]).toBe("document.getElementById('callback').submit();");
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp.split('; ')).toEqual([
      "default-src 'none'",
      "style-src 'unsafe-inline'",
      `script-src 'nonce-${nonce}'`,
      'form-action http://127.0.0.1:5999',
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]);
    expect((await status('douyin', sessionId)).body.data).toMatchObject({ status: 'completed' });
  });

  it('uses a fresh nonce for every page', async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 3; i += 1) {
      const { page } = await startAndApprove({ callbackUrl: 'https://example.com/relay' });
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain('form-action https://example.com;');
      nonces.add(/'nonce-([^']+)'/.exec(csp)?.[1] ?? '');
    }
    expect(nonces.size).toBe(3);
  });

  it('with a callbackUrl and a redirectUri, the form carries redirectUri too, and nothing redirects', async () => {
    const { html } = await startAndApprove({
      callbackUrl: 'http://localhost:6000/t',
      redirectUri: 'https://app.example.com/done?x=1',
    });
    const fields = hiddenFields(html);
    expect(fields.map(([name]) => name)).toEqual([
      'relayAccountRef',
      'nickname',
      'avatar',
      'platformUid',
      'account',
      'platform',
      'redirectUri',
      'accounts',
    ]);
    expect(fields[6]).toEqual(['redirectUri', 'https://app.example.com/done?x=1']);
    expect(html).not.toContain('location.replace');
  });

  it('with only a redirectUri, goes there after 800 ms by location.replace, and posts no form', async () => {
    const { page, html } = await startAndApprove({ redirectUri: 'https://app.example.com/done' });
    expect(html).not.toContain('<form');
    expect(html).toContain('<a id="redirect" href="https://app.example.com/done">');
    const script = /<script nonce="([^"]+)">([^<]*)<\/script>/.exec(html);
    expect(script?.[2]).toBe(
      "setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);",
    );
    expect(page.headers.get('content-security-policy')).toContain(
      `script-src 'nonce-${script?.[1]}'; form-action 'none';`,
    );
  });

  it('on deny, shows no callback form, no redirect and no script, and the session fails', async () => {
    const { body } = await start('douyin', {
      callbackUrl: 'http://127.0.0.1:5999/t',
      redirectUri: 'https://app.example.com/done',
    });
    const { sessionId } = body.data as { sessionId: string };
    const page = await postForm(`/sandbox/sessions/${sessionId}/deny`, [['action', 'deny']]);
    const html = await page.text();
    expect(html).toContain('Authorization denied');
    expect(html).not.toMatch(/<form|<script|127\.0\.0\.1:5999|example\.com/);
    expect(page.headers.get('content-security-policy')).not.toContain('script-src');
    expect((await status('douyin', sessionId)).body.data).toMatchObject({
      status: 'failed',
      errorCode: 15045,
    });
  });

  it('escapes every account value in the form, and the JSON in accounts survives the round trip', () => {
    const hostile = `"><script>alert(1)</script>&'`;
    const accounts = [
      {
        accountId: 'a1',
        platform: 'douyin',
        platformUid: hostile,
        displayName: hostile,
        avatarUrl: 'https://x/a.png',
      },
      { accountId: 'a2', platform: 'douyin', platformUid: 'u2', displayName: 'Two', account: 'acct' },
    ];
    const html = endingPage({accounts} as never, { callbackUrl: 'http://127.0.0.1:1/t' }, 'n0nce');
    expect(html).not.toContain('<script>alert');
    const fields = new Map(hiddenFields(html));
    expect(fields.get('nickname')).toBe(hostile);
    expect(fields.get('avatar')).toBe('https://x/a.png');
    expect(JSON.parse(fields.get('accounts') ?? '')).toEqual([
      {
        relayAccountRef: 'a1',
        nickname: hostile,
        avatar: 'https://x/a.png',
        platformUid: hostile,
        platform: 'douyin',
      },
      { relayAccountRef: 'a2', nickname: 'Two', platformUid: 'u2', account: 'acct', platform: 'douyin' },
    ]);
  });

  it('ends a POST /sandbox/sessions approval, which has no callback, with the closing text as before', async () => {
    const id = await newSession({ platform: 'douyin' });
    const page = await postForm(`/sandbox/sessions/${id}/approve`, [['action', 'approve']]);
    const html = await page.text();
    expect(html).toContain('You can close this window.');
    expect(html).not.toMatch(/<form|<script/);
  });
});

describe('routing', () => {
  test.each([
    ['GET', '/'],
    ['GET', '/api/v2/channels/accounts/auth/douyin/status/'],
    ['GET', '/api/v2/channels/accounts/auth/douyin/status/a/b'],
    ['POST', '/sandbox/sessions/x/explode'],
    ['GET', '/sandbox/consent/%E0%A4%A'],
  ])('answers %s %s with HTTP 404 JSON', async (method, path) => {
    const res = await fetch(`${sandbox.url}${path}`, { method });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 404, requestId: res.headers.get('x-request-id') });
  });

  test.each([
    ['POST', '/api/v2/channels/accounts/auth/douyin/status/abc', 'GET'],
    ['GET', '/sandbox/sessions', 'POST'],
    ['DELETE', '/sandbox/sessions/abc/approve', 'POST'],
    ['POST', '/sandbox/consent/abc', 'GET'],
  ])('answers %s %s with HTTP 405 and Allow: %s', async (method, path, allow) => {
    const res = await fetch(`${sandbox.url}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await res.json()).toMatchObject({ code: 405 });
  });

  it('logs every request it answers, with the business code of status answers', async () => {
    const before = sandbox.requestCount;
    await status('douyin', 'logged-session', { 'X-Api-Key': SANDBOX_API_KEY });
    await fetch(`${sandbox.url}/nowhere?q=1`);
    expect(sandbox.requestCount).toBe(before + 2);
    expect(sandbox.requests.slice(-2)).toEqual([
      {
        method: 'GET',
        path: '/api/v2/channels/accounts/auth/douyin/status/logged-session',
        at: clock,
        httpStatus: 200,
        code: 15039,
        durationMs: expect.any(Number),
      },
      { method: 'GET', path: '/nowhere', at: clock, httpStatus: 404, durationMs: expect.any(Number) },
    ]);
  });
});

/** A request with headers fetch would not let us set (Host), over node:http. */
function rawRequest(
  on: Sandbox,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { port } = new URL(on.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: Number(port), method, path, headers, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('cross-site requests and DNS rebinding (issue 11, item 20)', () => {
  const own = () => new URL(sandbox.url).host;
  const port = () => new URL(sandbox.url).port;

  test.each([
    ['another site', { Origin: 'https://evil.example' }],
    ['another port of this machine', { Origin: 'http://127.0.0.1:1' }],
    ['an opaque origin (Origin: null)', { Origin: 'null' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
  ])('refuses a form POST from %s with 403, and the session stays pending', async (_name, headers) => {
    for (const action of ['approve', 'deny', 'select'] as const) {
      const id = await newSession({
        platform: 'douyin',
        outcome: action === 'select' ? { type: 'select', accounts: 2 } : { type: 'manual' },
      });
      const res = await fetch(`${sandbox.url}/sandbox/sessions/${id}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body: 'platformUids=sandbox-uid-1',
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toContain('Cross-site request refused');
      expect((await status('douyin', id)).body.data).toMatchObject({ status: 'pending' });
    }
  });

  it('refuses a cross-site POST that would create a session', async () => {
    const res = await fetch(`${sandbox.url}/sandbox/sessions`, {
      method: 'POST',
      headers: { 'X-Api-Key': SANDBOX_API_KEY, Origin: 'https://evil.example' },
      body: JSON.stringify({ platform: 'douyin' }),
    });
    expect(res.status).toBe(403);
  });

  it("accepts the sandbox's own pages (same Origin, Sec-Fetch-Site same-origin) and scripts without Origin", async () => {
    const fromPage = await newSession({ platform: 'douyin' });
    const page = await fetch(`${sandbox.url}/sandbox/sessions/${fromPage}/approve`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: sandbox.url,
        'Sec-Fetch-Site': 'same-origin',
      },
      body: 'action=approve',
    });
    expect(page.status).toBe(200);
    const fromScript = await newSession({ platform: 'douyin' });
    expect((await postJson(`/sandbox/sessions/${fromScript}/deny`)).status).toBe(200);
  });

  test.each([
    ['a domain name (DNS rebinding)', 'evil.example:PORT'],
    ['a loopback name on another port', '127.0.0.1:1'],
    ['no port (port 80)', 'localhost'],
    ['a name with a path', 'localhost:PORT/x'],
  ])('refuses Host %s with 403 on every route', async (_name, host) => {
    const header = host.replace('PORT', port());
    const id = await newSession({ platform: 'douyin' });
    const key = { 'X-Api-Key': SANDBOX_API_KEY, Host: header };
    const answers = [
      await rawRequest(sandbox, 'GET', `/api/v2/channels/accounts/auth/douyin/status/${id}`, key),
      await rawRequest(sandbox, 'GET', '/api/v2/channels/accounts/auth/douyin', key),
      await rawRequest(sandbox, 'GET', `/sandbox/consent/${id}`, { Host: header }),
      await rawRequest(sandbox, 'POST', `/sandbox/sessions/${id}/approve`, { Host: header }),
      await rawRequest(sandbox, 'POST', '/sandbox/sessions', key, '{"platform":"douyin"}'),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.text).toContain('Invalid Host header');
    }
    expect((await status('douyin', id)).body.data).toMatchObject({ status: 'pending' });
  });

  it('refuses an HTTP/1.0 request without Host', async () => {
    const socket = connect(Number(port()), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.write('GET /sandbox/consent/x HTTP/1.0\r\n\r\n');
    await new Promise((resolve) => socket.once('end', resolve));
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
  });

  test.each([
    ['its own host', 'OWN'],
    ['localhost', 'localhost:PORT'],
    ['a *.localhost name', 'app.localhost:PORT'],
    ['another 127/8 address', '127.0.0.2:PORT'],
    ['[::1]', '[::1]:PORT'],
    ['upper case', 'LOCALHOST:PORT'],
  ])('accepts Host with %s', async (_name, host) => {
    const header = host === 'OWN' ? own() : host.replace('PORT', port());
    const answer = await rawRequest(sandbox, 'GET', '/api/v2/channels/accounts/auth/douyin/status/x', {
      'X-Api-Key': SANDBOX_API_KEY,
      Host: header,
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 15039 });
  });

  it('accepts the names given in allowedHosts, and no others', async () => {
    const named = await startSandbox({ allowedHosts: ['Sandbox.Test'] });
    try {
      const p = new URL(named.url).port;
      const ask = (host: string) => rawRequest(named, 'GET', '/sandbox/consent/x', { Host: host });
      expect((await ask(`sandbox.test:${p}`)).status).toBe(404);
      expect((await ask(`other.test:${p}`)).status).toBe(403);
    } finally {
      await named.close();
    }
  });

  it('lets through IP addresses only when bound beyond loopback (a pure policy, nothing binds 0.0.0.0)', () => {
    const local = hostPolicy('127.0.0.1', 4000, new Set());
    const wide = hostPolicy('0.0.0.0', 4000, new Set());
    expect(hostAllowed('192.168.1.20:4000', local)).toBe(false);
    expect(hostAllowed('192.168.1.20:4000', wide)).toBe(true);
    expect(hostAllowed('[fe80::1]:4000', wide)).toBe(true);
    expect(hostAllowed('evil.example:4000', wide)).toBe(false);
    expect(hostAllowed('192.168.1.20:4001', wide)).toBe(false);
  });
});

describe('binding beyond loopback (issue 11, item 21)', () => {
  test.each([
    ['0.0.0.0', 'http://127.0.0.1:4000', 1],
    ['::', 'http://[::1]:4000', 1],
    ['192.168.1.5', 'http://192.168.1.5:4000', 2],
    ['127.0.0.1', 'http://127.0.0.1:4000', 0],
    ['localhost', 'http://localhost:4000', 0],
    ['::1', 'http://[::1]:4000', 0],
  ])('bound to %s, is reached at %s, with %i warning(s)', (host, url, count) => {
    const binding = describeBinding(host, 4000);
    expect(binding.url).toBe(url);
    expect(binding.warnings).toHaveLength(count);
    if (count > 0) expect(binding.warnings[0]).toContain('need no key');
    // The URL it prints for every interface is one the client accepts over plain http.
    if (host === '0.0.0.0' || host === '::') {
      expect(() => createAitoearnClient({ apiKey: SANDBOX_API_KEY, baseUrl: binding.url })).not.toThrow();
    }
  });

  it('has no warnings on the default loopback address', () => {
    expect(sandbox.warnings).toEqual([]);
  });
});

describe('failures of the listening server (issue 11, items 22 and 23)', () => {
  const serverOf = (on: Sandbox) => liveServerAt(on.url);

  it("reports an 'error' after start-up to onError and keeps serving", async () => {
    const seen: Error[] = [];
    const running = await startSandbox({ onError: (error) => seen.push(error) });
    try {
      const error = emfile();
      // Without a listener, emit would throw here: in a real server, that crashes the process.
      serverOf(running).emit('error', error);
      expect(seen).toEqual([error]);
      const { sessionId } = running.createSession({ platform: 'douyin', outcome: { type: 'complete' } });
      const res = await fetch(`${running.url}/api/v2/channels/accounts/auth/douyin/status/${sessionId}`, {
        headers: { 'X-Api-Key': SANDBOX_API_KEY },
      });
      expect(((await res.json()) as { data: { status: string } }).data.status).toBe('completed');
    } finally {
      await running.close();
    }
  });

  it('by default warns once per kind of error, however often it repeats', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'SandboxWarning') warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    const running = await startSandbox();
    try {
      for (let i = 0; i < 100; i += 1) serverOf(running).emit('error', emfile());
      serverOf(running).emit('error', Object.assign(new Error('accept ENFILE'), { code: 'ENFILE' }));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([
        'The sandbox server failed (accept EMFILE); it keeps serving.',
        'The sandbox server failed (accept ENFILE); it keeps serving.',
      ]);
    } finally {
      process.off('warning', onWarning);
      await running.close();
    }
  });

  it('rejects with SandboxListenError, naming the address and EADDRINUSE, when the port is taken', async () => {
    const port = Number(new URL(sandbox.url).port);
    const error = await startSandbox({ port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxListenError);
    expect(error).toMatchObject({ code: 'EADDRINUSE', host: '127.0.0.1', port });
    expect((error as Error).message).toBe(
      `Cannot listen on 127.0.0.1:${port}: the port is already in use (choose another port, or port 0 for a free one) (EADDRINUSE).`,
    );
  });
});

describe('the request log (issue 11, item 23: --verbose)', () => {
  it('calls onRequest once per answer, with method, path, status, code and duration, never the key or the query', async () => {
    const lines: string[] = [];
    const entries: SandboxRequest[] = [];
    const secret = 'sk-live-0123456789abcdef';
    const logged = await startSandbox({
      apiKeys: [secret],
      onRequest: (entry) => {
        entries.push(entry);
        lines.push(formatSandboxRequest(entry));
      },
    });
    try {
      const key = { 'X-Api-Key': secret };
      await fetch(`${logged.url}/api/v2/channels/accounts/auth/douyin?callbackUrl=http://127.0.0.1:9/tok`, {
        headers: key,
      });
      await fetch(`${logged.url}/api/v2/channels/accounts/auth/douyin/status/${secret}`, { headers: key });
      await fetch(`${logged.url}/nowhere/%1b[2J`);
      expect(entries).toHaveLength(3);
      expect(entries.map((e) => e.durationMs >= 0)).toEqual([true, true, true]);
      expect(lines).toEqual([
        expect.stringMatching(/^GET \/api\/v2\/channels\/accounts\/auth\/douyin 200 code=0 \d+ms$/),
        expect.stringMatching(
          /^GET \/api\/v2\/channels\/accounts\/auth\/douyin\/status\/\[redacted\] 200 code=15039 \d+ms$/,
        ),
        expect.stringMatching(/^GET \/nowhere\/%1b\[2J 404 \d+ms$/),
      ]);
      expect(lines.join('\n')).not.toContain(secret);
    } finally {
      await logged.close();
    }
  });

  it('escapes characters that could drive a terminal', () => {
    const line = formatSandboxRequest({
      method: 'GET',
      path: '/a\u001b[2Jb\u202e',
      at: 0,
      httpStatus: 404,
      durationMs: 1.4,
    });
    expect(line).toBe('GET /a\\x1b[2Jb\\u202e 404 1ms');
  });

  it('survives an onRequest that throws', async () => {
    const throwing = await startSandbox({
      onRequest: () => {
        throw new Error('logger broke');
      },
    });
    try {
      expect((await fetch(`${throwing.url}/nowhere`)).status).toBe(404);
      expect((await fetch(`${throwing.url}/nowhere`)).status).toBe(404);
    } finally {
      await throwing.close();
    }
  });
});

describe('options and lifecycle', () => {
  test.each([
    [{ port: -1 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ host: 'a b' }, 'host'],
    [{ apiKeys: [] }, 'apiKeys'],
    [{ apiKeys: ['ok', 'has space'] }, 'apiKeys[1]'],
    [{ sessionLifetimeMs: 0 }, 'sessionLifetimeMs'],
    [{ maxSessions: 0 }, 'maxSessions'],
    [{ now: 'yesterday' }, 'now'],
    [{ now: () => Number.NaN }, 'now'],
  ])('refuses %o, naming "%s"', async (options, field) => {
    const error = await startSandbox(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect((error as AitoearnInputError).field).toBe(field);
    expect((error as Error).message).toContain(`"${field}"`);
  });

  it('accepts the keys given in apiKeys and no others', async () => {
    const keyed = await startSandbox({ apiKeys: ['key-a', 'key-b'] });
    try {
      const { sessionId } = keyed.createSession({ platform: 'twitter' });
      const ask = (key: string) =>
        fetch(`${keyed.url}/api/v2/channels/accounts/auth/twitter/status/${sessionId}`, {
          headers: { 'X-Api-Key': key },
        }).then((r) => r.json() as Promise<{ code: number }>);
      expect(keyed.apiKey).toBe('key-a');
      expect((await ask('key-b')).code).toBe(0);
      expect((await ask(SANDBOX_API_KEY)).code).toBe(401);
    } finally {
      await keyed.close();
    }
  });

  it('leaves no server, socket or timer behind after close()', async () => {
    const watched = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'];
    const count = () => process.getActiveResourcesInfo().filter((r) => watched.includes(r)).length;
    // Sandboxes closed by earlier tests may still be releasing sockets: wait until the count holds still.
    const settle = async () => {
      let last = count();
      for (let turn = 0, still = 0; turn < 500 && still < 20; turn += 1) {
        await new Promise((resolve) => setImmediate(resolve));
        still = count() === last ? still + 1 : 0;
        last = count();
      }
      return last;
    };
    const before = await settle();
    const temporary = await startSandbox();
    const { sessionId } = temporary.createSession({ platform: 'douyin' });
    // Keep-alive connections stay open in fetch's pool until the server closes them.
    await fetch(`${temporary.url}/api/v2/channels/accounts/auth/douyin/status/${sessionId}`, {
      headers: { 'X-Api-Key': SANDBOX_API_KEY },
    }).then((r) => r.text());
    await fetch(`${temporary.url}/sandbox/consent/${sessionId}`).then((r) => r.text());
    expect(count()).toBeGreaterThan(before);
    // A request whose body never finishes: only closeAllConnections() ends it (close() alone waits for it).
    const { port } = new URL(temporary.url);
    const stuck = connect(Number(port), '127.0.0.1');
    const stuckClosed = new Promise((resolve) => stuck.once('close', resolve));
    await new Promise((resolve) => stuck.once('connect', resolve));
    stuck.write(
      `POST /sandbox/sessions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Api-Key: ${SANDBOX_API_KEY}\r\nContent-Length: 100\r\n\r\n{`,
    );
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    await temporary.close();
    await temporary.close();
    await stuckClosed;
    // The client side of each socket sees the server's FIN a few event-loop turns later. Resources of
    // earlier tests may finish closing meanwhile, so the count may fall below the baseline, never above.
    await settle();
    expect(count()).toBeLessThanOrEqual(before);
    // And the port itself is closed.
    const refused = await new Promise<string>((resolve) => {
      const probe = connect(Number(port), '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  }, 5_000);
});
