/**
 * connect with a real browser: Debian's Chromium, driven by playwright-core, opens the consent page and
 * clicks Approve; the sandbox's final page must then submit its hidden form by itself (a nonce'd script
 * under its CSP) to the loopback listener. This proves the CSP, the auto-submitting form and the loopback
 * POST work together. Chromium is installed from Debian when missing (see test/helpers/chromium.ts).
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AuthProgress, type ConnectStart, connectAccount, createAitoearnClient } from '../src/index.js';
import { type Sandbox, startSandbox } from '../src/sandbox/index.js';
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from './helpers/chromium.js';
import { stoppedClock } from './helpers/connect-clock.js';
import { start, until } from './helpers/run-cli.js';

let sandbox: Sandbox;
let browser: Browser;
beforeAll(async () => {
  const executablePath = ensureChromium();
  sandbox = await startSandbox();
  // Root (CI) needs --no-sandbox; the pages are our own, served on loopback.
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
}, CHROMIUM_INSTALL_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

/** Clicks Approve and waits for the listener's page; `callbackUrl`'s requests and any page problem are kept. */
async function approve(
  page: Page,
  start: { url: string; callbackUrl?: string | undefined },
  problems: string[],
) {
  await page.goto(start.url);
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(start.callbackUrl ?? '');
  expect(await page.getByRole('heading').textContent()).toBe('You can close this window');
  expect(problems).toEqual([]);
  await page.close();
}

async function newPage(callbackUrl: string, problems: string[], posts: string[] = []): Promise<Page> {
  const page = await browser.newPage();
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
  page.on('request', (request) => {
    if (request.url() === callbackUrl) posts.push(request.method());
  });
  return page;
}

it('Chromium approves, the page posts the callback by itself, and that alone ends the wait (a stopped clock)', async () => {
  const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
  const { clock, sleep } = stoppedClock();
  const events: AuthProgress[] = [];
  const starts: ConnectStart[] = [];
  const result = connectAccount(client, {
    platform: 'douyin',
    clock,
    sleep,
    onStart: (s) => void starts.push(s),
    onProgress: (event) => void events.push(event),
  });
  await until(() => events.length > 0);
  const start = starts[0] as ConnectStart;
  const problems: string[] = [];
  const posts: string[] = [];
  await approve(await newPage(start.callbackUrl ?? '', problems, posts), start, problems);
  expect((await result).status).toBe('completed');
  expect(events.map((e) => [e.attempt, e.status])).toEqual([
    [1, 'pending'],
    [2, 'completed'],
  ]);
  expect(posts).toEqual(['POST']);
}, 60_000);

it('the command keeps serving the callback when a check sees completed before the browser’s POST (issue 16 item 9)', async () => {
  const command = start(['connect', 'douyin', '--json', '--no-open'], {
    env: { AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url },
  });
  const started = JSON.parse(await command.line('stdout', /"type":"started"/)) as {
    url: string;
    callbackUrl: string;
  };
  const problems: string[] = [];
  const page = await newPage(started.callbackUrl, problems);
  // The browser's POST is held back until polling has found the approval and the command has its result.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(started.callbackUrl, (route) => held.then(() => route.continue()));
  // The click waits for the navigation it starts, which is the held POST.
  const approved = approve(page, started, problems);
  expect(JSON.parse(await command.line('stdout', /"type":"result"/))).toMatchObject({ outcome: 'completed' });
  release();
  await approved;
  expect((await command.exited).code).toBe(0);
}, 60_000);
