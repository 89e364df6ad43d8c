/** Facts shared by the package's local servers (the connect callback listener and the sandbox). */
import type { IncomingMessage } from 'node:http';

/** The only interface the package's servers bind by default, and the host of every callback URL. */
export const LOOPBACK_HOST = '127.0.0.1';

/** The most bytes of a request body a local server reads (a consent form or a callback is far smaller). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The CSP of every page we serve: nothing loads or frames it; one nonce'd inline script at most. */
export function pagePolicy(formAction: string, scriptNonce?: string): string {
  const script = scriptNonce === undefined ? '' : ` script-src 'nonce-${scriptNonce}';`;
  return `default-src 'none'; style-src 'unsafe-inline';${script} form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** The body as text, or undefined past MAX_BODY_BYTES; read to its end so that the answer (413) can be read. */
export async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}
