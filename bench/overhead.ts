/**
 * Part 2: CPU per status request in this process — our `getAuthStatus` against a bare `fetch` and a bare
 * `node:http` keep-alive request, plus the steps in between, so that a gap can be located.
 */
import { Agent, request as httpRequest } from 'node:http';
import createClient from 'openapi-fetch';
import { createAitoearnClient, getAuthStatus } from '../dist/index.js';
import { VERSION } from '../dist/version.js';
import { firstJsonLine, spawnTs, stopChild } from './child.js';
import { median } from './stats.js';
import { num, type Table, table } from './table.js';

const PATH = '/api/v2/channels/accounts/auth/douyin/status/bench-session';

interface Method {
  readonly name: string;
  readonly call: () => Promise<unknown>;
}

interface MethodResult {
  readonly name: string;
  readonly cpuUs: number;
  readonly wallUs: number;
}

export interface OverheadData {
  readonly calls: number;
  readonly methods: MethodResult[];
  /** The same client code over an in-memory `fetch` (no socket), isolating the library's own CPU. */
  readonly inMemory: MethodResult[];
}

const STATUS_BODY = JSON.stringify({
  code: 0,
  message: 'ok',
  requestId: 'req-1',
  data: {
    sessionId: 'bench-session',
    status: 'pending',
    requiresSelection: false,
    expiresAt: '2026-11-26T08:05:00.000Z',
  },
});

function cannedResponse(): Response {
  return new Response(STATUS_BODY, {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      date: new Date().toUTCString(),
      'x-request-id': 'req-1',
    },
  });
}

/** Runs each method `calls` times in interleaved rounds after a warm-up; CPU and wall time per call. */
async function measure(methods: readonly Method[], calls: number): Promise<MethodResult[]> {
  const warmup = Math.max(50, Math.min(2000, Math.round(calls / 10)));
  for (const m of methods) for (let i = 0; i < warmup; i++) await m.call();
  const rounds = 10;
  const per = Math.max(1, Math.round(calls / rounds));
  const cpu = new Map<string, number[]>(methods.map((m) => [m.name, []]));
  const wall = new Map<string, number[]>(methods.map((m) => [m.name, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order each round so that drift (GC, other load) does not favour one method.
    const order = r % 2 === 0 ? methods : [...methods].reverse();
    for (const m of order) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      for (let i = 0; i < per; i++) await m.call();
      const c = process.cpuUsage(c0);
      wall.get(m.name)?.push(((performance.now() - w0) * 1000) / per);
      cpu.get(m.name)?.push((c.user + c.system) / per);
    }
  }
  // The median round resists bursts of load from other processes better than the mean.
  return methods.map((m) => ({
    name: m.name,
    cpuUs: median(cpu.get(m.name) ?? []),
    wallUs: median(wall.get(m.name) ?? []),
  }));
}

export async function measureOverhead(options: { calls: number }): Promise<OverheadData> {
  const server = spawnTs(new URL('./children/status-server.ts', import.meta.url).pathname);
  try {
    const { port } = await firstJsonLine<{ port: number }>(server);
    const origin = `http://127.0.0.1:${port}`;
    const url = `${origin}${PATH}`;
    const headers = {
      'X-Api-Key': 'bench-key',
      Accept: 'application/json',
      'User-Agent': `aitoearn-auth/${VERSION}`,
    };
    const client = createAitoearnClient({ apiKey: 'bench-key', baseUrl: origin });
    const api = createClient<Record<string, never>>({ baseUrl: origin, headers, redirect: 'manual' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const params = { platform: 'douyin', sessionId: 'bench-session' };

    const methods: Method[] = [
      { name: 'getAuthStatus', call: () => getAuthStatus(client, params) },
      {
        name: 'bare fetch + JSON.parse',
        call: async () => JSON.parse(await (await fetch(url, { headers })).text()),
      },
      {
        name: 'node:http keep-alive + JSON.parse',
        call: () =>
          new Promise((resolve, reject) => {
            httpRequest(url, { agent, headers }, (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                text += chunk;
              });
              res.on('end', () => resolve(JSON.parse(text)));
              res.on('error', reject);
            })
              .on('error', reject)
              .end();
          }),
      },
      // The steps between a bare fetch and getAuthStatus, to show where the extra time goes.
      {
        name: '  step: fetch(new Request(…)) + JSON.parse',
        call: async () =>
          JSON.parse(await (await fetch(new Request(url, { headers, redirect: 'manual' }))).text()),
      },
      {
        name: '  step: + AbortController signal',
        call: async () => {
          const controller = new AbortController();
          const request = new Request(url, { headers, redirect: 'manual', signal: controller.signal });
          return JSON.parse(await (await fetch(request)).text());
        },
      },
      {
        name: '  step: + setTimeout/clearTimeout',
        call: async () => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), 10_000);
          try {
            const request = new Request(url, { headers, redirect: 'manual', signal: controller.signal });
            return JSON.parse(await (await fetch(request)).text());
          } finally {
            clearTimeout(timer);
          }
        },
      },
      {
        name: '  step: openapi-fetch GET (parseAs text) + JSON.parse',
        call: () => getWithTimeout(api),
      },
    ];

    const result = await measure(methods, options.calls);
    agent.destroy();

    const memoryClient = createAitoearnClient({
      apiKey: 'bench-key',
      baseUrl: origin,
      fetch: async () => cannedResponse(),
    });
    const memoryApi = createClient<Record<string, never>>({
      baseUrl: origin,
      headers,
      redirect: 'manual',
      fetch: async () => cannedResponse(),
    });
    const inMemory = await measure(
      [
        { name: 'getAuthStatus', call: () => getAuthStatus(memoryClient, params) },
        {
          name: 'openapi-fetch GET (parseAs text) + JSON.parse',
          call: async () => {
            const { data } = await memoryApi.GET(PATH as never, { parseAs: 'text' } as never);
            return JSON.parse(data as unknown as string);
          },
        },
        {
          name: 'openapi-fetch GET + AbortController signal + timer',
          call: () => getWithTimeout(memoryApi),
        },
        {
          name: 'new Request(…) + JSON.parse',
          call: async () => {
            void new Request(url, { headers, redirect: 'manual' });
            return JSON.parse(await cannedResponse().text());
          },
        },
        { name: 'Response only + JSON.parse', call: async () => JSON.parse(await cannedResponse().text()) },
      ],
      options.calls,
    );
    return { calls: Math.round(options.calls / 10) * 10, methods: result, inMemory };
  } finally {
    await stopChild(server);
  }
}

export function overheadTables(data: OverheadData): Table[] {
  const bare = data.methods.find((m) => m.name.startsWith('bare fetch'))?.cpuUs ?? Number.NaN;
  const http = data.methods.find((m) => m.name.startsWith('node:http'))?.cpuUs ?? Number.NaN;
  return [
    table(
      `Per-request overhead — ${data.calls} sequential calls each, keep-alive server in a child process`,
      ['method', 'CPU µs/call', 'vs bare fetch', 'vs node:http', 'wall µs/call'],
      data.methods.map((m) => [
        m.name,
        num(m.cpuUs, 1),
        num(m.cpuUs / bare, 2, '×'),
        num(m.cpuUs / http, 2, '×'),
        num(m.wallUs, 1),
      ]),
      [
        'CPU = process.cpuUsage() user + system of the calling process only (the server is another process); calls run one at a time in 10 interleaved rounds after a warm-up; each figure is the median round (this 2-vCPU VM is shared, and single rounds vary by ±10%).',
        'The "step" rows add, one at a time, what getAuthStatus does on top of a bare fetch (Request object, abort signal, timeout timer, openapi-fetch), so the gap can be located.',
      ],
    ),
    table(
      `Client CPU without a socket — the same calls over an in-memory fetch (${data.calls} calls each)`,
      ['method', 'CPU µs/call', 'vs Response only'],
      data.inMemory.map((m) => [
        m.name,
        num(m.cpuUs, 1),
        num(m.cpuUs / (data.inMemory.at(-1)?.cpuUs ?? Number.NaN), 2, '×'),
      ]),
      [
        "The injected fetch returns a ready Response (same body and headers as the server); what remains is the client's own work: openapi-fetch building a Request, our checks, abort wiring and interpretation.",
      ],
    ),
  ];
}

/** openapi-fetch's GET with what every real call needs: an abort signal and a timeout timer. */
async function getWithTimeout(api: ReturnType<typeof createClient<Record<string, never>>>): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const { data } = await api.GET(PATH as never, { signal: controller.signal, parseAs: 'text' } as never);
    return JSON.parse(data as unknown as string);
  } finally {
    clearTimeout(timer);
  }
}
