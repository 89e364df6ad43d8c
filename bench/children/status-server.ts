/**
 * A keep-alive node:http server answering the status body, run as a child process so that its CPU is not
 * counted against the client being measured. Prints `{"port": N}` on stdout once listening.
 */
import { createServer } from 'node:http';

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
      expiresAt: new Date(Date.now() + 300_000).toISOString(),
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
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
