/**
 * Fault suite: the real client and `waitForAuth` against a scripted `node:http` server on 127.0.0.1, for
 * what only real sockets show: resets, truncated and slow bodies, gateway pages, and the timers and sockets
 * left after settling. Outcomes, timing and aborts are pinned on the fake clock in wait-for-auth.test.ts.
 */
import { createHook } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  AitoearnTransportError,
  type AuthProgress,
  createAitoearnClient,
  waitForAuth,
} from '../src/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { CANARY, expectNoKey } from './helpers/canary.js';
import { collect } from './helpers/collect.js';
import { errorBody, json, startServer, statusBody } from './helpers/http-server.js';
import { liveResources } from './helpers/leaks.js';

const PLATFORM = 'douyin';
const SESSION_ID = 'sess-fault';
const WAIT = { platform: PLATFORM, sessionId: SESSION_ID, initialDelayMs: 20, maxDelayMs: 80 } as const;

type Step = (req: IncomingMessage, res: ServerResponse) => void;

const session = { sessionId: SESSION_ID, requiresSelection: false, expiresAt: '2099-01-01T00:00:00Z' };
const withStatus =
  (status: string): Step =>
  (_req, res) =>
    json(res, statusBody({ ...session, status }));
const [pending, completed] = [withStatus('pending'), withStatus('completed')];
/** A gateway's HTML page that, like many debugging proxies, echoes the request headers — the key included. */
const gateway =
  (status: number): Step =>
  (req, res) =>
    res.writeHead(status, { 'Content-Type': 'text/html' }).end(`<pre>${JSON.stringify(req.headers)}</pre>`);
const reset: Step = (req) => req.socket.destroy();
const leakyError: Step = (_req, res) => json(res, errorBody(500, `internal error for key ${CANARY}`));
const maintenance: Step = (_req, res) => res.writeHead(200).end('<html>maintenance</html>');
const sessionless: Step = (_req, res) => json(res, statusBody({}));
/** Headers at once, the body 5 s later (long after the request timeout). */
const slowBody: Step = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
  const timer = setTimeout(() => res.end('{}'), 5000);
  res.once('close', () => clearTimeout(timer));
};
/** Promises a longer body than it sends, then drops the connection. */
const truncated: Step = (req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 200 });
  res.write('{"code":0,"data":{"sessi', () => req.socket.destroy());
};

test.concurrent.each([
  [
    'every kind of transient failure is retried, then completed; no event carries the key',
    [gateway(408), gateway(502), leakyError, maintenance, truncated, sessionless, reset, completed],
    {},
    ['http-status', 'http-status', 'AitoearnApiError', 'bad-body', 'network', 'bad-body', 'network'],
  ],
  [
    'a body 5 s after the headers: the request times out and is retried',
    [slowBody, completed],
    { requestTimeoutMs: 1000 },
    ['timeout'],
  ],
] as const)('%s', async (_name, script, options, reasons) => {
  const server = await startServer((req, res, i) => script[Math.min(i, script.length - 1)]?.(req, res));
  const events: AuthProgress[] = [];
  const controller = new AbortController();
  const client = createAitoearnClient({ apiKey: CANARY, baseUrl: server.url });
  try {
    const onProgress = (event: AuthProgress) => events.push(event);
    const wait = { ...WAIT, signal: controller.signal, onProgress, ...options };
    const done = await waitForAuth(client, wait);
    expect(done).toMatchObject({ status: 'completed', sessionId: SESSION_ID });
    const retries = events.filter((event) => event.type === 'retry').map(({ error }) => error);
    expect(retries.map((e) => (e instanceof AitoearnTransportError ? e.reason : e?.name))).toEqual(reasons);
    expectNoKey(events);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // A loop left running at 20 ms cadence would show within this pause.
    await delay(100);
    expect(server.requests).toHaveLength(script.length);
  } finally {
    await server.close();
  }
});

test.each([
  ['a completed wait', [pending, pending, completed], undefined],
  ['a terminal business error', [((_req, res) => json(res, errorBody(15040))) as Step], undefined],
  ['an abort during a 60 s sleep', [pending], { initialDelayMs: 60_000, maxDelayMs: 60_000 }],
  ['an abort during a hanging request', [() => {}], {}],
] as const)('after settling, no timer or socket of ours outlives %s', async (_name, script, abortable) => {
  const baseline = liveResources('Timeout', 'TCPSocketWrap');
  // Timers created while the wait runs and not yet fired or cleared (the destroy hook says which).
  const live = new Map<number, NodeJS.Timeout>();
  let tracking = true;
  const hook = createHook({
    init: (id, type, _trigger, resource) =>
      tracking && type === 'Timeout' && live.set(id, resource as NodeJS.Timeout),
    destroy: (id) => live.delete(id),
  });
  const controller = new AbortController();
  const server = await startServer((req, res, index) => {
    if (index === 0 && abortable) setTimeout(() => controller.abort(new Error('stop')), 50);
    script[Math.min(index, script.length - 1)]?.(req, res);
  });
  hook.enable();
  try {
    // The default timeoutMs (10 min) and requestTimeoutMs: a leaked deadline, sleep or request timer
    // would still be pending when the timers are counted.
    const client = createAitoearnClient({ apiKey: CANARY, baseUrl: server.url });
    await waitForAuth(client, { ...WAIT, signal: controller.signal, ...abortable }).catch(() => {});
    tracking = false;
    await server.close();
    // Sockets close, and destroy hooks run, asynchronously: a bounded wait.
    for (let i = 0; i < 50 && liveResources('Timeout', 'TCPSocketWrap') > baseline; i += 1) await delay(20);
    await delay(20);
    expect([...live.values()].filter((timer) => timer.hasRef()).map((timer) => inspect(timer))).toEqual([]);
    expect(liveResources('Timeout', 'TCPSocketWrap')).toBeLessThanOrEqual(baseline);
  } finally {
    hook.disable();
    await server.close();
  }
});

describe("the README's watchAuth example", () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dist = join(root, 'dist', 'index.js');

  /** Runs `args` with node in a fresh directory holding `file`: the README's one watchAuth code block,
   * importing `module` and pointed at the sandbox. */
  async function inDir(file: string, module: string, args: (path: string) => string[], env = {}) {
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1] as string)
      .filter((block) => block.includes('watchAuth(client') && block.includes("site: 'cn'"));
    expect(blocks).toHaveLength(1);
    const example = (blocks[0] as string)
      .replace("site: 'cn'", "baseUrl: process.env.AITOEARN_BASE_URL ?? ''")
      .replace("from 'aitoearn-auth'", `from ${JSON.stringify(module)}`);
    const dir = mkdtempSync(join(tmpdir(), 'aitoearn-readme-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, file), example);
    // stdin is a pipe this test keeps open, as a terminal would be.
    const options = { cwd: dir, env: { ...process.env, ...env }, timeout: 55_000 };
    const child = spawn(process.execPath, args(join(dir, file)), options);
    return collect(child).closed.finally(() => child.stdin.destroy());
  }

  test('type-checks against the built package', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags =
      '--noEmit --skipLibCheck --strict --exactOptionalPropertyTypes --target es2022 --types node';
    const module = '--module nodenext --moduleResolution nodenext --typeRoots';
    const args = [...flags.split(' '), ...module.split(' '), join(root, 'node_modules', '@types')];
    // TypeScript resolves a path, not a file: URL; it finds dist/index.d.ts next to the module.
    const result = await inDir('watch.mts', dist, (file) => [tsc, ...args, file]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('runs to completion and exits by itself while stdin stays open, with no "undefined"', async () => {
    const sandbox = await startSandbox();
    try {
      const outcome = { type: 'complete', afterMs: 2500 } as const;
      const { sessionId } = sandbox.createSession({ platform: PLATFORM, outcome });
      const env = { AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url };
      const result = await inDir('watch.mjs', pathToFileURL(dist).href, (file) => [file, sessionId], env);
      expect(result.signal, `stderr: ${result.stderr}`).toBeNull();
      expect(result.code).toBe(0);
      const lines = result.stderr.trim().split('\n');
      // Pending (or, on a loaded machine, retrying) lines before the end; the session completes after 2.5 s.
      for (const line of lines.slice(0, -1)) expect(line).toMatch(/, next check in \d+ ms$/);
      expect(lines.at(-1)).toBe('completed');
      expect(result.stderr).not.toContain('undefined');
    } finally {
      await sandbox.close();
    }
  });
});
