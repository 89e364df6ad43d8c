import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { type SessionCommand, UsageError } from './args.js';

/** A key file larger than this is not a key file (`/dev/zero` has no end). */
const MAX_KEY_FILE_BYTES = 16 * 1024;

/** Where the key comes from, in the words of a message. */
export function keySource(key: SessionCommand['key']): string {
  if (key.from === 'env') return 'AITOEARN_API_KEY';
  return key.path === '-' ? 'the API key on stdin' : `the API key file ${JSON.stringify(key.path)}`;
}

/** The API key from env `AITOEARN_API_KEY` or a file (`-` = stdin). Messages name where, never the key. */
export async function readApiKey(
  source: SessionCommand['key'],
  env: NodeJS.ProcessEnv,
  stdin: NodeJS.ReadStream,
  signal: AbortSignal,
) {
  if (source.from === 'env') {
    if (env.AITOEARN_API_KEY) return env.AITOEARN_API_KEY;
    throw new UsageError(
      'no API key: set AITOEARN_API_KEY or use --api-key-file PATH (the sandbox accepts "sandbox-key")',
    );
  }
  const fromStdin = source.path === '-';
  const where = keySource(source);
  if (fromStdin && stdin.isTTY)
    throw new UsageError('--api-key-file - reads stdin, which is a terminal: pipe the key in');
  const chunks: Buffer[] = [];
  try {
    // Streams and files load only here: a key from the environment starts faster without them.
    const { addAbortSignal } = await import('node:stream');
    const stream = addAbortSignal(signal, fromStdin ? stdin : await openKeyFile(source.path));
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(Buffer.from(chunk));
      if (Buffer.concat(chunks).length <= MAX_KEY_FILE_BYTES) continue;
      stream.on('error', () => {}).destroy();
      throw new UsageError(`${where} is over ${MAX_KEY_FILE_BYTES} bytes`);
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read ${where}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  const key = `${Buffer.concat(chunks)}`.replace(/\r?\n$/, '');
  if (key === '') throw new UsageError(`${where} is empty`);
  return key;
}

/** Never blocks a thread: a FIFO is opened non-blocking and read as a socket, so Ctrl-C ends its wait. */
async function openKeyFile(path: string): Promise<Readable> {
  const fs = await import('node:fs');
  const fd = await promisify(fs.open)(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stats = await promisify(fs.fstat)(fd);
    if (stats.isFIFO() || stats.isSocket())
      return new (await import('node:net')).Socket({ fd, readable: true, writable: false });
    return fs.createReadStream('', { fd, highWaterMark: MAX_KEY_FILE_BYTES + 1 });
  } catch (error) {
    fs.close(fd, () => {});
    throw error;
  }
}
