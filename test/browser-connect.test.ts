/**
 * `aitoearn-auth connect` with a real browser: Debian's Chromium, driven by playwright-core, opens the
 * consent page and clicks Approve; the sandbox's final page must then submit its hidden form by itself
 * (a nonce'd script under its CSP) to the command's loopback listener, and the command must finish through
 * that callback. This is what proves the CSP, the auto-submitting form and the loopback POST work together.
 * Chromium is installed from Debian when missing (see test/helpers/chromium.ts).
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from './helpers/chromium.js';
import { collect } from './helpers/collect.js';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = path.join(ROOT, 'dist/cli/main.js');

let sandbox: Sandbox;
let browser: Browser;

beforeAll(async () => {
  const executablePath = ensureChromium();
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  sandbox = await startSandbox();
  // Root (CI) needs --no-sandbox; the pages are our own, served on loopback.
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
}, CHROMIUM_INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

function startCommand(args: readonly string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('AITOEARN_')) env[name] = value;
  Object.assign(env, { AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url });
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env });
  child.stdin.end();
  const output = collect(child);
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = output.stdout
          .split('\n')
          .slice(0, -1)
          .find((l) => pattern.test(l));
        if (found !== undefined) resolve(found);
      };
      check();
      child.stdout.on('data', check);
      child.on('close', () =>
        reject(new Error(`exited before a line matching ${pattern}: ${output.stderr}`)),
      );
    });
  return { child, line, closed: output.closed };
}

it('Chromium approves on the consent page, the page posts the callback, and the command completes through it', async () => {
  const command = startCommand(['connect', 'douyin', '--json', '--no-open']);
  const started = JSON.parse(await command.line(/"type":"started"/)) as { url: string; callbackUrl: string };

  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // The browser's own favicon requests get 404 (the listener serves one path only): not a problem.
    if (message.location().url.endsWith('/favicon.ico')) return;
    if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => problems.push(error.message));
  // Reported from inside every page, whatever its CSP (init scripts are not subject to it).
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
  );
  const callbackRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url() === started.callbackUrl) callbackRequests.push(request.method());
  });

  await page.goto(started.url);
  // Approve once the next scheduled check is seconds away, so that only the callback explains a quick end.
  await command.line(/"nextDelayMs":(4[5-9]\d\d|[5-9]\d\d\d)\b/);
  await page.getByRole('button', { name: 'Approve' }).click();
  // The sandbox's page submits the form itself; the browser ends on the listener's page.
  await page.waitForURL(started.callbackUrl);
  expect(await page.getByRole('heading').textContent()).toBe('You can close this window');
  await page.close();

  const { code, stdout, stderr } = await command.closed;
  expect(code, stderr).toBe(0);
  const records = stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          type: string;
          status?: string;
          attempt?: number;
          elapsedMs?: number;
          nextDelayMs?: number;
        },
    );
  expect(records.at(-1)).toMatchObject({ type: 'result', outcome: 'completed', exitCode: 0 });
  const [before, completed] = [records.at(-3), records.at(-2)];
  expect(completed?.status).toBe('completed');
  expect(completed?.attempt).toBe((before?.attempt ?? Number.NaN) + 1);
  // The completing check came before the one the schedule had planned after the previous check: the
  // callback's poke, however long the browser took (this does not depend on which line was read above).
  expect(before?.status).toBe('pending');
  expect(completed?.elapsedMs ?? Number.POSITIVE_INFINITY).toBeLessThan(
    (before?.elapsedMs ?? 0) + (before?.nextDelayMs ?? 0),
  );
  expect(callbackRequests).toEqual(['POST']);
  expect(problems).toEqual([]);
}, 60_000);

it('a check that sees completed before the browser’s POST still leaves the browser on the done page (issue 16 item 9)', async () => {
  const command = startCommand(['connect', 'douyin', '--json', '--no-open']);
  const started = JSON.parse(await command.line(/"type":"started"/)) as { url: string; callbackUrl: string };
  const page = await browser.newPage();
  // The browser's POST is held back until polling has found the approval and the command has its result.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(started.callbackUrl, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(started.url);
  // The click waits for the navigation it starts, which is the held POST.
  const clicked = page.getByRole('button', { name: 'Approve' }).click();
  expect(JSON.parse(await command.line(/"type":"result"/))).toMatchObject({ outcome: 'completed' });
  release();
  await clicked;
  await page.waitForURL(started.callbackUrl);
  expect(await page.getByRole('heading').textContent()).toBe('You can close this window');
  await page.close();
  expect((await command.closed).code).toBe(0);
}, 60_000);
