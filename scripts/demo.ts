/**
 * `npm run demo`: the whole flow on this machine, no account and no network. Starts the sandbox on a free
 * port, creates a session, approves it after a few seconds as the user would on the consent page
 * (`--interactive`: waits for you to do it in the browser), and runs the real built `aitoearn-auth wait`
 * against it, live progress and all. Exits with the command's exit code.
 *
 * Run through `npm run demo`, which builds dist/ first (the demo runs the built command, as users do).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSandbox } from '../src/sandbox/index.js';

/** Approving at 2.5 s lands just before the waiter's third check (at about 1 s + 2 s with backoff). */
const APPROVE_AFTER_MS = 2500;
const PLATFORM = 'douyin';

const { values } = parseArgs({ options: { interactive: { type: 'boolean' } }, strict: true });
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  console.error(`demo: ${cli} is missing; run 'npm run demo', which builds it first.`);
  process.exit(1);
}

const sandbox = await startSandbox();
const session = sandbox.createSession({ platform: PLATFORM, outcome: { type: 'manual' } });
console.log(`Sandbox (a local stand-in for the AiToEarn API) is listening on ${sandbox.url}`);
console.log(`Created authorization session ${session.sessionId} for ${PLATFORM}.`);
console.log(`Consent page: ${session.consentUrl}`);

let approval: NodeJS.Timeout | undefined;
if (values.interactive) {
  console.log(
    'Open the consent page in your browser and approve (or deny); the command below waits for you.',
  );
} else {
  console.log(`Approving it by itself in ${APPROVE_AFTER_MS / 1000} s, as a user on that page would.`);
  approval = setTimeout(() => {
    fetch(`${sandbox.url}/sandbox/sessions/${encodeURIComponent(session.sessionId)}/approve`, {
      method: 'POST',
    }).then(
      (response) => console.error(`\n[demo] approved on the consent page (HTTP ${response.status})`),
      (error: unknown) => console.error(`\n[demo] approving failed: ${String(error)}`),
    );
  }, APPROVE_AFTER_MS);
}

const args = [cli, 'wait', PLATFORM, session.sessionId];
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

const code = await new Promise<number>((resolve) => {
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === 'SIGTERM' ? 143 : 130)));
  child.on('error', (error) => {
    console.error(`demo: cannot start the command: ${error.message}`);
    resolve(1);
  });
});
if (approval) clearTimeout(approval);
await sandbox.close();
console.log(
  `\naitoearn-auth wait exited with code ${code}${code === 0 ? ' (completed): the account above is connected.' : '.'}`,
);
console.log(
  'Try it against the real API: AITOEARN_API_KEY=... npx aitoearn-auth wait <platform> <sessionId> --site cn',
);
process.exitCode = code;
