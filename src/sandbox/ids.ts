import { randomBytes } from 'node:crypto';

/** nanoid's alphabet: 64 URL-safe characters, so one random byte masked to 6 bits picks one without bias. */
const NANOID_ALPHABET = 'useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict';
const REQUEST_ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A session id as the real server makes them, `nanoid(16)`, except that it never starts with `-`: the real
 * server's do, 1 in 64, and a command line then reads the id as an option unless it follows `--`. The
 * sandbox's own users (and tests) should not trip over that at random.
 */
export function newSessionId(): string {
  let id = '';
  while (id === '' || id.startsWith('-')) {
    id = '';
    for (const byte of randomBytes(16)) id += NANOID_ALPHABET[byte & 63];
  }
  return id;
}

/** A request id as the real server makes them: 21 characters of `[0-9a-z]` (nanoid's customAlphabet). */
export function newRequestId(): string {
  let id = '';
  while (id.length < 21) {
    for (const byte of randomBytes(32)) {
      // 252 = 7 × 36: rejecting the top 4 byte values keeps every character equally likely.
      if (byte < 252 && id.length < 21) id += REQUEST_ID_ALPHABET[byte % 36];
    }
  }
  return id;
}
