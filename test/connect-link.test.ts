import { readFile, stat } from 'node:fs/promises';
import { describe, expect, it, test } from 'vitest';
import { classifyConsentLink, personLanguage, writeConsentImage } from '../src/cli/consent-link.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

describe('the URL the start operation sent', () => {
  test.each([
    ['https://open.douyin.com/platform/oauth/connect?client_key=k&state=s', 'web'],
    ['http://127.0.0.1:4010/sandbox/consent/abc', 'web'],
    [`data:image/png;base64,${PNG.toString('base64')}`, 'image'],
    [`data:image/jpeg;base64,${PNG.toString('base64')}`, 'image'],
    // Never handed to the desktop's opener: they could run or read things on this machine.
    ['file:///etc/passwd', 'other'],
    ['javascript:alert(1)', 'other'],
    ['vscode://command/workbench.action.terminal.new', 'other'],
    ['ms-settings:', 'other'],
    [`data:image/svg+xml;base64,${Buffer.from('<svg onload="x()"/>').toString('base64')}`, 'other'],
    ['data:text/html;base64,PGgxPmhpPC9oMT4=', 'other'],
    ['data:image/png,not-base64', 'other'],
    ['data:image/png;base64,', 'other'],
    ['https://user:pass@evil.example/', 'other'],
    ['not a url', 'other'],
  ])('%s is %s', (url, kind) => {
    expect(classifyConsentLink(url).kind).toBe(kind);
  });

  it('decodes a data:image URL to its bytes and names the file by type', () => {
    const link = classifyConsentLink(`data:image/jpeg;base64,${PNG.toString('base64')}`);
    expect(link).toEqual({ kind: 'image', bytes: PNG, extension: 'jpg' });
  });

  it('writes the image to a private file, and remove() deletes it', async () => {
    const image = await writeConsentImage(PNG, 'png');
    expect(image.file).toMatch(/aitoearn-auth-[^/]+\/authorization-qr\.png$/);
    expect(await readFile(image.file)).toEqual(PNG);
    expect((await stat(image.file)).mode & 0o777).toBe(0o600);
    await image.remove();
    await expect(stat(image.file)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe("the person's language", () => {
  test.each([
    [{ LANG: 'zh_CN.UTF-8' }, 'zh-CN'],
    [{ LANG: 'zh_TW.UTF-8' }, 'zh-CN'],
    [{ LANG: 'zh' }, 'zh-CN'],
    [{ LANG: 'en_US.UTF-8' }, 'en-US'],
    [{ LANG: 'de_DE.UTF-8' }, 'en-US'],
    [{}, 'en-US'],
    [{ LANG: 'C.UTF-8' }, 'en-US'],
    [{ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_GB.UTF-8' }, 'en-US'],
    [{ LANG: 'en_US.UTF-8', LC_ALL: 'zh_CN.UTF-8' }, 'zh-CN'],
    [{ LANG: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN.UTF-8' }, 'zh-CN'],
    [{ LANG: 'zu_ZA.UTF-8' }, 'en-US'],
  ])('%o gives %s', (env, language) => {
    expect(personLanguage(env)).toBe(language);
  });
});
