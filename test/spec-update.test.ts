import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { diffSpecs, formatDiff } from '../scripts/spec-diff.js';
import { type Obj, sliceSpec, toYaml } from '../scripts/spec-slice.js';
import { main } from '../scripts/spec-update.js';
import { START_PATH, STATUS_PATH } from '../src/operations.js';
import { collect } from './helpers/collect.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import {
  copyProject,
  GENERATED_FILE,
  type ProjectCopy,
  REPO_ROOT,
  SPEC_FILE,
} from './helpers/project-copy.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/upstream');
const SEED_VERSION = path.join(FIXTURES, '0355310c-zh-auth.json');
const NEWEST = path.join(FIXTURES, '82d97610-zh-auth.json');
// Generous: the type checks run on a shared 2-core machine.
const TYPECHECK_TIMEOUT_MS = 180_000;
const realProjectBefore = await snapshot(REPO_ROOT);

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw ESC, CSI and a bidi override is the point.
const RAW_CONTROLS = /[\u001b\u009b\u202e]/;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Obj;
/** The seed's vendored spec (a copy of the first vendored file), whose status operation must survive. */
const SEED_FILE = path.join(REPO_ROOT, 'test/fixtures/seed.openapi.yaml');
const SEED = YAML.parse(readFileSync(SEED_FILE, 'utf8')) as Obj;

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited by path, in the shape the spec gives them
type Json = Record<string, any>;
const op = (doc: unknown, route: string): Json => (doc as Json).paths[route].get;
const statusJson = (doc: Json): Json => op(doc, STATUS_PATH).responses['200'].content['application/json'];

/** The status operation's answer `data` schema, followed through a `$ref` if it has one. */
function statusData(doc: Json): Json {
  const data = statusJson(doc).schema.properties.data;
  if (typeof data.$ref !== 'string') return data;
  return doc.components.schemas[data.$ref.split('/').at(-1)];
}

/** What an operation promises, without its texts: parameters, answer schema, examples. */
function contract(doc: unknown, route: string): unknown {
  const { summary: _s, description: _d, ...rest } = op(doc, route);
  return rest;
}

/**
 * The document grown to the real upstream's size: 67 more operations (69 in all), each with its own schema
 * and an English description, about 0.8 MB as JSON.
 */
function grown(base: Json): Json {
  const doc = structuredClone(base);
  doc.tags = [{ name: '渠道管理/授权' }, { name: 'Filler' }];
  for (let i = 0; i < 67; i += 1) {
    const properties: Json = {};
    for (let p = 0; p < 40; p += 1) {
      properties[`field${p}`] = {
        type: 'string',
        description: `Field ${p} of item ${i}. ${'Lorem ipsum. '.repeat(20)}`,
      };
    }
    doc.components.schemas[`Filler${i}`] = { type: 'object', properties };
    doc.paths[`/api/v2/filler/item${i}`] = {
      [i % 2 === 0 ? 'get' : 'post']: {
        tags: ['Filler'],
        operationId: `Filler_${i}`,
        responses: {
          '200': {
            description: 'OK',
            content: { 'application/json': { schema: { $ref: `#/components/schemas/Filler${i}` } } },
          },
        },
      },
    };
  }
  return doc;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command, in-process, on the project in `dir`; only the signal and exit-code tests spawn it. */
async function run(dir: string, args: readonly string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io = {
    out: (text: string) => {
      stdout += `${text}\n`;
    },
    err: (text: string) => {
      stderr += `${text}\n`;
    },
  };
  const code = await main([...args, '--root', dir], io);
  return { code, stdout, stderr };
}

/** Every file of the copy's openapi/ and src/, hashed: "the tree is exactly as before". */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const top of ['openapi', 'src']) {
    const entries = await readdir(path.join(dir, top), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      out.set(
        path.relative(dir, file),
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
      );
    }
  }
  return out;
}

describe('sliceSpec', () => {
  it('keeps exactly the two operations, the schemas they name and the security scheme, and no x- extensions', () => {
    const slice = sliceSpec(readJson(SEED_VERSION), 'seed version') as Json;
    expect(Object.keys(slice.paths)).toEqual([START_PATH, STATUS_PATH]);
    expect(Object.keys(slice.paths[START_PATH])).toEqual(['get']);
    expect(Object.keys(slice.components.schemas)).toEqual(['AuthStartVo', 'AuthSessionStatusVo']);
    expect(Object.keys(slice.components.securitySchemes)).toEqual(['apikey-header-X-Api-Key']);
    expect(toYaml(slice)).not.toMatch(/x-mint|x-aitoearn-backend|E:\//);
  });

  it("keeps the seed's status operation: same parameters, answer and examples", () => {
    const slice = sliceSpec(readJson(SEED_VERSION), 'seed version') as Json;
    expect(contract(slice, STATUS_PATH)).toEqual(contract(SEED, STATUS_PATH));
    expect(statusData(slice)).toEqual(statusData(SEED as Json));
  });

  it('drops the orphaned schemas of the newest version and everything else not referenced', () => {
    const doc = readJson(NEWEST) as Json;
    doc.paths['/api/v2/other'] = { get: { responses: { '200': { $ref: '#/components/responses/Other' } } } };
    doc.components.responses = { Other: { description: 'unused' } };
    const slice = sliceSpec(doc, 'newest') as Json;
    expect(Object.keys(slice.paths)).toEqual([START_PATH, STATUS_PATH]);
    expect(slice.components).toEqual({ securitySchemes: doc.components.securitySchemes });
  });

  it('cuts the same slice, byte for byte, out of a 0.8 MB document with 69 operations', () => {
    const small = readJson(SEED_VERSION) as Json;
    const big = grown(small);
    expect(JSON.stringify(big).length).toBeGreaterThan(750_000);
    const slice = sliceSpec(big, 'big') as Json;
    expect(slice.tags).toEqual([{ name: '渠道管理/授权' }]);
    const { tags: _tags, ...rest } = slice;
    expect(toYaml(rest)).toBe(toYaml(sliceSpec(small, 'small')));
  });

  it('refuses a document where the start operation is missing', () => {
    const doc = readJson(SEED_VERSION) as Json;
    delete doc.paths[START_PATH];
    expect(() => sliceSpec(doc, 'doc')).toThrow(`has no GET ${START_PATH}`);
  });
});

describe('diffSpecs', () => {
  const seedVersion = sliceSpec(readJson(SEED_VERSION), 'seed version');
  const newest = sliceSpec(readJson(NEWEST), 'newest');
  const edited = (edit: (doc: Json) => void) => {
    const doc = structuredClone(seedVersion) as Json;
    edit(doc);
    return doc;
  };
  const lines = (after: unknown) => formatDiff(diffSpecs(seedVersion, after)).split('\n');

  it('names every change that matters in the newest upstream version, breaking ones marked', () => {
    const diff = diffSpecs(seedVersion, newest);
    const text = formatDiff(diff);
    const status = text.slice(text.indexOf(`GET ${STATUS_PATH}`));
    const start = text.slice(0, text.indexOf(`GET ${STATUS_PATH}`));
    expect(status).toContain(
      '! answer data.status: enum (pending, completed, failed) dropped, now any string',
    );
    for (const [field, type] of [
      ['errorCode', 'number'],
      ['accountId', 'string'],
      ['accountIds', 'array<string>'],
      ['accounts', 'array<object>'],
      ['selectableAccounts', 'array<object>'],
    ]) {
      expect(status).toContain(`! answer data.${field}: removed (was ${type}, optional)`);
    }
    for (const block of [start, status]) {
      expect(block).toContain(
        '! path parameter platform: enum added, only douyin, xhs, wxSph, KWAI, wxGzh, bilibili (was any string)',
      );
      expect(block).toContain('- example validationFailed10002 removed');
      expect(block).toContain('- example unauthorized401 removed');
    }
    expect(status).toContain('- example channelAuthSessionInvalid15039 removed');
    expect(status).toContain('- example channelAuthPlatformMismatch15040 removed');
    for (const field of ['url', 'sessionId', 'expiresAt']) {
      expect(start).toContain(`! answer data.${field}: no longer required`);
    }
    expect(start).toContain('~ answer data.expiresAt: format date-time dropped');
    // Nested fields of a dropped array are not listed one by one.
    expect(text).not.toContain('accounts[]');
    expect(text).toMatch(/~ \d+ text edits \(summary, description, title, example\), not listed/);
    expect(diff.breaking).toBe(16);
  });

  it('sees nothing when a schema is inlined, renamed, or an orphaned schema changes', () => {
    const after = edited((doc) => {
      const data = statusJson(doc).schema.properties;
      data.data = { $ref: '#/components/schemas/SessionStatus' };
      doc.components.schemas.SessionStatus = doc.components.schemas.AuthSessionStatusVo;
      doc.components.schemas.AuthSessionStatusVo = { type: 'object', properties: {} };
      op(doc, START_PATH).responses['200'].content['application/json'].schema.properties.data =
        doc.components.schemas.AuthStartVo;
      // A renamed security scheme that sends the same header is no change either.
      doc.components.securitySchemes = { ApiKey: doc.components.securitySchemes['apikey-header-X-Api-Key'] };
      for (const route of [START_PATH, STATUS_PATH]) op(doc, route).security = [{ ApiKey: [] }];
    });
    expect(formatDiff(diffSpecs(seedVersion, after))).toBe('No changes to the operations this package uses.');
  });

  it('sees only text edits in an English edition of the same document', () => {
    const english = edited((doc) => {
      op(doc, START_PATH).summary = 'Start platform authorization';
      op(doc, STATUS_PATH).summary = 'Get authorization status';
      op(doc, STATUS_PATH).parameters[1].description = 'Session ID';
      doc.components.schemas.AuthSessionStatusVo.properties.status.description = 'Session status';
      statusJson(doc).examples.success.summary = 'Success';
    });
    const diff = diffSpecs(seedVersion, english);
    expect(diff.changes).toBe(0);
    expect(diff.textEdits).toBe(5);
  });

  it('counts an example whose only change is its translated message as a text edit, not a change', () => {
    const translated = edited((doc) => {
      const examples = statusJson(doc).examples;
      examples.channelAuthSessionInvalid15039.value.message = 'Invalid or expired authorization session';
    });
    const diff = diffSpecs(seedVersion, translated);
    expect(formatDiff(diff)).toContain('~ 1 text edit (summary, description, title, example), not listed');
    expect(diff.changes).toBe(0);
    // Any other value of the example is data, and a change.
    const recoded = edited((doc) => {
      statusJson(doc).examples.channelAuthSessionInvalid15039.value.code = 15038;
    });
    expect(lines(recoded)).toContain('  ~ example channelAuthSessionInvalid15039 changed');
  });

  it('shows control characters from the document escaped, never raw', () => {
    const text = formatDiff(
      diffSpecs(
        seedVersion,
        edited((doc) => {
          doc.components.schemas.AuthSessionStatusVo.properties['x\u001b[2J\u009b\nfake'] = {
            type: 'string',
          };
        }),
      ),
    );
    expect(text).toContain('+ answer data.x\\x1b[2J\\x9b\\x0afake: added (string, optional)');
    expect(text).not.toMatch(RAW_CONTROLS);
    expect(text.split('\n').filter((line) => line.includes('fake'))).toHaveLength(1);
  });

  it('counts description-only edits on one line and reports no change that matters', () => {
    const diff = diffSpecs(
      seedVersion,
      edited((doc) => {
        op(doc, STATUS_PATH).description = 'changed';
        doc.components.schemas.AuthSessionStatusVo.properties.status.description = 'changed';
      }),
    );
    expect(diff.changes).toBe(0);
    expect(formatDiff(diff)).toContain('~ 2 text edits (summary, description, title, example), not listed');
  });

  it.each([
    [
      'a renamed field the package reads',
      (doc: Json) => {
        const props = doc.components.schemas.AuthSessionStatusVo.properties;
        props.failureCode = props.errorCode;
        delete props.errorCode;
      },
      [
        '! answer data.errorCode: removed (was number, optional)',
        // Added optional answer fields are not breaking: the package's types only gain a field.
        '+ answer data.failureCode: added (number, optional)',
      ],
    ],
    [
      'a new status value',
      (doc: Json) => doc.components.schemas.AuthSessionStatusVo.properties.status.enum.push('cancelled'),
      ['! answer data.status: enum value cancelled added (a new status the waiter does not handle)'],
    ],
    [
      'a retyped field',
      (doc: Json) => {
        doc.components.schemas.AuthSessionStatusVo.properties.errorCode.type = 'string';
      },
      ['! answer data.errorCode: type number → string'],
    ],
    [
      'a new platform in accounts',
      (doc: Json) =>
        doc.components.schemas.AuthSessionStatusVo.properties.accounts.items.properties.platform.enum.push(
          'weibo',
        ),
      ['+ answer data.accounts[].platform: enum value weibo added'],
    ],
    [
      'a new optional parameter',
      (doc: Json) =>
        op(doc, START_PATH).parameters.push({ name: 'lang', in: 'query', schema: { type: 'string' } }),
      ['+ query parameter lang: added (string, optional)'],
    ],
    [
      'other servers',
      (doc: Json) => {
        doc.servers = [{ url: 'https://api.example' }];
      },
      ['~ servers: https://aitoearn.cn, https://aitoearn.ai → https://api.example'],
    ],
    [
      'a security scheme that no longer sends the key in the X-Api-Key header',
      (doc: Json) => {
        doc.components.securitySchemes['apikey-header-X-Api-Key'] = {
          type: 'apiKey',
          in: 'query',
          name: 'key',
        };
      },
      ['! security: apiKey header X-Api-Key → apiKey query key'],
    ],
    [
      'operations without security',
      (doc: Json) => {
        for (const route of [START_PATH, STATUS_PATH]) op(doc, route).security = [];
      },
      ['! security: apiKey header X-Api-Key → none'],
    ],
    [
      'other operation tags',
      (doc: Json) => {
        op(doc, STATUS_PATH).tags = ['Auth'];
      },
      ['~ tags: 渠道管理/授权 → Auth'],
    ],
    [
      'another OpenAPI version',
      (doc: Json) => {
        doc.openapi = '3.1.0';
      },
      ['~ openapi 3.0.1 → 3.1.0'],
    ],
  ])('names %s', (_, edit, expected) => {
    const found = lines(edited(edit));
    for (const line of expected) expect(found).toContain(`  ${line}`);
    const breaking = expected.some((line) => line.startsWith('!'));
    expect(found.at(-1)).toMatch(breaking ? /, [1-9]\d* breaking/ : /, 0 breaking/);
  });
});

// One copy, walked through in order: each step starts from the state the previous one left.
describe('spec:update on the upstream fixtures', () => {
  let project: ProjectCopy;
  let adopted: Map<string, string>;
  let adoptedSpec: string;

  beforeAll(async () => {
    project = await copyProject();
    // Start from the seed's vendored file (status operation only), as before the start operation came.
    await writeFile(path.join(project.dir, SPEC_FILE), readFileSync(SEED_FILE));
  });
  afterAll(async () => {
    await project?.cleanup();
  });

  it(
    'adopts the seed version cleanly: two operations, the status operation as in the seed',
    async () => {
      const result = await run(project.dir, [SEED_VERSION]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('+ operation added (AuthController_startAuth_v2)');
      expect(result.stdout).toContain('1 change, 0 breaking (marked !), 1 text edit.');
      expect(result.stdout).toContain('Type check passed.');
      adoptedSpec = await readFile(path.join(project.dir, SPEC_FILE), 'utf8');
      const written = YAML.parse(adoptedSpec) as Json;
      const operations = Object.entries(written.paths).flatMap(([route, item]) =>
        Object.keys(item as Json).map((method) => `${method} ${route}`),
      );
      expect(operations).toEqual([`get ${START_PATH}`, `get ${STATUS_PATH}`]);
      expect(contract(written, STATUS_PATH)).toEqual(contract(SEED, STATUS_PATH));
      expect(statusData(written)).toEqual(statusData(SEED as Json));
      const generated = await readFile(path.join(project.dir, GENERATED_FILE), 'utf8');
      expect(generated).toContain(`"${START_PATH}": {`);
      adopted = await snapshot(project.dir);
    },
    TYPECHECK_TIMEOUT_MS,
  );

  it('changes no byte when run again on the same input, or on its own output', async () => {
    await writeFile(path.join(project.dir, 'again.yaml'), adoptedSpec);
    for (const input of [SEED_VERSION, path.join(project.dir, 'again.yaml')]) {
      const result = await run(project.dir, [input]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('are up to date; nothing was written.');
      expect(await snapshot(project.dir)).toEqual(adopted);
    }
  });

  it('refuses the newest version, naming what breaks, and leaves the tree exactly as it was', async () => {
    const result = await run(project.dir, [NEWEST]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'answer data.status: enum (pending, completed, failed) dropped, now any string',
    );
    expect(result.stdout).toContain('26 changes, 16 breaking (marked !)');
    expect(result.stderr).toContain('Refused: 16 breaking changes (marked !). Nothing was written;');
    expect(result.stderr).toContain('Pass --adopt to take them anyway');
    expect(await snapshot(project.dir)).toEqual(adopted);
  });

  it.each([
    [NEWEST, 1, 'Changes that matter, 16 of them breaking. Nothing was written (--check).'],
    [SEED_VERSION, 0, 'Nothing that matters changed. Nothing was written (--check).'],
  ])('--check on %s exits %i and writes nothing', async (input, code, message) => {
    const result = await run(project.dir, [input, '--check']);
    expect(result.code).toBe(code);
    expect(result.stdout + result.stderr).toContain(message);
    expect(await snapshot(project.dir)).toEqual(adopted);
  });

  it('--check reads a 0.8 MB document with 69 operations and finds nothing that matters changed', async () => {
    const file = path.join(project.dir, 'grown.json');
    await writeFile(file, JSON.stringify(grown(readJson(SEED_VERSION) as Json), null, 2));
    const result = await run(project.dir, [file, '--check']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      '(read as JSON): OpenAPI 3.0.1, 69 operations; compared the 2 this package calls',
    );
    expect(result.stdout).toContain('No changes to the operations this package uses.');
    expect(await snapshot(project.dir)).toEqual(adopted);
  });

  it(
    'with --adopt writes the newest version, then reports each type error with the upstream change behind it and restores the tree',
    async () => {
      const result = await run(project.dir, [NEWEST, '--adopt']);
      expect(result.stdout).toContain(`Wrote ${SPEC_FILE} and ${GENERATED_FILE}.`);
      // The package reads errorCode and the accounts (AuthFailedError, the command's output): it cannot build.
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/The project no longer type-checks with the new spec \(\d+ errors\)/);
      expect(result.stderr).toMatch(
        new RegExp(
          `error TS2339: Property 'errorCode' does not exist[^\\n]*\\n(?:  .*\\n)*?    ← upstream: GET ${escapeRegExp(STATUS_PATH)}: answer data.errorCode: removed`,
        ),
      );
      // Every error is followed by its cause, or by an honest "no upstream change named".
      const errors = result.stderr.match(/^ {2}\S.*error TS\d+/gm) ?? [];
      const attributions = result.stderr.match(/^ {4}← /gm) ?? [];
      expect(errors.length).toBeGreaterThan(0);
      expect(attributions.length).toBeGreaterThanOrEqual(errors.length);
      expect(result.stderr).toContain(`Restored ${SPEC_FILE} and ${GENERATED_FILE} as they were`);
      expect(await snapshot(project.dir)).toEqual(adopted);
    },
    TYPECHECK_TIMEOUT_MS,
  );
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The seed version with `edit` applied, as JSON text. */
function seedWith(edit: (doc: Json) => void): string {
  const doc = readJson(SEED_VERSION) as Json;
  edit(doc);
  return JSON.stringify(doc);
}

/** A schema 10 wide and 7 deep through $refs: 10 kB of JSON, ten million fields once expanded. */
function fanOut(doc: Json): void {
  for (let level = 0; level < 7; level += 1) {
    const properties: Json = {};
    for (let i = 0; i < 10; i += 1) properties[`p${i}`] = { $ref: `#/components/schemas/Fan${level + 1}` };
    doc.components.schemas[`Fan${level}`] = { type: 'object', properties };
  }
  doc.components.schemas.Fan7 = { type: 'string' };
  statusData(doc).properties.fan = { $ref: '#/components/schemas/Fan0' };
}

/** 20,000 nested objects in the status answer, written as text (JSON.stringify itself would overflow). */
function deeplyNested(): string {
  const marker = '"__deep__"';
  const text = seedWith((doc) => {
    statusData(doc).properties.deep = '__deep__';
  });
  const levels = 20_000;
  return text.replace(
    marker,
    `${'{"type":"object","properties":{"a":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`,
  );
}

/** The seed version as YAML with one anchored schema reused `uses` times (in a component nothing uses). */
function yamlWithAliases(uses: number): string {
  const doc = readJson(SEED_VERSION) as Json;
  const reused = { type: 'string', description: 'reused' };
  doc.components.schemas.Reused = {
    type: 'object',
    // The first is the anchor, each other one an alias.
    properties: Object.fromEntries(Array.from({ length: uses + 1 }, (_, i) => [`f${i}`, reused])),
  };
  return new YAML.Document(doc, { aliasDuplicateObjects: true }).toString();
}

/** Nine anchors, each a list of nine aliases of the one before: 9^9 strings once expanded. */
const ALIAS_BOMB = [
  'openapi: 3.0.1',
  'paths: {}',
  'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(',')}]`),
].join('\n');

/**
 * Aliases that stay under yaml's expansion limit but not under the walk's: 9^4 copies of 40 values in
 * `info`, which the slice keeps.
 */
function aliasesInTheSlice(): string {
  const doc = new YAML.Document(readJson(SEED_VERSION));
  let previous: YAML.Node = doc.createNode(
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
  );
  doc.setIn(['info', 'x-b0'], previous);
  for (let level = 1; level <= 4; level += 1) {
    const list = doc.createNode([]) as YAML.YAMLSeq;
    for (let i = 0; i < 9; i += 1) list.items.push(doc.createAlias(previous));
    doc.setIn(['info', `x-b${level}`], list);
    previous = list;
  }
  return doc.toString();
}

// Each case only reads its input, so they share one copy and run side by side.
describe.concurrent('spec:update refuses bad and hostile input, opens nothing the document names, and leaves the tree as it was', () => {
  let project: ProjectCopy;
  let origin: TestServer;
  let elsewhere: { url: string; requests: string[]; close(): Promise<void> };
  let before: Map<string, string>;
  const seedVersionText = readFileSync(SEED_VERSION, 'utf8');
  const file = (name: string) => path.join(project.dir, name);
  const sent = (server: { requests: ReadonlyArray<{ url: string } | string> }, route: string) =>
    server.requests.filter((r) => (typeof r === 'string' ? r : r.url) === route).length;

  beforeAll(async () => {
    project = await copyProject();
    // 127.0.0.2 is this machine too, but not a loopback name the command accepts: it must never be asked.
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end(seedVersionText);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    elsewhere = {
      url: `http://127.0.0.2:${(server.address() as AddressInfo).port}`,
      requests,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
    origin = await startServer((req, res) => {
      const route = req.url ?? '';
      if (route === '/seed.json' || route === '/secret.json') res.end(seedVersionText);
      else if (route === '/moved') res.writeHead(301, { location: '/seed.json' }).end();
      else if (route === '/away') res.writeHead(302, { location: `${elsewhere.url}/seed.json` }).end();
      else if (route === '/away-with-password')
        res
          .writeHead(307, {
            location: `http://user:hunter2@127.0.0.1:${new URL(origin.url).port}/secret.json`,
          })
          .end();
      else if (route === '/huge.json') {
        // No Content-Length: the cap must hold while streaming.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        for (let i = 0; i < 17; i += 1) res.write(chunk);
        res.end('{}');
      } else if (route === '/declared-huge.json') {
        res.writeHead(200, { 'content-length': String(100 * 1024 * 1024) });
        res.flushHeaders();
      } else if (route === '/hang.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"openapi": ');
      } else if (route.startsWith('/ref/')) res.end('{"type": "string"}');
      else res.writeHead(404).end('not here');
    });
    const noStart = readJson(SEED_VERSION) as Json;
    delete noStart.paths[START_PATH];
    const fixtures: Record<string, string> = {
      'no-start.yaml': YAML.stringify(noStart),
      'ungeneratable.json': seedWith((doc) => {
        op(doc, STATUS_PATH).parameters = 7;
      }),
      'broken.json': seedVersionText.slice(0, 200),
      'broken.yaml': 'openapi: 3.0.1\npaths: {\n  a: [\n',
      'not-a-spec.yaml': 'title: shopping list\nitems:\n  - milk\n',
      'swagger.json': JSON.stringify({ swagger: '2.0', paths: {} }),
      'no-paths.yaml': 'openapi: 3.0.1\ninfo:\n  title: x\n  version: 1.0.0\n',
      'text.txt': 'just some words',
      'trailing-comma.json': seedVersionText.replace(/\n}\s*$/, ',\n}\n'),
      'bom.json': `\uFEFF${seedVersionText}`,
      'aliases-119.yaml': yamlWithAliases(119),
      'alias-bomb.yaml': ALIAS_BOMB,
      'aliases-in-slice.yaml': aliasesInTheSlice(),
      'deep.json': deeplyNested(),
      'fan-out.json': seedWith(fanOut),
      'cycle.json': seedWith((doc) => {
        doc.components.schemas.A = { $ref: '#/components/schemas/B' };
        doc.components.schemas.B = { $ref: '#/components/schemas/A' };
        statusData(doc).properties.loop = { $ref: '#/components/schemas/A' };
      }),
      'tree.json': seedWith((doc) => {
        doc.components.schemas.Tree = {
          type: 'object',
          properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Tree' } } },
        };
        statusData(doc).properties.tree = { $ref: '#/components/schemas/Tree' };
      }),
      'openapi-escape.json': seedWith((doc) => {
        doc.openapi = '3.0.1\u001b[2J';
      }),
      'openapi-4.json': seedWith((doc) => {
        doc.openapi = '4.0.0';
      }),
      'swagger-escape.json': JSON.stringify({ swagger: '2.0\u009b2J\u202e', paths: {} }),
    };
    const refs: Record<string, (doc: Json, target: string) => void> = {
      'servers.json': (doc, target) => {
        doc.servers[0] = { $ref: target };
      },
      'logo.json': (doc, target) => {
        doc.info['x-logo'] = { $ref: target };
      },
      'scheme.json': (doc, target) => {
        doc.components.securitySchemes['apikey-header-X-Api-Key'] = { $ref: target };
      },
      'external-value.json': (doc, target) => {
        statusJson(doc).examples.success = { externalValue: target };
      },
      'mapping.json': (doc, target) => {
        statusData(doc).discriminator = { propertyName: 'status', mapping: { pending: target } };
      },
      'path-item.json': (doc, target) => {
        doc.paths[STATUS_PATH].$ref = target;
      },
      'schema.json': (doc, target) => {
        statusData(doc).properties.status = { $ref: target };
      },
    };
    for (const [name, edit] of Object.entries(refs)) {
      fixtures[`url-${name}`] = seedWith((doc) => edit(doc, `${origin.url}/ref/${name}`));
      fixtures[`file-${name}`] = seedWith((doc) =>
        edit(doc, name === 'logo.json' ? '/dev/zero' : '/etc/passwd'),
      );
    }
    for (const [name, text] of Object.entries(fixtures)) await writeFile(file(name), text);
    before = await snapshot(project.dir);
  });
  afterAll(async () => {
    await origin?.close();
    await elsewhere?.close();
    await project?.cleanup();
  });

  it.for([
    { input: '(none)', code: 2, message: 'Missing the spec to read.' },
    { input: 'missing.yaml', code: 1, message: 'missing.yaml: no such file.' },
    { input: 'broken.json', code: 1, message: 'broken.json is not valid JSON (JSON parser:' },
    { input: 'broken.yaml', code: 1, message: 'broken.yaml is not valid YAML (YAML parser:' },
    { input: 'trailing-comma.json', code: 1, message: 'trailing-comma.json is not valid JSON (JSON parser:' },
    {
      input: 'alias-bomb.yaml',
      code: 1,
      message:
        'is not valid YAML (YAML parser: Excessive alias count indicates a resource exhaustion attack).',
    },
    { input: 'aliases-in-slice.yaml', code: 1, message: 'hold more than 100,000 values. Refusing to update' },
    { input: 'not-a-spec.yaml', code: 1, message: 'expected an "openapi" field such as "3.0.1", got none.' },
    {
      input: 'swagger.json',
      code: 1,
      message: 'swagger.json is a Swagger document ("swagger": the text "2.0")',
    },
    {
      input: 'swagger-escape.json',
      code: 1,
      message:
        'is a Swagger document ("swagger": the text "2.0\\x9b2J\\u202e"); expected OpenAPI 3.0 or 3.1.',
    },
    {
      input: 'openapi-escape.json',
      code: 1,
      message:
        'is not an OpenAPI 3.0 or 3.1 document: expected an "openapi" field such as "3.0.1", got the text "3.0.1\\u001b[2J".',
    },
    { input: 'openapi-4.json', code: 1, message: 'got the text "4.0.0".' },
    {
      input: 'no-paths.yaml',
      code: 1,
      message: 'no-paths.yaml is not an OpenAPI 3 document: it has no "paths"',
    },
    { input: 'text.txt', code: 1, message: 'expected a mapping at the top level, got the text "just some' },
    {
      input: 'no-start.yaml',
      code: 1,
      message: `has no GET ${START_PATH}, which this package calls. Refusing to update; nothing was written.`,
    },
    {
      input: 'ungeneratable.json --adopt',
      code: 1,
      message: 'openapi-typescript could not generate types from the new slice; nothing was written:',
    },
    {
      input: 'deep.json',
      code: 1,
      message:
        'deep.json is nested more than 100 levels deep (at /components/schemas/AuthSessionStatusVo/properties/deep/properties/a/',
    },
    {
      input: 'fan-out.json --check',
      code: 1,
      message: `Refusing to compare GET ${STATUS_PATH}: with its $refs resolved it holds more than 100,000 values (a $ref fan-out).`,
    },
    {
      input: 'cycle.json --check',
      code: 1,
      message: `Refusing GET ${STATUS_PATH}: its $refs form a cycle with no schema in between, #/components/schemas/A → #/components/schemas/B → #/components/schemas/A.`,
    },
    { input: 'URL/openapi.json', code: 1, message: 'the server answered HTTP 404.' },
    { input: 'URL/huge.json', code: 1, message: 'huge.json: it is over 16' },
    { input: 'URL/declared-huge.json', code: 1, message: 'it is 100.0 MB; a spec is at most 16 MB here.' },
    { input: 'URL/hang.json --timeout 1', code: 1, message: 'no complete answer within 1 s.' },
    {
      input: 'http://example.com/openapi.json',
      code: 1,
      message: 'only https URLs are accepted (plain http only from this machine).',
    },
    { input: 'x.json --check --adopt', code: 2, message: '--check writes nothing: it cannot be combined' },
    {
      input: '--timeout 0 x.json',
      code: 2,
      message: 'Expected --timeout to be a number of seconds greater than 0 and at most 3600, got "0".',
    },
  ])('exits $code for $input', async ({ input, code, message }, { expect }) => {
    const [first, ...flags] = input.split(' ');
    const args =
      first === '(none)'
        ? []
        : first?.startsWith('URL/')
          ? [`${origin.url}/${first.slice(4)}`, ...flags]
          : first?.startsWith('-') || first?.includes('://')
            ? [first, ...flags]
            : [file(first ?? ''), ...flags];
    const result = await run(project.dir, args);

    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stdout + result.stderr).not.toMatch(RAW_CONTROLS);
    expect(await snapshot(project.dir)).toEqual(before);
  });

  it.for([
    ['servers.json', '/servers/0'],
    ['logo.json', '/info/x-logo'],
    ['scheme.json', '/components/securitySchemes/apikey-header-X-Api-Key'],
    [
      'external-value.json',
      `/paths/${STATUS_PATH}/get/responses/200/content/application/json/examples/success/externalValue`,
    ],
    ['mapping.json', `/components/schemas/AuthSessionStatusVo/discriminator/mapping/pending`],
    ['path-item.json', `/paths/${STATUS_PATH}`],
    ['schema.json', '/components/schemas/AuthSessionStatusVo/properties/status'],
  ])(
    'refuses a reference in %s (a loopback URL, then a local file) and opens neither',
    async ([name, where], { expect }) => {
      for (const [input, target] of [
        [`url-${name}`, `${origin.url}/ref/${name}`],
        [`file-${name}`, name === 'logo.json' ? '/dev/zero' : '/etc/passwd'],
      ]) {
        const result = await run(project.dir, [file(input ?? ''), '--adopt']);
        expect(sent(origin, `/ref/${name}`)).toBe(0);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(
          `has a reference this package cannot follow at ${where}: ${JSON.stringify(target)} (a reference must name something under #/components/ in the same document`,
        );
      }
      expect(sent(origin, `/ref/${name}`)).toBe(0);
      expect(await snapshot(project.dir)).toEqual(before);
    },
  );

  it.for([
    ['bom.json', 'bom.json (read as JSON): OpenAPI 3.0.1'],
    ['aliases-119.yaml', 'aliases-119.yaml (read as YAML): OpenAPI 3.0.1'],
  ])('reads %s and says which parser read it', async ([name, first], { expect }) => {
    const result = await run(project.dir, [file(name ?? ''), '--check']);
    expect(result.stdout).toContain(first);
    expect(result.stdout).toContain('Nothing that matters changed.');
    expect(result.code).toBe(0);
  });

  it('accepts a schema that contains itself (a tree), which generates a recursive type', async ({
    expect,
  }) => {
    const result = await run(project.dir, [file('tree.json'), '--check']);
    expect(result.stdout).toContain('+ answer data.tree: added (object, optional)');
    expect(result.stderr).toContain('Changes that matter, none breaking.');
  });

  it('follows a redirect on this machine by hand', async ({ expect }) => {
    const result = await run(project.dir, [`${origin.url}/moved`, '--check']);
    expect(result.code, result.stderr).toBe(0);
    expect(sent(origin, '/seed.json')).toBeGreaterThan(0);
  });

  it('checks a redirect to 127.0.0.2 before following it, and never reaches 127.0.0.2', async ({
    expect,
  }) => {
    const result = await run(project.dir, [`${origin.url}/away`, '--check']);
    expect(elsewhere.requests).toEqual([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Refusing to follow the redirect from ${origin.url}/away to ${elsewhere.url}/seed.json: only https URLs are accepted`,
    );
  });

  it.for([
    ['given', (url: string) => `${url.replace('http://', 'http://user:hunter2@')}/secret.json`],
    ['redirected to', (url: string) => `${url}/away-with-password`],
  ] as const)(
    'never echoes a password in a URL it is %s, and sends nothing to it',
    async ([, url], { expect }) => {
      const result = await run(project.dir, [url(origin.url), '--check']);
      expect(result.stdout + result.stderr).not.toContain('hunter2');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `http://***@127.0.0.1:${new URL(origin.url).port}/secret.json: it holds a user name or password`,
      );
      expect(sent(origin, '/secret.json')).toBe(0);
    },
  );
});

const SCRIPT = path.join(REPO_ROOT, 'scripts/spec-update.ts');

/** The real script as a process of its own, in its own process group, as a terminal would start it. */
function start(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  // Without npm's markers the script resolves a relative spec path against `cwd`, as a direct call would.
  const { npm_lifecycle_event: _event, INIT_CWD: _initCwd, ...rest } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args, '--root', dir], {
    cwd: REPO_ROOT,
    env: { ...rest, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return { child, output: collect(child) };
}

/** A process's children with their command lines, from Linux's /proc. */
function childrenOf(pid: number): Array<{ pid: number; command: string }> {
  try {
    const pids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return pids.map((child) => ({
      pid: Number(child),
      command: readFileSync(`/proc/${child}/cmdline`, 'utf8'),
    }));
  } catch {
    return [];
  }
}

/** Running: it exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.concurrent('the spec:update process', () => {
  let project: ProjectCopy;
  beforeAll(async () => {
    project = await copyProject();
  });
  afterAll(async () => {
    await project?.cleanup();
  });

  it.for([
    { args: ['--timeout', '0', NEWEST], code: 2, message: 'greater than 0 and at most 3600, got "0".' },
    { args: [NEWEST, '--check'], code: 1, message: 'Changes that matter, 16 of them breaking.' },
  ])('exits $code for $args', async ({ args, code, message }, { expect }) => {
    const result = await start(project.dir, args).output.closed;
    expect(result.code).toBe(code);
    expect(result.stdout + result.stderr).toContain(message);
  });

  it.for([
    { signal: 'SIGHUP', to: 'its process group', during: 'tsc', flags: [] },
    { signal: 'SIGINT', to: 'its process group', during: 'tsc', flags: ['--keep'] },
    { signal: 'SIGINT', to: 'the script alone', during: 'tsc', flags: [] },
    { signal: 'SIGINT', to: 'its process group', during: 'openapi-typescript', flags: [] },
  ] as const)(
    '$signal to $to during $during (--adopt $flags) stops the child at once, restores the tree and removes the temporary folder',
    { timeout: 60_000 },
    async ({ signal, to, during, flags }, { expect }) => {
      const copy = await copyProject();
      const temp = await mkdtemp(path.join(tmpdir(), 'aitoearn-spec-signal-'));
      const ours = async () =>
        (await readdir(temp)).filter((name) => name.startsWith('aitoearn-spec-update-'));
      const { child, output } = start(copy.dir, [NEWEST, '--adopt', ...flags], { TMPDIR: temp });
      try {
        const before = await snapshot(copy.dir);
        const pid = child.pid as number;
        const tool = await poll(() =>
          childrenOf(pid).find((c) =>
            c.command.includes(during === 'tsc' ? 'typescript/bin/tsc' : 'openapi-typescript'),
          ),
        );
        if (during === 'openapi-typescript') expect(await ours()).toHaveLength(1);
        else expect(await snapshot(copy.dir)).not.toEqual(before);
        process.kill(to === 'the script alone' ? pid : -pid, signal);
        const result = await output.closed;

        expect(result.code).toBe(128 + constants.signals[signal]);
        expect(result.stderr).toContain(
          `Interrupted by ${signal}: ${SPEC_FILE} and ${GENERATED_FILE} are as they were.`,
        );
        expect(result.stdout + result.stderr).not.toMatch(
          /Type check passed|no longer type-checks|Kept the new/,
        );
        expect(running(tool.pid)).toBe(false);
        expect(await ours()).toEqual([]);
        expect(await snapshot(copy.dir)).toEqual(before);
      } finally {
        if (child.exitCode === null && child.signalCode === null)
          process.kill(-(child.pid as number), 'SIGKILL');
        await copy.cleanup();
        await rm(temp, { recursive: true, force: true });
      }
    },
  );
});

/** Calls `find` every 20 ms until it finds something; the test's timeout bounds the wait. */
async function poll<T>(find: () => T | undefined): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('leaves the real project alone: every run above works on a copy', async () => {
  expect(await snapshot(REPO_ROOT)).toEqual(realProjectBefore);
});
