import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectStart } from '../index.js';
import { printable } from '../text.js';
import type { Paint } from './render.js';

/** What the start operation's `url` is to the command: a page, a QR code image, or something not opened. */
export type ConsentLink =
  | { readonly kind: 'web'; readonly url: string }
  | { readonly kind: 'image'; readonly bytes: Buffer; readonly extension: string }
  | { readonly kind: 'other' };

// Raster images only: an SVG opened from disk can run script.
const IMAGE_TYPES: Readonly<Record<string, string>> = { png: 'png', jpeg: 'jpg', gif: 'gif', webp: 'webp' };
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/**
 * Only http(s) pages without credentials and base64 raster `data:image/…` URLs are ever opened: handing
 * `file:`, `javascript:` or an app's scheme to the desktop's opener would let the server run things here.
 * A page is its `href`: what is printed, encoded in the QR code and opened are the same text.
 */
export function classifyConsentLink(url: string): ConsentLink {
  const image = /^data:image\/([a-z+.-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(url);
  if (image) {
    const extension = IMAGE_TYPES[(image[1] ?? '').toLowerCase()];
    const bytes = Buffer.from(image[2] ?? '', 'base64');
    return extension && bytes.length > 0 && bytes.length <= MAX_IMAGE_BYTES
      ? { kind: 'image', bytes, extension }
      : { kind: 'other' };
  }
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  return parsed && /^https?:$/.test(parsed.protocol) && parsed.username === '' && parsed.password === ''
    ? { kind: 'web', url: parsed.href }
    : { kind: 'other' };
}

/** Writes a QR code image to a fresh private directory; `remove` deletes it again. */
export async function writeConsentImage(bytes: Buffer, extension: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-'));
  const file = path.join(dir, `authorization-qr.${extension}`);
  await writeFile(file, bytes, { mode: 0o600 });
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `zh-CN` when the person's locale is Chinese (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), else `en-US`. */
export function personLanguage(env: NodeJS.ProcessEnv): 'zh-CN' | 'en-US' {
  return /^zh(\b|[_-])/i.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'zh-CN' : 'en-US';
}

/** The standard quiet zone: narrower ones fail on many phone cameras. */
const QUIET_ZONE = 4;
// Black on bright white whatever the terminal's theme: a QR code in the theme's colours is inverted on one
// of light or dark, and many scanners read only dark-on-light.
const DARK_ON_LIGHT = '\x1b[30;107m';

/** The QR code of `url` as terminal lines (two modules a line), or why there is none. */
export async function qrCode(url: string, columns: number): Promise<string[] | string> {
  const { encode } = await import('uqr');
  let rows: boolean[][];
  try {
    rows = encode(url, { border: QUIET_ZONE }).data;
  } catch {
    return 'the URL is too long for a QR code';
  }
  if (rows.length > columns) return `the terminal is narrower than the QR code (${rows.length} columns)`;
  const lines: string[] = [];
  for (let y = 0; y < rows.length; y += 2) {
    const line = (rows[y] ?? []).map((top, x) => {
      const bottom = rows[y + 1]?.[x] ?? false;
      return top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    });
    lines.push(`${DARK_ON_LIGHT}${line.join('')}\x1b[0m`);
  }
  return lines;
}

export interface PresentOptions {
  readonly platform: string;
  /** `--json`: stdout is the script's and carries the URL; stderr gets only notes for the person. */
  readonly json: boolean;
  /** Open the page (or the image) with the desktop's opener. */
  readonly open: boolean;
  /** The terminal's width for a QR code; undefined when stderr is not a terminal (no QR code). */
  readonly qrColumns: number | undefined;
  readonly language: 'zh-CN' | 'en-US';
  readonly err: (line: string) => void;
  readonly paint: Paint;
  /** Collects what must be undone when the command ends, signals included (the temporary image). */
  readonly cleanups: (() => Promise<void>)[];
}

/**
 * Shows the person where to go: the URL (exactly the href that is opened), a QR code of it when one fits,
 * the instructions and the session id — or the file a `data:image` URL was written to; then opens it when
 * allowed, and says so when no browser could be opened.
 */
export async function presentStart(start: ConnectStart, o: PresentOptions): Promise<void> {
  const { err } = o;
  const platform = printable(o.platform);
  const link = classifyConsentLink(start.url);
  let target: string | undefined;
  if (link.kind === 'image') {
    const image = await writeConsentImage(link.bytes, link.extension);
    o.cleanups.push(image.remove);
    target = image.file;
    err(`Scan the QR code in ${image.file} with the ${platform} app to authorize.`);
  } else if (link.kind === 'web') {
    target = link.url;
    if (!o.json) {
      err(`Open this page to authorize ${platform}:`);
      err(`  ${o.paint(printable(link.url), 'bold')}`);
      const qr = o.qrColumns === undefined ? [] : await qrCode(link.url, o.qrColumns);
      if (typeof qr === 'string') err(`aitoearn-auth: no QR code: ${qr}.`);
      else for (const line of qr) err(line);
    }
  } else {
    err(
      'aitoearn-auth: not opening that URL: only http(s) pages and PNG, JPEG, GIF or WebP images are opened.',
    );
  }
  const instructions = start.authInstructions?.[o.language];
  if (!o.json && typeof instructions === 'string') {
    for (const line of instructions.slice(0, 2000).split(/\r?\n/))
      if (line.trim()) err(`  ${printable(line)}`);
  }
  if (!o.json) {
    const id = printable(start.sessionId);
    err(`Session ${id} (to wait on it later: aitoearn-auth wait ${platform} ${id})`);
  }
  if (o.open && target !== undefined) {
    const where =
      link.kind === 'image' ? 'the file above' : o.json ? 'the "url" of the started line' : 'the URL above';
    // The opener fails late, when the live line may already be drawn: on a terminal, clear it first (the
    // line is redrawn on its next tick).
    const clear = o.qrColumns === undefined ? '' : '\r\x1b[2K';
    const failed = () => err(`${clear}aitoearn-auth: no browser could be opened; ${where} is the way in.`);
    const { default: open } = await import('open');
    // The opener (xdg-open, open, start) exits non-zero when there is no browser to hand the URL to.
    await open(target).then(
      (child) => child.once('exit', (code) => code !== 0 && code !== null && failed()).once('error', failed),
      failed,
    );
  }
}
