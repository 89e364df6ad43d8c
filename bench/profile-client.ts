/**
 * `npx tsx bench/profile-client.ts [calls]` — where getAuthStatus spends its CPU: profiles sequential calls
 * against the keep-alive status server (child process) with the V8 sampling profiler and sums self time by
 * place (our client, openapi-fetch, undici/fetch, GC, …), and the inclusive time of a few functions.
 */
import { Session } from 'node:inspector/promises';
import { createAitoearnClient, getAuthStatus } from '../dist/index.js';
import { firstJsonLine, spawnTs, stopChild } from './child.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

const calls = Number(process.argv[2] ?? 20_000);
const server = spawnTs(new URL('./children/status-server.ts', import.meta.url).pathname);
const { port } = await firstJsonLine<{ port: number }>(server);
const client = createAitoearnClient({ apiKey: 'bench-key', baseUrl: `http://127.0.0.1:${port}` });
const params = { platform: 'douyin', sessionId: 'bench-session' };
for (let i = 0; i < 2000; i++) await getAuthStatus(client, params);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
for (let i = 0; i < calls; i++) await getAuthStatus(client, params);
const { profile } = await session.post('Profiler.stop');
session.disconnect();
await stopChild(server);

const nodes = new Map((profile.nodes as ProfileNode[]).map((n) => [n.id, n] as const));
const parent = new Map<number, number>();
for (const n of profile.nodes as ProfileNode[]) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
const deltas: number[] = profile.timeDeltas ?? [];
const samples: number[] = profile.samples ?? [];
samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
});

const place = (n: ProfileNode): string => {
  const { url, functionName } = n.callFrame;
  if (url.includes('/src/client.ts')) return 'src/client.ts (getAuthStatus, interpret, retryAfterMs…)';
  if (url.includes('/src/')) return 'other src/';
  if (url.includes('openapi-fetch')) return 'openapi-fetch';
  if (url.includes('undici') || url.includes('internal/deps')) return 'undici (fetch)';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle (waiting for the server)';
  if (url.includes('abort_controller') || url.includes('event_target') || url.includes('domexception'))
    return 'AbortController / EventTarget';
  if (url.includes('timers')) return 'timers';
  if (url.startsWith('node:') || url === '')
    return `node internals / native (${functionName || 'anonymous'})`;
  return 'other';
};
const byPlace = new Map<string, number>();
let busy = 0;
for (const [id, t] of self) {
  const n = nodes.get(id);
  if (!n) continue;
  const k = place(n);
  const key = k.startsWith('node internals') ? 'node internals / native' : k;
  byPlace.set(key, (byPlace.get(key) ?? 0) + t);
  if (k !== 'idle (waiting for the server)') busy += t;
}
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = nodes.get(cur);
    if (!n) break;
    const name = n.callFrame.functionName;
    if (!seen.has(name)) {
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + t);
    }
  }
}
const us = (t: number) => (t / calls).toFixed(1).padStart(7);
console.log(`getAuthStatus × ${calls}: CPU (not idle) ${us(busy)} µs/call\n\nself time by place (µs/call):`);
for (const [k, t] of [...byPlace].sort((a, b) => b[1] - a[1])) console.log(`${us(t)}  ${k}`);
console.log('\ninclusive time of (µs/call; synchronous parts only):');
for (const name of [
  'requestAuthStatus',
  'interpret',
  'retryAfterMs',
  'checkStatusParams',
  'coreFetch',
  '_Request',
  'fetch',
  'abort',
  'setTimeout',
  'addEventListener',
  'removeEventListener',
]) {
  console.log(`${us(inclusive.get(name) ?? 0)}  ${name}`);
}
process.exit(0);
