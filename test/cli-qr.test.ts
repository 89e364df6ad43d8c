// Issue 16, item 14: the QR code must scan on light and dark terminals. Chromium draws its lines as a terminal
// would; jsQR, told not to invert, decodes the screenshot as a camera reading only dark-on-light codes would.
import { createRequire } from 'node:module';
import { type Browser, chromium } from 'playwright-core';
import { renderUnicodeCompact } from 'uqr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { qrCode } from '../src/cli/connect.js';
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from './helpers/chromium.js';

const JSQR = createRequire(import.meta.url).resolve('jsqr/dist/jsQR.js');
const URL_ = 'https://aitoearn.ai/api/plugin/consent?session=abcdefghijklmnop&state=Zm9vYmFy';
/** Two common themes: their default colours and how they draw ANSI black (30) and bright white (107). */
const THEMES = {
  light: { fg: '#000000', bg: '#ffffff', 30: '#000000', 107: '#ffffff' },
  dark: { fg: '#d3d7cf', bg: '#1e1e1e', 30: '#2e3436', 107: '#eeeeec' },
} as const;
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox'] });
}, CHROMIUM_INSTALL_TIMEOUT_MS);
afterAll(() => browser?.close());

/**
 * What a camera that reads only dark-on-light codes sees in a screenshot of `lines` drawn as a terminal with
 * `theme` draws them: the code's own colours (30 on 107), else the theme's.
 */
async function scan(lines: readonly string[], theme: (typeof THEMES)[keyof typeof THEMES]) {
  const code = lines.join('\n').replaceAll('\x1b[0m', '</span>');
  const body = code.replaceAll('\x1b[30;107m', `<span style="color:${theme[30]};background:${theme[107]}">`);
  const pre = `<pre id="t" style="margin:0;font:16px/normal 'DejaVu Sans Mono',monospace;display:inline-block">`;
  const html = `<body style="margin:0;padding:24px;background:${theme.bg};color:${theme.fg}">${pre}${body}</pre></body>`;
  const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
  try {
    await page.setContent(html);
    const shot = await page.screenshot({ fullPage: true });
    // Decoded inside the page: the screenshot is read back through a canvas, and jsQR runs there.
    await page.addScriptTag({ path: JSQR });
    return await page.evaluate<string | undefined>(`(async () => {
      const image = new Image();
      image.src = 'data:image/png;base64,${shot.toString('base64')}';
      await image.decode();
      const context = new OffscreenCanvas(image.width, image.height).getContext('2d');
      context.drawImage(image, 0, 0);
      const { data } = context.getImageData(0, 0, image.width, image.height);
      return jsQR(data, image.width, image.height, { inversionAttempts: 'dontInvert' })?.data;
    })()`);
  } finally {
    await page.close();
  }
}

it("scans on a light and on a dark terminal, where a code in the theme's colours does not", async () => {
  const lines = (await qrCode(URL_, 120)) as string[];
  expect(lines.length).toBeGreaterThan(10);
  expect(await scan(lines, THEMES.light)).toBe(URL_);
  expect(await scan(lines, THEMES.dark)).toBe(URL_);
  // The control: what the command drew before (theme colours, a 1-module border) is inverted on a light theme.
  expect(await scan(renderUnicodeCompact(URL_, { border: 1 }).split('\n'), THEMES.light)).toBeUndefined();
}, 30_000);
