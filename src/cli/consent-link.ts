import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What the start operation's `url` is, as far as the command is concerned. */
export type ConsentLink =
  | { readonly kind: 'web'; readonly url: string }
  | { readonly kind: 'image'; readonly bytes: Buffer; readonly extension: string }
  | { readonly kind: 'other' };

// Raster images only: an SVG opened from disk can run script.
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};
/** A QR code image is a few kilobytes; the client already caps the whole answer. */
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/**
 * Sorts the server's `url`. Only http(s) pages and base64 raster `data:image/…` URLs are ever opened: the
 * server is untrusted, and handing `file:`, `javascript:` or an app's custom scheme to the desktop's opener
 * would let it run things on this machine.
 */
export function classifyConsentLink(url: string): ConsentLink {
  const image = /^data:(image\/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(url);
  if (image) {
    const extension = IMAGE_TYPES[(image[1] ?? '').toLowerCase()];
    const bytes = Buffer.from(image[2] ?? '', 'base64');
    if (extension && bytes.length > 0 && bytes.length <= MAX_IMAGE_BYTES) {
      return { kind: 'image', bytes, extension };
    }
    return { kind: 'other' };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'other' };
  }
  if ((parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.username === '') {
    return { kind: 'web', url: parsed.href };
  }
  return { kind: 'other' };
}

/** Writes a QR code image to a fresh private directory; `remove` deletes it again. */
export async function writeConsentImage(
  bytes: Buffer,
  extension: string,
): Promise<{ readonly file: string; readonly remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-'));
  const file = path.join(dir, `authorization-qr.${extension}`);
  await writeFile(file, bytes, { mode: 0o600 });
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `zh-CN` when the person's locale is Chinese (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), else `en-US`. */
export function personLanguage(env: NodeJS.ProcessEnv): 'zh-CN' | 'en-US' {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh\b|^zh[_-]/i.test(locale) ? 'zh-CN' : 'en-US';
}
