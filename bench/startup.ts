/**
 * Part 4: from spawning `aitoearn-auth status` to its first request reaching a local server, against a
 * bare `node -e` script making the same request.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median } from './stats.js';
import { num, type Table, table } from './table.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const PATH = '/api/v2/channels/accounts/auth/douyin/status/bench-session';
const BARE = `fetch(process.env.AITOEARN_BASE_URL + ${JSON.stringify(PATH)}, { headers: { 'X-Api-Key': process.env.AITOEARN_API_KEY } }).then((r) => r.text())`;

export interface StartupData {
  readonly runs: number;
  readonly cli: { readonly firstRequestMs: number[]; readonly exitMs: number[] } | undefined;
  readonly bare: { readonly firstRequestMs: number[]; readonly exitMs: number[] };
  readonly note: string | undefined;
}

export async function measureStartup(options: { runs: number }): Promise<StartupData> {
  let arrived: (() => void) | undefined;
  const server = createServer((req, res) => {
    req.resume();
    arrived?.();
    const body = JSON.stringify({
      code: 0,
      message: 'ok',
      data: {
        sessionId: 'bench-session',
        status: 'completed',
        requiresSelection: false,
        accountId: 'a1',
        accountIds: ['a1'],
      },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { ...process.env, AITOEARN_API_KEY: 'bench-key', AITOEARN_BASE_URL: origin, NO_COLOR: '1' };

  /** One spawn: ms until the first request arrived (NaN if none) and until the process exited. */
  const once = async (args: readonly string[]) => {
    let firstAt = Number.NaN;
    const requestSeen = new Promise<void>((resolve) => {
      arrived = () => {
        if (Number.isNaN(firstAt)) firstAt = performance.now();
        resolve();
      };
    });
    const start = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const exitAt = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', () => resolve(performance.now()));
    });
    await Promise.race([requestSeen, new Promise((resolve) => setTimeout(resolve, 50))]);
    arrived = undefined;
    return { first: firstAt - start, exit: exitAt - start };
  };

  const bare = { firstRequestMs: [] as number[], exitMs: [] as number[] };
  const cliRuns = { firstRequestMs: [] as number[], exitMs: [] as number[] };
  const hasCli = existsSync(CLI);
  try {
    // One unmeasured run of each warms the disk cache.
    await once(['-e', BARE]);
    if (hasCli) await once([CLI, 'status', 'douyin', 'bench-session']);
    for (let i = 0; i < options.runs; i++) {
      const b = await once(['-e', BARE]);
      bare.firstRequestMs.push(b.first);
      bare.exitMs.push(b.exit);
      if (hasCli) {
        const c = await once([CLI, 'status', 'douyin', 'bench-session']);
        cliRuns.firstRequestMs.push(c.first);
        cliRuns.exitMs.push(c.exit);
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  let note: string | undefined;
  if (!hasCli) note = 'dist/cli/main.js does not exist: run `npm run build` first.';
  else if (cliRuns.firstRequestMs.every((t) => Number.isNaN(t)))
    note = 'The built command sent no request (is dist/cli/main.js up to date?).';
  return { runs: options.runs, cli: hasCli ? cliRuns : undefined, bare, note };
}

export function startupTables(data: StartupData): Table[] {
  const bareFirst = median(data.bare.firstRequestMs);
  const rows = [
    ['bare `node -e` fetch', num(bareFirst, 1), num(1, 2, '×'), num(median(data.bare.exitMs), 1)],
  ];
  if (data.cli) {
    const cliFirst = median(data.cli.firstRequestMs);
    rows.unshift([
      '`node dist/cli/main.js status douyin <id>`',
      num(cliFirst, 1),
      num(cliFirst / bareFirst, 2, '×'),
      num(median(data.cli.exitMs), 1),
    ]);
  }
  return [
    table(
      `Command start-up — median of ${data.runs} spawns each, to the first request reaching a local server`,
      ['command', 'first request (ms)', 'vs bare', 'exit (ms)'],
      rows,
      [
        'Measured from just before spawn() to the server seeing the request (same machine, loopback); runs alternate between the two commands after one unmeasured warm-up run of each.',
        ...(data.note ? [data.note] : []),
      ],
    ),
  ];
}

// `npx tsx bench/startup.ts [runs]` measures this part alone (bench/run.ts has no `--only startup`).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { renderTable } = await import('./table.js');
  const data = await measureStartup({ runs: Number(process.argv[2] ?? 15) });
  for (const t of startupTables(data)) process.stdout.write(`${renderTable(t)}\n`);
}
