/**
 * A keep-alive node:http server answering the status body, run as a child process so that its CPU is not
 * counted against the client being measured. Prints `{"port": N}` on stdout once listening. An optional
 * first argument `{"expiresInMs": N}` sets how far ahead `expiresAt` is (default 5 minutes); on stdin's end it prints `{"requests": N, "cpuUs": N}`.
 */
import { createServer } from 'node:http';

const { expiresInMs = 300_000 } = JSON.parse(process.argv[2] ?? '{}') as { expiresInMs?: number };

let n = 0;
const server = createServer((req, res) => {
  req.resume();
  n += 1;
  const body = JSON.stringify({
    code: 0,
    message: 'ok',
    requestId: `req-${n}`,
    data: {
      sessionId: 'bench-session',
      status: 'pending',
      requiresSelection: false,
      expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    },
  });
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    date: new Date().toUTCString(),
    'x-request-id': `req-${n}`,
  });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
// A line "count" on stdin asks how many requests were answered so far: `{"requests": N}`.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) {
    if (line.trim() === 'count') process.stdout.write(`${JSON.stringify({ requests: n })}\n`);
  }
});
process.stdin.on('end', () => {
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ requests: n, cpuUs: cpu.user + cpu.system })}\n`, () =>
    process.exit(0),
  );
});
