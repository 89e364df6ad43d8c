// A real Chromium proves that the final page's CSP, its self-submitting form and the loopback POST work together.
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AuthProgress, type ConnectStart, connectAccount, createAitoearnClient } from '../src/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from './helpers/chromium.js';
import { stoppedClock } from './helpers/connect-clock.js';
import { start, until } from './helpers/run-cli.js';

const sandbox = await startSandbox();
let browser: Browser;
beforeAll(async () => {
  // Root (CI) needs --no-sandbox; the pages are our own, served on loopback.
  browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox'] });
}, CHROMIUM_INSTALL_TIMEOUT_MS);
afterAll(() => Promise.all([browser?.close(), sandbox.close()]));

/** A page that keeps its problems (console errors, CSP violations, script errors) and its posts to `callbackUrl`. */
async function newPage(callbackUrl: string) {
  const [page, problems, posts]: [Page, string[], string[]] = [await browser.newPage(), [], []];
  page.on('console', (message) => {
    // The browser's own favicon requests get 404 (the listener serves one path only): not a problem.
    if (message.location().url.endsWith('/favicon.ico')) return;
    if (message.type() === 'error' || /Content Security Policy|Refused to/i.test(message.text()))
      problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  // Reported from inside every page, whatever its CSP (init scripts are not subject to it).
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
  );
  page.on('request', (request) => request.url() === callbackUrl && posts.push(request.method()));
  /** Clicks Approve on `url` and waits for the listener's page, which must come without a problem. */
  const approve = async (url: string) => {
    await page.goto(url);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(callbackUrl);
    expect(await page.getByRole('heading').textContent()).toBe('You can close this window');
    expect(problems).toEqual([]);
    await page.close();
  };
  return { page, posts, approve };
}

it('Chromium approves, the page posts the callback by itself, and that alone ends the wait (a stopped clock)', async () => {
  const client = createAitoearnClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
  const [events, starts]: [AuthProgress[], ConnectStart[]] = [[], []];
  const result = connectAccount(client, {
    ...{ platform: 'douyin', ...stoppedClock() },
    onStart: (s) => void starts.push(s),
    onProgress: (event) => void events.push(event),
  });
  await until(() => events.length > 0);
  const start = starts[0] as ConnectStart;
  const tab = await newPage(start.callbackUrl ?? '');
  await tab.approve(start.url);
  expect((await result).status).toBe('completed');
  expect(events.map((e) => `${e.attempt} ${e.status}`)).toEqual(['1 pending', '2 completed']);
  expect(tab.posts).toEqual(['POST']);
}, 60_000);

it('the command keeps serving the callback when a check sees completed before the browser’s POST (issue 16 item 9)', async () => {
  const env = { AITOEARN_API_KEY: sandbox.apiKey, AITOEARN_BASE_URL: sandbox.url };
  const command = start(['connect', 'douyin', '--json', '--no-open'], { env });
  const line = await command.line('stdout', /"type":"started"/);
  const started = JSON.parse(line) as Record<'url' | 'callbackUrl', string>;
  const { page, approve } = await newPage(started.callbackUrl);
  // The browser's POST is held back until polling has found the approval and the command has its result.
  const held: (() => Promise<void>)[] = [];
  await page.route(started.callbackUrl, (route) => void held.push(() => route.continue()));
  // The click waits for the navigation it starts, which is the held POST.
  const approved = approve(started.url);
  expect(JSON.parse(await command.line('stdout', /"type":"result"/))).toMatchObject({ outcome: 'completed' });
  await until(() => held.length > 0);
  await held[0]?.();
  await approved;
  expect((await command.exited).code).toBe(0);
}, 60_000);
