import { close, constants, createReadStream, fstat, open } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';
import { promisify } from 'node:util';
import type { KeySource } from './args.js';
import { UsageError } from './exit-codes.js';

/** A key file larger than this is not a key file (the API's keys are far shorter). */
export const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * Reads the API key from env `AITOEARN_API_KEY` or a file (`-` = stdin), dropping one trailing newline.
 * Messages name the source, never the content. The key's format is checked by `createAitoearnClient`.
 * A file is read as a stream and never past {@link MAX_KEY_FILE_BYTES} (`/dev/zero` has no end), and an
 * abort (Ctrl-C) ends the read at once, even on a FIFO that nobody writes.
 */
export async function readApiKey(
  source: KeySource,
  env: NodeJS.ProcessEnv,
  stdin: NodeJS.ReadStream,
  signal: AbortSignal,
): Promise<string> {
  if (source.from === 'env') {
    const key = env.AITOEARN_API_KEY;
    if (!key) {
      throw new UsageError(
        'no API key: set AITOEARN_API_KEY or use --api-key-file PATH (the sandbox accepts "sandbox-key")',
      );
    }
    return key;
  }
  const fromStdin = source.path === '-';
  const where = fromStdin ? 'the API key on stdin' : `the API key file ${JSON.stringify(source.path)}`;
  if (fromStdin && stdin.isTTY)
    throw new UsageError('--api-key-file - reads stdin, which is a terminal: pipe the key in');
  let text: string;
  try {
    text = await readCapped(fromStdin ? stdin : await openKeyFile(source.path), signal, where);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read ${where}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  const key = text.replace(/\r?\n$/, '');
  if (key === '') throw new UsageError(`${where} is empty`);
  return key;
}

/**
 * Opens the key file without ever blocking a thread: a FIFO is opened non-blocking and read like a pipe
 * (the event loop waits for its writer, so Ctrl-C ends the wait and the process can exit), a terminal like
 * a terminal, anything else (a regular file, `/dev/zero`) as a file stream.
 */
async function openKeyFile(path: string): Promise<Readable> {
  // A plain descriptor, not a FileHandle: the stream that reads it owns and closes it.
  const fd = await promisify(open)(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await promisify(fstat)(fd);
    if (stats.isFIFO() || stats.isSocket()) return new Socket({ fd, readable: true, writable: false });
    if (isatty(fd)) return new TtyReadStream(fd);
    return createReadStream('', { fd, highWaterMark: MAX_KEY_FILE_BYTES + 1 });
  } catch (error) {
    close(fd, () => {});
    throw error;
  }
}

/** Reads `stream` to its end, but stops (and destroys it) past {@link MAX_KEY_FILE_BYTES} or when `signal` aborts. */
function readCapped(stream: Readable, signal: AbortSignal, where: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: unknown, text?: string) => {
      signal.removeEventListener('abort', onAbort);
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      if (error === undefined) resolve(text ?? '');
      else {
        // Errors after this point (a destroyed file stream's late read) have no one to tell.
        stream.on('error', () => {}).destroy();
        reject(error);
      }
    };
    const onAbort = () => finish(signal.reason);
    const onData = (chunk: Buffer | string) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > MAX_KEY_FILE_BYTES) finish(new UsageError(`${where} is over ${MAX_KEY_FILE_BYTES} bytes`));
      else chunks.push(buffer);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString('utf8'));
    const onError = (error: Error) => finish(error);
    if (signal.aborted) return finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData).once('end', onEnd).once('error', onError);
  });
}
