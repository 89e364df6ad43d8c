/**
 * The sandbox in its own process, for the many-sessions benchmark: creates `count` sessions with seeded
 * outcomes and prints `{url, apiKey, sessions}` on one stdout line. Ends when its stdin closes.
 */
import { startSandbox } from '../../dist/sandbox/index.js';
import { mulberry32 } from '../prng.js';

export interface SandboxChildOptions {
  readonly count: number;
  readonly lifetimeMs: number;
  /** Completions and failures happen uniformly in [from, to] ms after creation. */
  readonly window: readonly [number, number];
  readonly seed: number;
}

export type Expected = 'completed' | 'failed' | 'expired';

const options = JSON.parse(process.argv[2] ?? '{}') as SandboxChildOptions;
const random = mulberry32(options.seed);
const sandbox = await startSandbox({
  sessionLifetimeMs: options.lifetimeMs,
  maxSessions: options.count + 100,
});
const [from, to] = options.window;
const sessions: { sessionId: string; expect: Expected }[] = [];
for (let i = 0; i < options.count; i++) {
  const r = random();
  const afterMs = Math.round(from + random() * (to - from));
  if (r < 0.7) {
    const { sessionId } = sandbox.createSession({
      platform: 'douyin',
      outcome: { type: 'complete', afterMs },
    });
    sessions.push({ sessionId, expect: 'completed' });
  } else if (r < 0.8) {
    const { sessionId } = sandbox.createSession({
      platform: 'douyin',
      outcome: { type: 'fail', afterMs, errorCode: 15045 },
    });
    sessions.push({ sessionId, expect: 'failed' });
  } else {
    const { sessionId } = sandbox.createSession({ platform: 'douyin', outcome: { type: 'never' } });
    sessions.push({ sessionId, expect: 'expired' });
  }
}
process.stdout.write(`${JSON.stringify({ url: sandbox.url, apiKey: sandbox.apiKey, sessions })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  const cpu = process.cpuUsage();
  const report = { requests: sandbox.requestCount, cpuUs: cpu.user + cpu.system, uptimeS: process.uptime() };
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
});
