import { createAitoearnClient, getAuthStatus } from './src/index.js';
const BODY = JSON.stringify({ code: 0, message: 'ok', requestId: 'req-1', data: { sessionId: 'bench-session', status: 'pending', requiresSelection: false, expiresAt: '2026-11-26T08:05:00.000Z' } });
const canned = () => new Response(BODY, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', date: new Date().toUTCString(), 'x-request-id': 'req-1' } });
const client = createAitoearnClient({ apiKey: 'bench-key-123456', baseUrl: 'http://127.0.0.1:9', fetch: async () => canned() });
const p = { platform: 'douyin', sessionId: 'bench-session' };
for (let i = 0; i < 5000; i++) await getAuthStatus(client, p);
const rounds: number[] = [];
for (let r = 0; r < 15; r++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < 4000; i++) await getAuthStatus(client, p);
  const c = process.cpuUsage(c0);
  rounds.push((c.user + c.system) / 4000);
}
rounds.sort((a, b) => a - b);
console.log('median us/call', rounds[7]?.toFixed(2), 'min', rounds[0]?.toFixed(2));
