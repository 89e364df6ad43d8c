import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { parse } from 'yaml';
import { AitoearnInputError } from '../src/errors.js';
import {
  SANDBOX_API_KEY,
  type Sandbox,
  type SandboxSessionSpec,
  startSandbox,
} from '../src/sandbox/index.js';

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
  components: { schemas: { AuthSessionStatusVo: SchemaNode } };
};
const SESSION_SCHEMA = spec.components.schemas.AuthSessionStatusVo;
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
      message: 'Authorization session is invalid or expired',
      data: {},
    });
  });

  it('answers code 15040 when the session belongs to another platform', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('youtube', id);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ code: 15040, message: 'Authorization platform mismatch', data: {} });
  });

  it('answers code 10002 for a platform the spec does not know', async () => {
    const id = await newSession({ platform: 'douyin' });
    const { res, body } = await status('myspace', id);
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ code: 10002, data: {} });
  });

  it('answers Chinese messages to Accept-Language zh-CN, as in the spec examples', async () => {
    const id = await newSession({ platform: 'douyin' });
    const zh = { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' };
    expect((await status('douyin', 'gone', zh)).body.message).toBe('授权会话无效或已过期');
    expect((await status('xhs', id, zh)).body.message).toBe('授权平台不匹配');
    expect((await status('douyin', id, zh)).body.message).toBe('请求成功');
    const enFirst = { 'X-Api-Key': SANDBOX_API_KEY, 'Accept-Language': 'en-US,zh-CN;q=0.5' };
    expect((await status('douyin', 'gone', enFirst)).body.message).toBe(
      'Authorization session is invalid or expired',
    );
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
      expect(header).toMatch(/^[0-9a-f-]{36}$/);
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

describe('session outcomes, on a fake clock', () => {
  it('creates a session that lives 5 minutes by default and is pending', async () => {
    const { res, body } = await create({ platform: 'tiktok' });
    expect(res.status).toBe(201);
    expect(body).toEqual({
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
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
      },
      { method: 'GET', path: '/nowhere', at: clock, httpStatus: 404 },
    ]);
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
      `POST /sandbox/sessions HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${SANDBOX_API_KEY}\r\nContent-Length: 100\r\n\r\n{`,
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
