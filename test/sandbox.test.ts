// The sandbox over real sockets, on a fake clock; the contract test checks its answers against the spec.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, test, vi } from 'vitest';
import { createAitoearnClient } from '../src/client.js';
import { AitoearnInputError } from '../src/errors.js';
import { describeBinding, hostGuard } from '../src/sandbox/guard.js';
import * as SB from '../src/sandbox/index.js';
import { newRequestId, newSessionId } from '../src/sandbox/sessions.js';
import { readSpec } from './contract/spec-examples.js';
import { rawRequest } from './helpers/http-server.js';
import { emfile, listeningServers, liveServerAt } from './helpers/live-server.js';

const START = Date.parse('2026-07-02T12:00:00.000Z');
let clock = START;
let sandbox: SB.Sandbox;
beforeAll(async () => {
  sandbox = await SB.startSandbox({ now: () => clock });
});
afterAll(() => sandbox.close());

// biome-ignore lint/suspicious/noExplicitAny: answers are asserted on, not trusted.
type Json = any;
type Fields = Record<string, string>;
const KEY: Fields = { 'X-Api-Key': SB.SANDBOX_API_KEY };
const ZH = { ...KEY, 'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8' };
const API = '/api/v2/channels/accounts/auth';
const HTML = 'text/html; charset=utf-8';

async function call(path: string, init: RequestInit = {}, on = sandbox) {
  const res = await fetch(`${on.url}${path}`, init);
  const text = await res.text();
  return { res, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as Json };
}
const status = (platform: string, id: string, headers = KEY, on = sandbox) =>
  call(`${API}/${platform}/status/${id}`, { headers }, on);
const start = (platform: string, query = '', headers = KEY, on = sandbox) =>
  call(`${API}/${platform}?${query}`, { headers }, on);
const text = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const post = (path: string, body: unknown = {}, headers: Fields = {}) => {
  const type = typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json';
  return call(path, { method: 'POST', headers: { 'Content-Type': type, ...headers }, body: text(body) });
};
const create = (spec: unknown, headers = KEY) =>
  call('/sandbox/sessions', { method: 'POST', headers, body: text(spec) });
const session = (spec: SB.SandboxSessionSpec) => sandbox.createSession(spec).sessionId;
const data = async (platform: string, id: string) => (await status(platform, id)).body.data;
const uid = (n: number) => `sandbox-uid-${n}`;
const iso = (ms: number) => new Date(ms).toISOString();
async function withSandbox(options: SB.SandboxOptions, run: (running: SB.Sandbox) => Promise<void>) {
  const running = await SB.startSandbox(options);
  await run(running).finally(() => running.close());
}

describe('the API operations answer as the real server does: HTTP 200, the outcome in the envelope', () => {
  const [NO_KEY, GONE, BAD] = ['Unauthorized', 'Invalid or expired authorization session', 'Bad request'];
  const [PLUGIN, OK] = ['Platform not supported for update published post', '请求成功'];
  // A path after `…/auth/`; OWN is a douyin session of the sandbox's.
  test.each([
    ['douyin/status/OWN', {}, 401, NO_KEY],
    ['myspace/status/none', {}, 401, NO_KEY], // the key before the session and the platform
    ['douyin/status/OWN', { 'Accept-Language': 'zh-CN' }, 401, NO_KEY], // English whatever the language
    ['douyin/status/none', KEY, 15039, GONE],
    ['youtube/status/OWN', KEY, 15040, 'Authorization platform does not match'],
    ['myspace/status/OWN', ZH, 15040, '授权平台不匹配'], // an unknown platform: never 10002
    ['myspace/status/none', KEY, 15039, GONE],
    ['douyin/status/none', ZH, 15039, '授权会话无效或已过期'],
    ['douyin/status/none', { ...KEY, 'Accept-Language': 'en-US,zh-CN;q=0.5' }, 15039, GONE],
    ['douyin/status/OWN', { ...KEY, 'Accept-Language': 'en' }, 0, OK], // hard-coded, whatever the language
    ['xhs?callbackUrl=x', {}, 401, NO_KEY], // the key before the query
    ['douyin', { 'X-Api-Key': 'someone-else' }, 401, NO_KEY],
    ['xhs', KEY, 15032, PLUGIN],
    ['wxSph', KEY, 15032, PLUGIN],
    ['myspace', KEY, 15032, PLUGIN],
    ['DouYin', KEY, 15032, PLUGIN],
    ['xhs', ZH, 15032, '暂不支持该平台'],
    ['douyin?groupId=no-such-group', KEY, 12601, 'Account group not found'],
    ['douyin?groupId=x', ZH, 12601, '账号分组未找到'],
    ['xhs?redirectUri=http://localhost/x', KEY, 400, BAD], // the query before the platform
    ['xhs?groupId=no-such-group', KEY, 15032, PLUGIN], // the platform before the group
    ['douyin?callbackUrl=not a url', KEY, 400, BAD],
    ['douyin?callbackUrl=', KEY, 400, BAD],
    ['douyin?callbackUrl=ftp://example.com/cb', KEY, 400, BAD],
    ['douyin?callbackUrl=javascript:alert(1)', KEY, 400, BAD],
    ['douyin?callbackUrl=http://a%3Bb.example/cb', KEY, 400, BAD], // a host that would break the CSP
    ['douyin?redirectUri=http://localhost:3000/done', KEY, 400, BAD], // loopback
    ['douyin?redirectUri=https://10.0.0.1/done', KEY, 400, BAD], // an IP address
    ['douyin?redirectUri=ftp://example.com/done', KEY, 400, BAD],
    ['douyin?callbackUrl=http://127.0.0.1:1/a&callbackUrl=http://127.0.0.1:1/b', KEY, 400, BAD],
    ['douyin?callbackUrl=http://127.0.0.1:5000/token', ZH, 0, OK],
    ['douyin?callbackUrl=https://example.com/relay', KEY, 0, OK],
    ['douyin?redirectUri=https://example.com/done', KEY, 0, OK],
    ['douyin?callbackUrl=http://localhost:5000/t&redirectUri=http://app.example.org/x', KEY, 0, OK],
    ['douyin?groupId=sandbox-group', KEY, 0, OK],
    ['douyin?groupId=', KEY, 0, OK], // the default group, as upstream
    ['douyin?colour=blue', KEY, 0, OK], // ignored, as zod strips it
  ])('answers GET …/%s (%j) with code %i', async (path, headers, code, message) => {
    const id = session({ platform: 'douyin' });
    const { res, body } = await call(`${API}/${path.replace('OWN', id)}`, { headers });
    const ok = path.includes('/status/') ? { sessionId: id } : { url: expect.any(String) };
    const rest = code ? { data: {}, timestamp: clock } : { data: expect.objectContaining(ok) };
    const requestId = res.headers.get('x-request-id');
    expect([res.status, body]).toEqual([200, { code, message, ...rest, requestId }]);
  });

  it('starts, or creates over HTTP, a pending session with a 16-character id that lives 5 minutes', async () => {
    const { sessionId, expiresAt, url, authInstructions } = (await start('douyin')).body.data;
    expect([sessionId, expiresAt]).toEqual([expect.stringMatching(/^[\w-]{16}$/), iso(clock + 300_000)]);
    expect(url).toBe(`${sandbox.url}/sandbox/consent/${sessionId}`);
    expect(authInstructions).toEqual({ 'en-US': expect.any(String), 'zh-CN': expect.any(String) });
    const { res, body } = await create({ platform: 'tiktok' });
    const consentUrl = `${sandbox.url}/sandbox/consent/${body.sessionId}`;
    const created = { sessionId: body.sessionId, platform: 'tiktok', expiresAt, consentUrl };
    expect([res.status, body]).toEqual([201, created]);
    const pending = { sessionId: body.sessionId, status: 'pending', requiresSelection: false, expiresAt };
    expect(await data('tiktok', body.sessionId)).toEqual(pending);
  });

  it('sends Date from its clock; echoes x-request-id, else makes a new 21-character one, pages too', async () => {
    clock += 1234;
    const traced = { ...KEY, 'x-request-id': 'trace-42' };
    const { res, body } = await status('douyin', session({ platform: 'douyin' }), traced);
    expect(res.headers.get('date')).toBe(new Date(clock).toUTCString());
    expect([res.headers.get('x-request-id'), body.requestId, body.code]).toEqual(['trace-42', 'trace-42', 0]);
    const consent = `/sandbox/consent/${session({ platform: 'douyin' })}`;
    const answers = [await status('douyin', 'x'), await create({ platform: 'douyin' }), await call(consent)];
    const ids = [...answers, await call('/nowhere')].map(({ res }) => res.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{21}$/);
    expect(new Set(ids).size).toBe(4);
    // A session id never starts with "-", which a command line would take for an option.
    const sessions = Array.from({ length: 2000 }, newSessionId);
    for (const id of sessions) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/);
    expect([new Set(sessions.join('')).size, new Set(sessions).size]).toEqual([64, 2000]);
    expect(new Set(Array.from({ length: 2000 }, newRequestId).join('')).size).toBe(36);
  });

  it('takes the unsupported platforms, the groups and the lifetime from its options, as createSession does', async () => {
    let now = START;
    const options = { unsupportedPlatforms: ['douyin'], groupIds: ['team-a'], sessionLifetimeMs: 2000 };
    await withSandbox({ ...options, now: () => now }, async (custom) => {
      const code = async (answer: Promise<{ body: Json }>) => (await answer).body.code;
      expect(await code(start('douyin', '', KEY, custom))).toBe(15032);
      expect(await code(start('xhs', 'groupId=sandbox-group', KEY, custom))).toBe(12601);
      expect((await start('xhs', 'groupId=team-a', KEY, custom)).body.data.expiresAt).toBe(iso(now + 2000));
      now += 1000;
      const { expiresAt: later, consentUrl, sessionId: id } = custom.createSession({ platform: 'KWAI' });
      expect([later, consentUrl]).toEqual([iso(now + 2000), `${custom.url}/sandbox/consent/${id}`]);
      expect(() => custom.createSession({ platform: 'KWAI', lifetimeMs: -1 })).toThrow(AitoearnInputError);
    });
  });
});

describe('scripted sessions, on a fake clock', () => {
  const [ONE, TWO] = [['sandbox-douyin-1'], ['sandbox-douyin-1', 'sandbox-douyin-2']];
  const [COMPLETE, FAIL] = ['completed', 'failed'] as const;
  test.each([
    ['completes with its accounts', { type: 'complete', accounts: 2 }, { status: COMPLETE, accountIds: TWO }],
    ['fails with its errorCode', { type: 'fail', errorCode: 15045 }, { status: FAIL, errorCode: 15045 }],
    ['picks the first offered', { type: 'select', accounts: 2 }, { status: COMPLETE, accountIds: ONE }],
  ] as const)('%s once afterMs has passed', async (_name, outcome, after) => {
    const id = session({ platform: 'douyin', outcome: { ...outcome, afterMs: 3000 } });
    clock += 2999;
    expect(await data('douyin', id)).toMatchObject({ status: 'pending' });
    clock += 1;
    const accounts = 'accountIds' in after && { accountId: ONE[0], accounts: expect.any(Array) };
    const base = { requiresSelection: false, sessionId: id, expiresAt: expect.any(String) };
    expect(await data('douyin', id)).toEqual({ ...after, ...accounts, ...base });
  });

  it('asks for a selection, then completes with the accounts chosen, in order', async () => {
    const id = session({ platform: 'youtube', outcome: { type: 'select', accounts: ['Ann', 'Bob', 'Cy'] } });
    clock += 60_000;
    const offered = ['Ann', 'Bob', 'Cy'].map((displayName, i) => ({ platformUid: uid(i + 1), displayName }));
    const selectableAccounts = offered.map((a) => ({ platform: 'youtube', ...a }));
    expect(await data('youtube', id)).toMatchObject({ requiresSelection: true, selectableAccounts });
    const { res, body } = await post(`/sandbox/sessions/${id}/select`, { platformUids: [uid(3), uid(2)] });
    const accountIds = ['sandbox-youtube-3', 'sandbox-youtube-2'];
    expect([res.status, body.status, body.accountIds]).toEqual([200, 'completed', accountIds]);
    const done = await data('youtube', id);
    expect(done).toMatchObject({ status: 'completed', requiresSelection: false, accountIds });
    const accounts = [2, 1].map((i, n) => ({ accountId: accountIds[n], ...selectableAccounts[i] }));
    expect([done.selectableAccounts, done.accounts]).toEqual([undefined, accounts]);
  });

  it('answers 15039 from expiresAt on, whatever the status, and never again', async () => {
    const never = session({ platform: 'douyin', outcome: { type: 'never' }, lifetimeMs: 2000 });
    const done = session({ platform: 'douyin', outcome: { type: 'complete' }, lifetimeMs: 2000 });
    clock += 1999;
    const statuses = [(await data('douyin', never)).status, (await data('douyin', done)).status];
    expect(statuses).toEqual(['pending', 'completed']);
    clock += 1;
    for (const id of [never, done]) expect((await status('douyin', id)).body.code).toBe(15039);
    clock -= 5000;
    expect((await status('douyin', done)).body.code).toBe(15039);
    clock += 5000;
  });

  it('accepts every platform the spec names', async () => {
    const account = (readSpec() as Json).components.schemas.AuthSessionStatusVo.properties.accounts.items;
    for (const platform of account.properties.platform.enum) {
      const id = session({ platform, outcome: { type: 'complete' } });
      expect((await data(platform, id)).status).toBe(COMPLETE);
    }
  });
});

describe('refusals: JSON whose code is the HTTP status, with the field or the Allow header', () => {
  const [S, o] = ['/sandbox/sessions', (outcome: object) => ({ platform: 'douyin', outcome })];
  const NEGATIVE = /^Expected "outcome\.afterMs" to be a number from 0 to 2147483647, got -5\.$/;
  test.each([
    ['GET', '/', null, KEY, 404, null],
    ['GET', `${API}/douyin/status/`, null, KEY, 404, null],
    ['GET', `${API}/douyin/status/a/b`, null, KEY, 404, null],
    ['POST', `${S}/x/explode`, null, KEY, 404, null],
    ['POST', `${S}/never-issued/deny`, null, KEY, 404, null, '"never-issued"'],
    ['GET', '/sandbox/consent/%E0%A4%A', null, KEY, 404, null],
    ['POST', `${API}/douyin/status/abc`, null, KEY, 405, 'GET'],
    ['GET', S, null, KEY, 405, 'POST'],
    ['DELETE', `${S}/abc/approve`, null, KEY, 405, 'POST'],
    ['POST', '/sandbox/consent/abc', null, KEY, 405, 'GET'],
    ['POST', S, { platform: 'douyin' }, {}, 401, null],
    ['POST', S, { platform: 'douyin' }, { 'X-Api-Key': 'wrong-key' }, 401, null],
    ['POST', S, '{"platform":', KEY, 400, 'body'],
    ['POST', S, '', KEY, 400, 'body'],
    ['POST', S, [1, 2], KEY, 400, 'body'],
    ['POST', S, { outcome: { type: 'never' } }, KEY, 400, 'platform'],
    ['POST', S, { platform: 'myspace' }, KEY, 400, 'platform'],
    ['POST', S, { platform: 'douyin', lifetime: 5 }, KEY, 400, 'lifetime'],
    ['POST', S, { platform: 'douyin', outcome: 'complete' }, KEY, 400, 'outcome'],
    ['POST', S, o({ type: 'explode' }), KEY, 400, 'outcome.type'],
    ['POST', S, o({ type: 'complete', afterMs: -5 }), KEY, 400, 'outcome.afterMs', NEGATIVE],
    ['POST', S, o({ type: 'fail', afterMs: '5', errorCode: 1 }), KEY, 400, 'outcome.afterMs'],
    ['POST', S, o({ type: 'fail', errorCode: 1.5 }), KEY, 400, 'outcome.errorCode'],
    ['POST', S, o({ type: 'fail', afterMs: 1 }), KEY, 400, 'outcome.errorCode'],
    ['POST', S, o({ type: 'select' }), KEY, 400, 'outcome.accounts', '("select" needs them), got undefined.'],
    ['POST', S, o({ type: 'complete', accounts: 0 }), KEY, 400, 'outcome.accounts'],
    ['POST', S, o({ type: 'select', accounts: ['a', ' '] }), KEY, 400, 'outcome.accounts[1]'],
    ['POST', S, o({ type: 'never', afterMs: 5 }), KEY, 400, 'outcome.afterMs'], // not a field of "never"
    ['POST', S, { platform: 'douyin', lifetimeMs: -1 }, KEY, 400, 'lifetimeMs'],
    // SEL: a session that asks to choose among 2 accounts; MANUAL: one that asks for no choice.
    ['POST', `${S}/SEL/select`, { platformUids: [uid(9)] }, KEY, 400, 'platformUids[0]', '"sandbox-uid-9"'],
    ['POST', `${S}/SEL/select`, { platformUids: [] }, KEY, 400, 'platformUids'],
    ['POST', `${S}/SEL/approve`, null, KEY, 409, null],
    ['POST', `${S}/MANUAL/select`, { platformUids: [uid(1)] }, KEY, 409, null],
  ])('answers %s %s %j with HTTP %i (%s)', async (method, path, body, headers, code, detail, says?) => {
    const selecting = session({ platform: 'youtube', outcome: { type: 'select', accounts: 2 } });
    const target = path.replace('SEL', selecting).replace('MANUAL', session({ platform: 'youtube' }));
    const init = { method, headers, ...(body !== null && { body: text(body) }) };
    const { res, body: answer } = await call(target, init);
    const requestId = res.headers.get('x-request-id');
    expect([res.status, answer.code, answer.requestId]).toEqual([code, code, requestId]);
    const [allow, field] = code === 400 ? [null, detail] : [detail, undefined];
    expect([res.headers.get('allow'), answer.field]).toEqual([allow, field]);
    // The message names the field, and where a row says more, the refused value or the reason.
    expect(answer.message).toMatch(says ?? (code === 400 ? `"${detail}"` : ''));
    expect(await data('youtube', selecting)).toMatchObject({ status: 'pending', requiresSelection: true });
  });

  it('refuses more than maxSessions with HTTP 429 until one expires, and a body over 64 KiB with 413', async () => {
    let now = START;
    await withSandbox({ maxSessions: 2, now: () => now }, async (small) => {
      const add = (body = '{"platform":"douyin","lifetimeMs":1000}') =>
        call('/sandbox/sessions', { method: 'POST', headers: KEY, body }, small);
      expect((await add()).res.status).toBe(201);
      now += 500;
      expect((await add()).res.status).toBe(201);
      const full = await add();
      expect([full.res.status, full.res.headers.get('retry-after')]).toEqual([429, '1']);
      expect(full.body.message).toContain('"maxSessions"');
      now += 500;
      expect((await add()).res.status).toBe(201);
      expect((await add(`"${'x'.repeat(64 * 1024)}"`)).res.status).toBe(413);
    });
  });
});

describe('the consent page', () => {
  it('shows Approve and Deny, or checkboxes; escapes a hostile name; loads nothing', async () => {
    const id = session({ platform: 'wxGzh', outcome: { type: 'manual', accounts: ['Main'] } });
    const { res, body: html } = await call(`/sandbox/consent/${id}`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, HTML]);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    // Under 'no-referrer' Chromium sends `Origin: null` with this page's own POSTs, which the guard refuses.
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    for (const action of ['approve', 'deny'])
      expect(html).toContain(`<form method="post" action="/sandbox/sessions/${id}/${action}">`);
    expect(html).toMatch(/wxGzh[\s\S]*>Approve<\/button>[\s\S]*>Deny<\/button>/);
    expect(html).not.toMatch(/<script|<link|src=/);
    const hostile = '<script>alert("x")</script>&\'';
    const choice = session({ platform: 'facebook', outcome: { type: 'select', accounts: [hostile, 'P'] } });
    const { body: select } = await call(`/sandbox/consent/${choice}`);
    expect(select).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
    expect(select).not.toMatch(/<script>|>Approve<\/button>/);
    for (const n of [1, 2])
      expect(select).toContain(`<input type="checkbox" name="platformUids" value="${uid(n)}">`);
    expect(select).toMatch(new RegExp(`${choice}/select">[\\s\\S]*>Connect selected accounts</button>`));
  });

  const TICKED = `platformUids=${uid(1)}&platformUids=${uid(3)}`;
  const CLOSING = /approved[\s\S]*You can close this window\./;
  test.each([
    ['approve', { type: 'manual', accounts: ['Work'] }, 'action=approve', CLOSING, [1]],
    ['deny', { type: 'complete', afterMs: 60_000 }, 'action=deny', /Authorization denied/, undefined],
    ['select', { type: 'select', accounts: ['A', 'B', 'C'] }, TICKED, /Connected: A, C\./, [1, 3]],
  ] as const)('lets a person %s by the form, over the script', async (act, outcome, form, page, ids) => {
    const id = session({ platform: 'douyin', outcome });
    if (act === 'select') {
      const none = await post(`/sandbox/sessions/${id}/select`, 'action=select');
      expect([none.res.status, none.body.includes('Tick at least one account')]).toEqual([400, true]);
    }
    const { res, body } = await post(`/sandbox/sessions/${id}/${act}`, form);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, HTML]);
    expect(body).toMatch(page);
    expect(body).not.toMatch(/<form|<script/);
    expect((await post(`/sandbox/sessions/${id}/deny`, 'action=deny')).res.status).toBe(409);
    expect((await call(`/sandbox/consent/${id}`)).res.status).toBe(409);
    clock += 60_000;
    const accountIds = ids?.map((n) => `sandbox-douyin-${n}`);
    const done = accountIds ? { status: 'completed', accountIds } : { status: 'failed', errorCode: 15045 };
    expect(await data('douyin', id)).toMatchObject(done);
  });

  it('does not act on unknown or expired sessions', async () => {
    const id = session({ platform: 'pinterest', lifetimeMs: 1000 });
    clock += 1000;
    expect((await call(`/sandbox/consent/${id}`)).res.status).toBe(404);
    expect((await post(`/sandbox/sessions/${id}/approve`, '')).res.status).toBe(404);
  });
});

/** Starts a session with `query`, then answers it through the consent page's form as a browser would. */
async function startAndAnswer(query: Fields, action = 'approve') {
  const { sessionId, url } = (await start('douyin', `${new URLSearchParams(query)}`)).body.data;
  const consent = (await call(new URL(url).pathname)).body;
  const form = new RegExp(`<form method="post" action="([^"]*${action})">`).exec(consent)?.[1];
  expect(form).toBe(`/sandbox/sessions/${sessionId}/${action}`);
  const { res, body: html } = await post(form ?? '', `action=${action}`);
  return { html, sessionId, csp: res.headers.get('content-security-policy') ?? '' };
}

describe('the end of an approval in the browser', () => {
  it('with a callbackUrl, answers a page that POSTs the upstream fields there by itself; nothing redirects', async () => {
    const callbackUrl = 'http://127.0.0.1:5999/4f9a-token';
    const redirectUri = 'https://app.example.com/done?x=1';
    const { html, sessionId, csp } = await startAndAnswer({ callbackUrl, redirectUri });
    expect(html).toContain(`<form id="callback" method="post" action="${callbackUrl}">`);
    const decode = (value = '') =>
      value.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
    const fields = [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)];
    const [relayAccountRef, nickname, platformUid] = ['sandbox-douyin-1', 'Sandbox account 1', uid(1)];
    const first = { relayAccountRef, nickname, avatar: '', platformUid, account: '', platform: 'douyin' };
    const accounts = JSON.stringify([{ relayAccountRef, nickname, platformUid, platform: 'douyin' }]);
    const expected = Object.entries({ ...first, redirectUri, accounts });
    expect(fields.map(([, name, value]) => [name, decode(value)])).toEqual(expected);
    const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts.map((s) => s[2])).toEqual(["document.getElementById('callback').submit();"]);
    const nonce = /^ nonce="([A-Za-z0-9+/=]{16,})"$/.exec(scripts[0]?.[1] ?? '')?.[1];
    const policy = `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'`;
    expect(csp).toBe(`${policy}; form-action http://127.0.0.1:5999; frame-ancestors 'none'; base-uri 'none'`);
    expect(await data('douyin', sessionId)).toMatchObject({ status: 'completed' });
  });

  it('with only a redirectUri, goes there by location.replace after 800 ms, no form; a fresh nonce each time', async () => {
    const nonces = [];
    const go =
      "setTimeout(function () { location.replace(document.getElementById('redirect').href); }, 800);";
    for (let i = 0; i < 2; i += 1) {
      const { html, csp } = await startAndAnswer({ redirectUri: 'https://app.example.com/done' });
      expect(html).not.toContain('<form');
      expect(html).toContain('<a id="redirect" href="https://app.example.com/done">');
      const [, nonce, code] = /<script nonce="([^"]+)">([^<]*)<\/script>/.exec(html) ?? [];
      expect(code).toBe(go);
      expect(csp).toContain(`script-src 'nonce-${nonce}'; form-action 'none';`);
      nonces.push(nonce);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it('on deny, shows no form, no redirect and no script, and the session fails', async () => {
    const targets = { callbackUrl: 'http://127.0.0.1:5999/t', redirectUri: 'https://app.example.com/done' };
    const { html, sessionId, csp } = await startAndAnswer(targets, 'deny');
    expect(html).toContain('Authorization denied');
    expect(html).not.toMatch(/<form|<script|127\.0\.0\.1:5999|example\.com/);
    expect(csp).not.toContain('script-src');
    expect(await data('douyin', sessionId)).toMatchObject({ status: 'failed', errorCode: 15045 });
  });
});

it('the request log accepts only its apiKeys; logs each answer, to onRequest too, never with a key or query; survives a throw', async () => {
  const [secret, lines] = ['sk-live-0123456789abcdef', [] as string[]];
  const onRequest = (e: SB.SandboxRequest) => lines.push(SB.formatSandboxRequest(e));
  await withSandbox({ apiKeys: [secret, 'key-b'], onRequest, now: () => clock }, async (logged) => {
    expect(logged.apiKey).toBe(secret);
    await start('douyin', 'callbackUrl=http://127.0.0.1:9/tok', { 'X-Api-Key': secret }, logged);
    await status('douyin', secret, { 'X-Api-Key': 'key-b' }, logged);
    await status('douyin', 'x', KEY, logged);
    await call('/nowhere/%1b[2J', {}, logged);
    const api = ['douyin 200 code=0', 'douyin/status/[redacted] 200 code=15039'];
    api.push('douyin/status/x 200 code=401'); // the default key is not one of these
    const expected = [...api.map((line) => `GET ${API}/${line}`), 'GET /nowhere/%1b[2J 404'];
    expect(lines.map((line) => line.replace(/ \d+ms$/, ''))).toEqual(expected);
    const [durationMs, path] = [expect.any(Number), `${API}/douyin/status/x`];
    expect([logged.requestCount, ...logged.requests.slice(-2)]).toEqual([
      4,
      { method: 'GET', path, at: clock, httpStatus: 200, code: 401, durationMs },
      { method: 'GET', path: '/nowhere/%1b[2J', at: clock, httpStatus: 404, durationMs },
    ]);
  });
  const path = '/a\u001b[2J\u202e\u200b';
  const line = SB.formatSandboxRequest({ method: 'GET', path, at: 0, httpStatus: 404, durationMs: 1.4 });
  expect(line).toBe('GET /a\\x1b[2J\\u202e\\u200b 404 1ms');
  await withSandbox({ onRequest: () => JSON.parse('{') }, async (throwing) => {
    for (let i = 0; i < 2; i += 1) expect((await call('/nowhere', {}, throwing)).res.status).toBe(404);
  });
});

describe('cross-site requests and DNS rebinding', () => {
  const port = () => new URL(sandbox.url).port;

  test.each([
    ['another site', { Origin: 'https://evil.example' }, 403],
    ['another port of this machine', { Origin: 'http://127.0.0.1:1' }, 403],
    ['an opaque origin (Origin: null)', { Origin: 'null' }, 403],
    ['Sec-Fetch-Site: cross-site without Origin', { 'Sec-Fetch-Site': 'cross-site' }, 403],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }, 403],
    ["the sandbox's own pages", { Origin: 'OWN', 'Sec-Fetch-Site': 'same-origin' }, 200],
    ['a script without Origin', {}, 200],
  ])('answers a POST from %s with %i; a refused one changes nothing', async (_name, given, code) => {
    const headers: Fields = { ...given, ...((given as Fields).Origin === 'OWN' && { Origin: sandbox.url }) };
    const FORM = `platformUids=${uid(1)}`;
    for (const action of ['approve', 'deny', 'select'] as const) {
      const type = action === 'select' ? action : 'manual';
      const id = session({ platform: 'douyin', outcome: { type, accounts: 2 } });
      const { res, body } = await post(`/sandbox/sessions/${id}/${action}`, FORM, headers);
      const refused = String(body.message).startsWith('Cross-site request refused');
      const pending = (await data('douyin', id)).status === 'pending';
      expect([res.status, refused, pending]).toEqual([code, code === 403, code === 403]);
    }
    const created = (await create({ platform: 'douyin' }, { ...KEY, ...headers })).res.status;
    expect(created).toBe(code === 403 ? 403 : 201);
  });

  test.each([
    ['its own host', 'OWN', true],
    ['localhost', 'localhost:PORT', true],
    ['a *.localhost name', 'app.localhost:PORT', true],
    ['another 127/8 address', '127.0.0.2:PORT', true],
    ['[::1]', '[::1]:PORT', true],
    ['upper case', 'LOCALHOST:PORT', true],
    ['a domain name (DNS rebinding)', 'evil.example:PORT', false],
    ['a loopback name on another port', '127.0.0.1:1', false],
    ['no port (port 80)', 'localhost', false],
    ['a name with a path', 'localhost:PORT/x', false],
  ])('takes Host with %s: %s', async (_name, host, accepted) => {
    const Host = host === 'OWN' ? new URL(sandbox.url).host : host.replace('PORT', port());
    const { status, text } = await rawRequest(`${sandbox.url}${API}/douyin/status/x`, { ...KEY, Host });
    const [code, says] = accepted ? [200, '15039'] : [403, 'Invalid Host'];
    expect([status, text.includes(says)]).toEqual([code, true]);
  });

  it('refuses a foreign Host on every route, and an HTTP/1.0 request without one; nothing changes', async () => {
    const [Host, id] = [`evil.example:${port()}`, session({ platform: 'douyin' })];
    const answers = [
      await rawRequest(`${sandbox.url}${API}/douyin`, { ...KEY, Host }),
      await rawRequest(`${sandbox.url}/sandbox/consent/${id}`, { Host }),
      await rawRequest(`${sandbox.url}/sandbox/sessions/${id}/approve`, { Host }, 'POST'),
      await rawRequest(`${sandbox.url}/sandbox/sessions`, { ...KEY, Host }, 'POST', '{"platform":"douyin"}'),
    ];
    for (const { status, text } of answers)
      expect([status, text.includes('Invalid Host')]).toEqual([403, true]);
    expect(await data('douyin', id)).toMatchObject({ status: 'pending' });
    const socket = connect(Number(port()), '127.0.0.1').setEncoding('utf8');
    socket.write('GET /sandbox/consent/x HTTP/1.0\r\n\r\n');
    expect((await socket.toArray()).join('')).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('accepts the names in allowedHosts and no others; IP addresses only when bound beyond loopback', async () => {
    await withSandbox({ allowedHosts: ['Sandbox.Test'] }, async (named) => {
      const ask = (name: string) =>
        rawRequest(`${named.url}/sandbox/consent/x`, { Host: `${name}:${new URL(named.url).port}` });
      expect([(await ask('sandbox.test')).status, (await ask('other.test')).status]).toEqual([404, 403]);
    });
    // A policy, checked without binding 0.0.0.0.
    const hosts = ['192.168.1.20:4000', '[fe80::1]:4000', 'evil.example:4000', '192.168.1.20:4001'];
    expect(hosts.map(hostGuard('0.0.0.0', 4000, new Set()))).toEqual([true, true, false, false]);
    expect(hostGuard('127.0.0.1', 4000, new Set())('192.168.1.20:4000')).toBe(false);
  });

  test.each([
    ['0.0.0.0', 'http://127.0.0.1:4000', 1],
    ['::', 'http://[::1]:4000', 1],
    ['192.168.1.5', 'http://192.168.1.5:4000', 2],
    ['127.0.0.1', 'http://127.0.0.1:4000', 0],
    ['localhost', 'http://localhost:4000', 0],
    ['::1', 'http://[::1]:4000', 0],
  ])('bound to %s, is reached at %s, with %i warning(s)', (host, url, count) => {
    const binding = describeBinding(host, 4000);
    expect([binding.url, binding.warnings.length]).toEqual([url, count]);
    if (count > 0) expect(binding.warnings[0]).toContain('need no key');
    // The URL printed for every interface is one the client accepts over plain http.
    if (count === 1) expect(() => createAitoearnClient({ apiKey: 'k', baseUrl: binding.url })).not.toThrow();
  });
});

describe('the listening server', () => {
  it("reports an 'error' after start-up to onError, or by default warns once per kind, and keeps serving", async () => {
    const [seen, warnings] = [[] as Error[], [] as string[]];
    await withSandbox({ onError: (error) => seen.push(error) }, async (running) => {
      const error = emfile();
      // Without a listener, emit would throw here: in a real server, that crashes the process.
      liveServerAt(running.url).emit('error', error);
      expect([seen, (await status('douyin', 'x', KEY, running)).body.code]).toEqual([[error], 15039]);
    });
    const onWarning = (warning: Error) => warning.name === 'SandboxWarning' && warnings.push(warning.message);
    process.on('warning', onWarning);
    await withSandbox({}, async (running) => {
      for (let i = 0; i < 100; i += 1) liveServerAt(running.url).emit('error', emfile());
      liveServerAt(running.url).emit('error', Object.assign(new Error('accept ENFILE'), { code: 'ENFILE' }));
      await vi.waitFor(() => expect(warnings).toHaveLength(2));
    }).finally(() => process.off('warning', onWarning));
    const warned = (code: string) => `The sandbox server failed (accept ${code}); it keeps serving.`;
    expect(warnings).toEqual([warned('EMFILE'), warned('ENFILE')]);
  });

  it('rejects with SandboxListenError, naming the address and EADDRINUSE, when the port is taken', async () => {
    const port = Number(new URL(sandbox.url).port);
    const error = await SB.startSandbox({ port }).catch((e: unknown) => e);
    const why = 'the port is already in use (choose another port, or port 0 for a free one)';
    expect(error).toBeInstanceOf(SB.SandboxListenError);
    const message = `Cannot listen on 127.0.0.1:${port}: ${why} (EADDRINUSE).`;
    expect(error).toMatchObject({ code: 'EADDRINUSE', host: '127.0.0.1', port, message });
  });

  it('rejects with the reason of a signal aborted before or while it binds, leaving nothing open; closes on a later abort (issue 16, 19)', async () => {
    const [before, reason] = [listeningServers(), new Error('Ctrl-C')];
    await expect(SB.startSandbox({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const [binding, later] = [new AbortController(), new AbortController()];
    const starting = SB.startSandbox({ signal: binding.signal });
    binding.abort(reason);
    await expect(starting).rejects.toBe(reason);
    expect(listeningServers()).toBe(before);
    const running = await SB.startSandbox({ signal: later.signal });
    expect(listeningServers()).toBe(before + 1);
    later.abort();
    expect(listeningServers()).toBe(before);
    await running.close();
  });

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
    [{ unsupportedPlatforms: 'xhs' }, 'unsupportedPlatforms'],
    [{ groupIds: [''] }, 'groupIds[0]'],
    [{ allowedHosts: ['a b'] }, 'allowedHosts[0]'],
    [{ allowedHosts: ['a_b'] }, 'allowedHosts[0]'],
    [{ onRequest: 'log' }, 'onRequest'],
    [{ onError: 1 }, 'onError'],
    [{ signal: 'stop' }, 'signal'],
  ])('refuses the option %o, naming "%s"', async (options, field) => {
    const error = await SB.startSandbox(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AitoearnInputError);
    expect(error).toMatchObject({ field, message: expect.stringContaining(`"${field}"`) });
  });

  it('closes every connection, even a request whose body never ends, and the port', async () => {
    const temporary = await SB.startSandbox();
    const before = listeningServers();
    // A keep-alive connection stays open in fetch's pool until the server closes it.
    await call('/nowhere', {}, temporary);
    const port = Number(new URL(temporary.url).port);
    const stuck = connect(port, '127.0.0.1');
    await once(stuck, 'connect');
    const headers = `Host: 127.0.0.1:${port}\r\nX-Api-Key: ${SB.SANDBOX_API_KEY}\r\nContent-Length: 100`;
    stuck.write(`POST /sandbox/sessions HTTP/1.1\r\n${headers}\r\n\r\n{`);
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([temporary.close(), temporary.close(), once(stuck, 'close')]);
    expect(listeningServers()).toBe(before - 1);
    await expect(once(connect(port, '127.0.0.1'), 'connect')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
