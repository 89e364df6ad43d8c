import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectStart } from '../index.js';
import { printable } from '../text.js';
import type { Paint } from './render.js';

/** `zh-CN` when the person's locale is Chinese (`LC_ALL`, then `LC_MESSAGES`, then `LANG`), else `en-US`. */
export function personLanguage(env: NodeJS.ProcessEnv): 'zh-CN' | 'en-US' {
  return /^zh(\b|[_-])/i.test(env.LC_ALL || env.LC_MESSAGES || env.LANG || '') ? 'zh-CN' : 'en-US';
}

/** The QR code of `url` as terminal lines (two modules a line), or why there is none. */
export async function qrCode(url: string, columns: number): Promise<string[] | string> {
  const { encode } = await import('uqr');
  let rows: boolean[][];
  try {
    // The standard quiet zone of 4: narrower ones fail on many phone cameras.
    rows = encode(url, { border: 4 }).data;
  } catch {
    return 'the URL is too long for a QR code';
  }
  if (rows.length > columns) return `the terminal is narrower than the QR code (${rows.length} columns)`;
  // Black on bright white whatever the theme: many scanners read only dark-on-light codes.
  const cell = (y: number) => (top: boolean, x: number) =>
    ' ▄▀█'[Number(top) * 2 + Number(!!rows[y + 1]?.[x])];
  return rows.flatMap((row, y) => (y % 2 ? [] : [`\x1b[30;107m${row.map(cell(y)).join('')}\x1b[0m`]));
}

type Shown = { platform: string; json: boolean; open: boolean; qrColumns: number | undefined; paint: Paint };
type Io = { language: 'zh-CN' | 'en-US'; err: (line: string) => void; cleanups: (() => Promise<void>)[] };

/**
 * Shows the person where to go: the URL and its QR code (`qrColumns`: stderr is a terminal), or the file a
 * `data:image` URL was written to (removed by `cleanups`); then the instructions; then opens it when allowed.
 */
export async function presentStart(start: ConnectStart, o: Shown & Io): Promise<void> {
  const { err } = o;
  const platform = printable(o.platform);
  const image = /^data:image\/(\w+);base64,(.*)$/s.exec(start.url);
  let target = start.url;
  if (image) {
    const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-'));
    o.cleanups.push(() => rm(dir, { recursive: true, force: true }));
    target = path.join(dir, `authorization-qr.${image[1] === 'jpeg' ? 'jpg' : image[1]}`);
    await writeFile(target, Buffer.from(image[2] ?? '', 'base64'), { mode: 0o600 });
    err(`Scan the QR code in ${target} with the ${platform} app to authorize.`);
  } else if (!o.json) {
    err(`Open this page to authorize ${platform}:`);
    err(`  ${o.paint(printable(start.url), 'bold')}`);
    const qr = o.qrColumns === undefined ? [] : await qrCode(start.url, o.qrColumns);
    if (typeof qr === 'string') err(`aitoearn-auth: no QR code: ${qr}.`);
    else for (const line of qr) err(line);
  }
  if (!o.json) {
    for (const line of (start.authInstructions?.[o.language] ?? '').slice(0, 2000).split(/\r?\n/))
      if (line.trim()) err(`  ${printable(line)}`);
    const id = printable(start.sessionId);
    err(`Session ${id} (to wait on it later: aitoearn-auth wait ${platform} ${id})`);
  }
  if (!o.open) return;
  const where = image ? 'the file above' : o.json ? 'the "url" of the started line' : 'the URL above';
  // The opener fails late, maybe under the live line: on a terminal, clear it first (its next tick redraws it).
  const clear = o.qrColumns === undefined ? '' : '\r\x1b[2K';
  const failed = () => err(`${clear}aitoearn-auth: no browser could be opened; ${where} is the way in.`);
  const { default: open } = await import('open');
  // xdg-open, open and start exit non-zero when there is no browser to hand the URL to.
  await open(target).then(
    (child) => child.once('exit', (code) => code !== 0 && code !== null && failed()).once('error', failed),
    failed,
  );
}
