/**
 * A `fetch` over `node:http` with a bounded keep-alive pool, for the many-sessions benchmark: what a
 * caller awaiting thousands of sessions can inject (`createAitoearnClient({ fetch })`) instead of the
 * global fetch, whose pool opens one connection per concurrent request.
 */
import { Agent, request as httpRequest } from 'node:http';

export function pooledHttpFetch(maxSockets: number): {
  fetch: (request: Request) => Promise<Response>;
  agent: Agent;
} {
  const agent = new Agent({ keepAlive: true, maxSockets, scheduling: 'fifo' });
  const fetch = (request: Request): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const signal = request.signal;
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const req = httpRequest(request.url, { method: request.method, headers, agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') responseHeaders.set(key, value);
            else if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
          }
          resolve(
            new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: responseHeaders }),
          );
        });
      });
      req.on('error', (error) =>
        reject(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: error })),
      );
      req.end();
    });
  return { fetch, agent };
}
