import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { diffSpecs, formatDiff } from '../scripts/spec-diff.js';
import { type Obj, sliceSpec, toYaml } from '../scripts/spec-slice.js';
import { START_PATH, STATUS_PATH } from '../src/operations.js';
import {
  copyProject,
  GENERATED_FILE,
  type ProjectCopy,
  REPO_ROOT,
  runSpecUpdate,
  SPEC_FILE,
} from './helpers/project-copy.js';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/upstream');
const SEED_VERSION = path.join(FIXTURES, '0355310c-zh-auth.json');
const NEWEST = path.join(FIXTURES, '82d97610-zh-auth.json');
// Generous: the type checks run on a shared 2-core machine.
const SPAWN_TIMEOUT_MS = 180_000;
const realProjectBefore = await snapshot(REPO_ROOT);

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Obj;
/** The seed's vendored spec (a copy of the first vendored file), whose status operation must survive. */
const SEED_FILE = path.join(REPO_ROOT, 'test/fixtures/seed.openapi.yaml');
const SEED = YAML.parse(readFileSync(SEED_FILE, 'utf8')) as Obj;

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited by path, in the shape the spec gives them
type Json = Record<string, any>;
const op = (doc: unknown, route: string): Json => (doc as Json).paths[route].get;

/** The status operation's answer `data` schema, followed through a `$ref` if it has one. */
function statusData(doc: Json): Json {
  const data = op(doc, STATUS_PATH).responses['200'].content['application/json'].schema.properties.data;
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

  it.each([
    ['the start operation is missing', (d: Json) => delete d.paths[START_PATH], `has no GET ${START_PATH}`],
    [
      'a $ref points outside the document',
      (d: Json) => {
        op(d, STATUS_PATH).responses['200'].content['application/json'].schema.properties.data = {
          $ref: 'other.yaml#/Foo',
        };
      },
      'a $ref this package cannot follow: "other.yaml#/Foo"',
    ],
  ])('refuses a document where %s', (_, edit, message) => {
    const doc = readJson(SEED_VERSION) as Json;
    edit(doc);
    expect(() => sliceSpec(doc, 'doc')).toThrow(message);
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
      const data = op(doc, STATUS_PATH).responses['200'].content['application/json'].schema.properties;
      data.data = { $ref: '#/components/schemas/SessionStatus' };
      doc.components.schemas.SessionStatus = doc.components.schemas.AuthSessionStatusVo;
      doc.components.schemas.AuthSessionStatusVo = { type: 'object', properties: {} };
      op(doc, START_PATH).responses['200'].content['application/json'].schema.properties.data =
        doc.components.schemas.AuthStartVo;
    });
    expect(formatDiff(diffSpecs(seedVersion, after))).toBe('No changes to the operations this package uses.');
  });

  it('sees only text edits in an English edition of the same document', () => {
    const english = edited((doc) => {
      op(doc, START_PATH).summary = 'Start platform authorization';
      op(doc, STATUS_PATH).summary = 'Get authorization status';
      op(doc, STATUS_PATH).parameters[1].description = 'Session ID';
      doc.components.schemas.AuthSessionStatusVo.properties.status.description = 'Session status';
      op(doc, STATUS_PATH).responses['200'].content['application/json'].examples.success.summary = 'Success';
    });
    const diff = diffSpecs(seedVersion, english);
    expect(diff.changes).toBe(0);
    expect(diff.textEdits).toBe(5);
  });

  it('shows control characters from the document escaped, never raw', () => {
    const text = formatDiff(
      diffSpecs(
        seedVersion,
        edited((doc) => {
          doc.components.schemas.AuthSessionStatusVo.properties['x\u001b[2J\nfake'] = { type: 'string' };
        }),
      ),
    );
    expect(text).toContain('+ answer data.x\\u{1b}[2J\\u{a}fake: added (string, optional)');
    expect(text).not.toContain('\u001b');
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
  ])('names %s', (_, edit, expected) => {
    const found = lines(edited(edit));
    for (const line of expected) expect(found).toContain(`  ${line}`);
    const breaking = expected.some((line) => line.startsWith('!'));
    expect(found.at(-1)).toMatch(breaking ? /, [1-9]\d* breaking/ : /, 0 breaking/);
  });
});

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

// One copy, walked through in order: each step starts from the state the previous one left.
describe('npm run spec:update on the upstream fixtures', () => {
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
      const result = await runSpecUpdate(project.dir, SEED_VERSION);
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
    SPAWN_TIMEOUT_MS,
  );

  it(
    'changes no byte when run again on the same input, or on its own output',
    async () => {
      await writeFile(path.join(project.dir, 'again.yaml'), adoptedSpec);
      for (const input of [SEED_VERSION, path.join(project.dir, 'again.yaml')]) {
        const result = await runSpecUpdate(project.dir, input);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain('are up to date; nothing was written.');
        expect(await snapshot(project.dir)).toEqual(adopted);
      }
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'refuses the newest version, naming what breaks, and leaves the tree exactly as it was',
    async () => {
      const result = await runSpecUpdate(project.dir, NEWEST);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        'answer data.status: enum (pending, completed, failed) dropped, now any string',
      );
      expect(result.stdout).toContain('26 changes, 16 breaking (marked !)');
      expect(result.stderr).toContain('Refused: 16 breaking changes (marked !). Nothing was written;');
      expect(result.stderr).toContain('Pass --adopt to take them anyway');
      expect(await snapshot(project.dir)).toEqual(adopted);
    },
    SPAWN_TIMEOUT_MS,
  );

  it.each([
    [NEWEST, 1, 'Changes that matter, 16 of them breaking. Nothing was written (--check).'],
    [SEED_VERSION, 0, 'Nothing that matters changed. Nothing was written (--check).'],
  ])(
    '--check on %s exits %i and writes nothing',
    async (input, code, message) => {
      const result = await runSpecUpdate(project.dir, input, ['--check']);
      expect(result.code).toBe(code);
      expect(result.stdout + result.stderr).toContain(message);
      expect(await snapshot(project.dir)).toEqual(adopted);
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    '--check reads a 0.8 MB document with 69 operations and finds nothing that matters changed',
    async () => {
      const file = path.join(project.dir, 'grown.json');
      await writeFile(file, JSON.stringify(grown(readJson(SEED_VERSION) as Json), null, 2));
      const result = await runSpecUpdate(project.dir, file, ['--check']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('OpenAPI 3.0.1, 69 operations; compared the 2 this package calls');
      expect(result.stdout).toContain('No changes to the operations this package uses.');
      expect(await snapshot(project.dir)).toEqual(adopted);
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'with --adopt writes the newest version, then reports each type error with the upstream change behind it and restores the tree',
    async () => {
      const result = await runSpecUpdate(project.dir, NEWEST, ['--adopt']);
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
    SPAWN_TIMEOUT_MS,
  );
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Each case only reads its input, so they share one copy and run side by side.
describe.concurrent('npm run spec:update refuses bad input and leaves the tree as it was', () => {
  let project: ProjectCopy;
  let server: Server;
  let url: string;
  let before: Map<string, string>;
  const seedVersionText = readFileSync(SEED_VERSION, 'utf8');

  beforeAll(async () => {
    project = await copyProject();
    const noStart = readJson(SEED_VERSION) as Json;
    delete noStart.paths[START_PATH];
    const ungeneratable = readJson(SEED_VERSION) as Json;
    op(ungeneratable, STATUS_PATH).parameters = 7;
    const fixtures: Record<string, string> = {
      'no-start.yaml': YAML.stringify(noStart),
      'ungeneratable.json': JSON.stringify(ungeneratable),
      'broken.json': seedVersionText.slice(0, 200),
      'broken.yaml': 'openapi: 3.0.1\npaths: {\n  a: [\n',
      'not-a-spec.yaml': 'title: shopping list\nitems:\n  - milk\n',
      'swagger.json': JSON.stringify({ swagger: '2.0', paths: {} }),
      'no-paths.yaml': 'openapi: 3.0.1\ninfo:\n  title: x\n  version: 1.0.0\n',
      'text.txt': 'just some words',
    };
    for (const [name, text] of Object.entries(fixtures)) await writeFile(path.join(project.dir, name), text);
    server = createServer((req, res) => {
      if (req.url === '/huge.json') {
        // No Content-Length: the cap must hold while streaming.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        for (let i = 0; i < 17; i += 1) res.write(chunk);
        res.end('{}');
      } else if (req.url === '/declared-huge.json') {
        res.writeHead(200, { 'content-length': String(100 * 1024 * 1024) });
        res.flushHeaders();
      } else if (req.url === '/hang.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"openapi": ');
      } else {
        res.writeHead(404).end('not here');
      }
    });
    url = await listen(server);
    before = await snapshot(project.dir);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await project?.cleanup();
  });

  it.for([
    { input: '(none)', code: 2, message: 'Missing the spec to read.' },
    { input: 'missing.yaml', code: 1, message: 'missing.yaml: no such file.' },
    { input: 'broken.json', code: 1, message: 'broken.json is neither JSON nor YAML (JSON parser:' },
    { input: 'broken.yaml', code: 1, message: 'broken.yaml is neither JSON nor YAML (YAML parser:' },
    { input: 'not-a-spec.yaml', code: 1, message: 'expected an "openapi" field such as "3.0.1", got none.' },
    { input: 'swagger.json', code: 1, message: 'swagger.json is a Swagger 2.0 document' },
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
  ])(
    'exits $code for $input',
    { timeout: SPAWN_TIMEOUT_MS },
    async ({ input, code, message }, { expect }) => {
      const [first, ...flags] = input.split(' ');
      const source =
        first === '(none)' ? undefined : first?.startsWith('URL/') ? `${url}/${first.slice(4)}` : first; // relative: the script resolves it against its working directory, the copy
      const result = await runSpecUpdate(project.dir, source, flags);

      expect(result.code).toBe(code);
      expect(result.stderr).toContain(message);
      expect(await snapshot(project.dir)).toEqual(before);
    },
  );
});

it('leaves the real project alone: every run above works on a copy', async () => {
  expect(await snapshot(REPO_ROOT)).toEqual(realProjectBefore);
});
