import { readFile } from 'node:fs/promises';
import { addAbortSignal } from 'node:stream';
import type { KeySource } from './args.js';
import { UsageError } from './args.js';

/** A key file larger than this is not a key file (the API's keys are far shorter). */
const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * Reads the API key from env `AITOEARN_API_KEY` or a file (`-` = stdin), dropping one trailing newline.
 * Messages name the source, never the content. The key's format is checked by `createAitoearnClient`.
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
  let text: string;
  if (source.path === '-') {
    if (stdin.isTTY)
      throw new UsageError('--api-key-file - reads stdin, which is a terminal: pipe the key in');
    text = await readStdin(stdin, signal);
  } else {
    try {
      const buffer = await readFile(source.path);
      if (buffer.length > MAX_KEY_FILE_BYTES) {
        throw new UsageError(
          `the API key file ${JSON.stringify(source.path)} is over ${MAX_KEY_FILE_BYTES} bytes`,
        );
      }
      text = buffer.toString('utf8');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      const code = (error as { code?: unknown }).code;
      throw new UsageError(
        `cannot read the API key file ${JSON.stringify(source.path)}${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    }
  }
  const key = text.replace(/\r?\n$/, '');
  if (key === '') throw new UsageError(`the API key ${source.path === '-' ? 'on stdin' : 'file'} is empty`);
  return key;
}

/** Reads stdin to its end; Ctrl-C while a writer never closes it rejects with the signal's reason. */
async function readStdin(stdin: NodeJS.ReadStream, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of addAbortSignal(signal, stdin)) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > MAX_KEY_FILE_BYTES) {
        stdin.destroy();
        throw new UsageError(`the API key on stdin is over ${MAX_KEY_FILE_BYTES} bytes`);
      }
      chunks.push(buffer);
    }
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  }
  return Buffer.concat(chunks).toString('utf8');
}
