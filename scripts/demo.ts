/**
 * `npm run demo`: connecting an account end to end on this machine, no account and no network. Starts the
 * sandbox on a free port and runs the real built `aitoearn-auth connect douyin` against it, on your
 * terminal (URL, QR code, live line and all). A stand-in person then does what you would do in the browser:
 * opens the consent page over HTTP, presses Approve, and submits the page's callback form to the command's
 * loopback listener, as the browser's script would — and the command notices at once, not at its next poll.
 * `--interactive` leaves all of that to you, in your own browser (the command opens it).
 *
 * Run through `npm run demo`, which builds dist/ first (the demo runs the built command, as users do).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSandbox } from '../src/sandbox/index.js';
import { visitConsentPage } from './stand-in-person.js';

/** The person takes a moment: long enough to see the command waiting, with its next poll seconds away. */
const APPROVE_AFTER_MS = 4500;
const PLATFORM = 'douyin';

const { values } = parseArgs({ options: { interactive: { type: 'boolean' } }, strict: true });
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  console.error(`demo: ${cli} is missing; run 'npm run demo', which builds it first.`);
  process.exit(1);
}

const sandbox = await startSandbox();
console.log(`Sandbox (a local stand-in for the AiToEarn API) is listening on ${sandbox.url}`);
if (values.interactive) {
  console.log('Open the URL below in your browser (the command tries to open it) and approve or deny.');
} else {
  console.log(
    `A stand-in person will approve in the browser's place ${APPROVE_AFTER_MS / 1000} s after the first check.`,
  );
}

const args = [cli, 'connect', PLATFORM, ...(values.interactive ? [] : ['--no-open'])];
console.log(
  `\n$ AITOEARN_BASE_URL=${sandbox.url} AITOEARN_API_KEY=${sandbox.apiKey} aitoearn-auth ${args.slice(1).join(' ')}`,
);
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: {
    ...process.env,
    AITOEARN_API_KEY: sandbox.apiKey,
    AITOEARN_BASE_URL: sandbox.url,
    AITOEARN_SITE: '',
  },
});
// Ctrl-C reaches the command too (same process group); forwarding covers a signal sent to the demo alone.
// The command then prints its result and exits 130/143, and the demo exits with that code.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));

const exited = new Promise<number>((resolve) => {
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === 'SIGTERM' ? 143 : 130)));
  child.on('error', (error) => {
    console.error(`demo: cannot start the command: ${error.message}`);
    resolve(1);
  });
});

/**
 * The stand-in person. The command prints the URL on the terminal, which the demo does not read (it stays
 * the command's); the sandbox's request log names the session as soon as the command first checks it.
 */
async function person(): Promise<void> {
  let sessionId: string | undefined;
  let running = true;
  exited.then(() => {
    running = false;
  });
  while (running && sessionId === undefined) {
    const check = sandbox.requests.find((r) => r.method === 'GET' && r.path.includes('/status/'));
    sessionId = check?.path.split('/').at(-1);
    if (sessionId === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (sessionId === undefined) return;
  await new Promise((resolve) => setTimeout(resolve, APPROVE_AFTER_MS));
  if (!running) return;
  const consentUrl = `${sandbox.url}/sandbox/consent/${encodeURIComponent(decodeURIComponent(sessionId))}`;
  let decidedAt = Date.now();
  const visit = await visitConsentPage(consentUrl, 'approve', {
    onDecided: () => {
      decidedAt = Date.now();
    },
  });
  process.stderr.write(
    `\n[demo] approved on the consent page (HTTP ${visit.decisionStatus}); the page's form posted the callback to the command (HTTP ${visit.callbackStatus ?? 'none'})\n`,
  );
  await exited;
  const checks = sandbox.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${sessionId}`));
  const last = checks.at(-1);
  if (last && visit.callbackStatus !== undefined) {
    console.log(
      `[demo] the command's last check reached the sandbox ${Math.max(0, last.at - decidedAt)} ms after the approval (${checks.length} checks in all)`,
    );
  }
}

const standIn = values.interactive
  ? Promise.resolve()
  : person().catch((error: unknown) => {
      console.error(
        `\n[demo] the stand-in person failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      child.kill('SIGTERM');
    });
const code = await exited;
await standIn;
await sandbox.close();
console.log(
  `\naitoearn-auth connect exited with code ${code}${code === 0 ? ' (completed): the account above is connected.' : '.'}`,
);
console.log('Against the real API: AITOEARN_API_KEY=... npx aitoearn-auth connect douyin --site cn');
process.exitCode = code;
