import type { ConnectStart } from '../connect/connect-account.js';
import { classifyConsentLink, writeConsentImage } from './consent-link.js';
import type { Paint } from './render.js';
import { sanitize } from './sanitize.js';

/** Longest text of the platform's instructions shown; the rest is cut. */
const MAX_INSTRUCTIONS_CHARS = 2000;

export interface PresentOptions {
  readonly platform: string;
  /** `--json`: stdout is the machine's; the person still gets the image path (and the browser). */
  readonly json: boolean;
  /** Open the page (or the image) with the desktop's opener. */
  readonly open: boolean;
  /** Draw a QR code of the URL (stderr is a terminal). */
  readonly qr: boolean;
  readonly language: 'zh-CN' | 'en-US';
  /** Writes one line to stderr. */
  readonly err: (line: string) => void;
  readonly paint: Paint;
  /** Collects what must be undone when the command ends (the temporary image). */
  readonly cleanups: (() => Promise<void>)[];
}

/**
 * Shows the person where to go for `aitoearn-auth connect`: the URL, a QR code of it, the platform's
 * instructions and the session id, or the path of the QR image a `data:image` URL was written to; then
 * opens it when allowed. Everything the server sent is sanitised; only http(s) pages and raster images
 * are ever handed to the desktop's opener.
 */
export async function presentStart(start: ConnectStart, o: PresentOptions): Promise<void> {
  const { err, paint } = o;
  const platform = sanitize(o.platform);
  const link = classifyConsentLink(start.url);
  let target: string | undefined;
  if (link.kind === 'image') {
    const image = await writeConsentImage(link.bytes, link.extension);
    o.cleanups.push(image.remove);
    target = image.file;
    err(`Scan the QR code in ${image.file} with the ${platform} app to authorize.`);
  } else if (!o.json) {
    err(`Open this page to authorize ${platform}:`);
    err(`  ${paint(sanitize(start.url), 'bold')}`);
    if (link.kind === 'web') {
      target = link.url;
      if (o.qr) err(await qrCode(link.url));
    }
  }
  if (link.kind === 'other') {
    err(
      'aitoearn-auth: not opening that URL: only http(s) pages and PNG, JPEG, GIF or WebP images are opened.',
    );
  }
  const instructions = start.authInstructions?.[o.language];
  if (!o.json && typeof instructions === 'string' && instructions.trim() !== '') {
    for (const line of instructions.slice(0, MAX_INSTRUCTIONS_CHARS).split(/\r?\n/)) {
      err(`  ${sanitize(line)}`);
    }
  }
  if (!o.json) {
    const id = sanitize(start.sessionId);
    err(`Session ${id} (to wait on it later: aitoearn-auth wait ${platform} ${id})`);
  }
  if (o.open && target !== undefined) {
    const { default: open } = await import('open');
    await open(target).catch(() => {
      err('aitoearn-auth: could not open a browser; open the address above yourself.');
    });
  }
}

async function qrCode(url: string): Promise<string> {
  const { renderUnicodeCompact } = await import('uqr');
  return renderUnicodeCompact(url, { border: 1 });
}
