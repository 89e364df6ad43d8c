// `spec:update` on the real upstream documents (test/fixtures/upstream, verbatim slices of two versions) and
// on hostile ones. Every run works on a copy of the project; the last test checks the real one is untouched.
import { type SpawnOptions, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { diffSpecs, formatDiff } from '../scripts/spec-diff.js';
import { sliceSpec } from '../scripts/spec-slice.js';
import { main } from '../scripts/spec-update.js';
import { START_PATH, STATUS_PATH } from '../src/operations.js';
import { collect } from './helpers/collect.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { delay, ROOT as REPO_ROOT, until } from './helpers/run-cli.js';

const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
const GENERATED_FILE = 'src/generated/aitoearn.ts';
const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/upstream');
const SEED_VERSION = path.join(FIXTURES, '0355310c-zh-auth.json');
const NEWEST = path.join(FIXTURES, '82d97610-zh-auth.json');
const SEED_FILE = path.join(REPO_ROOT, 'test/fixtures/seed.openapi.yaml');
const realProjectBefore = await snapshot(REPO_ROOT);
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw ESC, CSI and a bidi override is the point.
const RAW_CONTROLS = /[\u001b\u009b\u202e]/;

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited by path, in the shape the spec gives them
type Json = Record<string, any>;
const readJson = (file: string): Json => JSON.parse(readFileSync(file, 'utf8'));
const SEED: Json = YAML.parse(readFileSync(SEED_FILE, 'utf8'));
const op = (doc: unknown, route: string): Json => (doc as Json).paths[route].get;
const statusJson = (doc: Json): Json => op(doc, STATUS_PATH).responses['200'].content['application/json'];
const vo = (doc: Json): Json => doc.components.schemas.AuthSessionStatusVo.properties;
/** The status answer's `data` schema, through its `$ref` if it has one. */
function statusData(doc: Json): Json {
  const data = statusJson(doc).schema.properties.data;
  return typeof data.$ref === 'string' ? doc.components.schemas[data.$ref.split('/').at(-1)] : data;
}
/** What an operation promises, without its texts. */
const contract = (doc: unknown, route: string) => ({ ...op(doc, route), summary: 0, description: 0 });
function seedWith(edit: (doc: Json) => unknown, doc = readJson(SEED_VERSION)): string {
  edit(doc);
  return JSON.stringify(doc);
}

/** The command in-process on the project in `dir`; only the process tests spawn it. */
async function run(dir: string, args: readonly string[]) {
  const said = { stdout: '', stderr: '' };
  const io = { out: (t: string) => (said.stdout += `${t}\n`), err: (t: string) => (said.stderr += `${t}\n`) };
  return { code: await main([...args, '--root', dir], io), ...said };
}

/** Every file of `openapi/` and `src/`, hashed: "the tree is exactly as before". */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  for (const top of ['openapi', 'src'])
    for (const e of await readdir(path.join(dir, top), { recursive: true, withFileTypes: true })) {
      const file = path.join(e.parentPath, e.name);
      if (e.isFile()) out.set(path.relative(dir, file), sha(await readFile(file)));
    }
  return out;
}

/** A throwaway copy of the project (`node_modules` linked) that the command may rewrite. */
async function copyProject() {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-auth-project-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  for (const entry of ['openapi', 'src', 'tsconfig.json', 'package.json'])
    await cp(path.join(REPO_ROOT, entry), path.join(dir, entry), { recursive: true });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { dir, cleanup };
}

it('sliceSpec drops the orphaned schemas of the newest version and everything else not referenced', () => {
  const doc = readJson(NEWEST);
  doc.paths['/api/v2/other'] = { get: { responses: { '200': { $ref: '#/components/responses/Other' } } } };
  doc.components.responses = { Other: { description: 'unused' } };
  const slice = sliceSpec(doc, 'newest') as Json;
  expect(Object.keys(slice.paths)).toEqual([START_PATH, STATUS_PATH]);
  expect(slice.components).toEqual({ securitySchemes: doc.components.securitySchemes });
});

describe('diffSpecs', () => {
  const seedVersion = sliceSpec(readJson(SEED_VERSION), 'seed version');
  const edited = (edit: (doc: Json) => unknown, doc = structuredClone(seedVersion) as Json) => {
    edit(doc);
    return diffSpecs(seedVersion, doc);
  };

  it('sees nothing when a schema is inlined or renamed, an orphan changes, or the security scheme is renamed', () => {
    const diff = edited((doc) => {
      statusJson(doc).schema.properties.data = { $ref: '#/components/schemas/SessionStatus' };
      doc.components.schemas.SessionStatus = doc.components.schemas.AuthSessionStatusVo;
      doc.components.schemas.AuthSessionStatusVo = { type: 'object', properties: {} };
      op(doc, START_PATH).responses['200'].content['application/json'].schema.properties.data =
        doc.components.schemas.AuthStartVo;
      doc.components.securitySchemes = { ApiKey: doc.components.securitySchemes['apikey-header-X-Api-Key'] };
      for (const route of [START_PATH, STATUS_PATH]) op(doc, route).security = [{ ApiKey: [] }];
    });
    expect(formatDiff(diff)).toBe('No changes to the operations this package uses.');
  });

  it('counts only text edits, on one line, in an English edition whose examples have translated messages', () => {
    const diff = edited((doc) => {
      op(doc, START_PATH).summary = 'Start platform authorization';
      op(doc, STATUS_PATH).summary = 'Get authorization status';
      op(doc, STATUS_PATH).parameters[1].description = 'Session ID';
      vo(doc).status.description = 'Session status';
      statusJson(doc).examples.success.summary = 'Success';
      statusJson(doc).examples.channelAuthSessionInvalid15039.value.message = 'Invalid or expired session';
    });
    expect([diff.changes, diff.textEdits]).toEqual([0, 6]);
    expect(formatDiff(diff)).toMatch(/~ 5 text edits \(summary, description, title, example\), not listed/);
  });

  it('shows control characters from the document escaped, never raw', () => {
    const text = formatDiff(edited((doc) => (vo(doc)['x\u001b[2J\u009b\nfake'] = { type: 'string' })));
    expect(text).toContain('+ answer data.x\\x1b[2J\\x9b\\x0afake: added (string, optional)');
    expect(text).not.toMatch(RAW_CONTROLS);
    expect(text.split('\n').filter((line) => line.includes('fake'))).toHaveLength(1);
  });

  // Added optional answer fields are not breaking: the package's types only gain a field.
  const NAMED: Record<string, (doc: Json) => unknown> = {
    '! answer data.errorCode: removed (was number, optional)': (doc) => delete vo(doc).errorCode,
    '+ answer data.failureCode: added (number, optional)': (doc) =>
      (vo(doc).failureCode = { type: 'number' }),
    '! answer data.status: enum value cancelled added (a new status the waiter does not handle)': (doc) =>
      vo(doc).status.enum.push('cancelled'),
    '! answer data.errorCode: type number → string': (doc) => (vo(doc).errorCode.type = 'string'),
    '~ example channelAuthSessionInvalid15039 changed': (doc) =>
      (statusJson(doc).examples.channelAuthSessionInvalid15039.value.code = 15038),
    '+ answer data.accounts[].platform: enum value weibo added': (doc) =>
      vo(doc).accounts.items.properties.platform.enum.push('weibo'),
    '+ query parameter lang: added (string, optional)': (doc) =>
      op(doc, START_PATH).parameters.push({ name: 'lang', in: 'query', schema: { type: 'string' } }),
    '~ servers: https://aitoearn.cn, https://aitoearn.ai → https://api.example': (doc) =>
      (doc.servers = [{ url: 'https://api.example' }]),
    '! security: apiKey header X-Api-Key → apiKey query key': (doc) =>
      Object.assign(doc.components.securitySchemes['apikey-header-X-Api-Key'], { in: 'query', name: 'key' }),
    '! security: apiKey header X-Api-Key → none': (doc) =>
      [START_PATH, STATUS_PATH].map((route) => (op(doc, route).security = [])),
    '~ tags: 渠道管理/授权 → Auth': (doc) => (op(doc, STATUS_PATH).tags = ['Auth']),
    '~ openapi 3.0.1 → 3.1.0': (doc) => (doc.openapi = '3.1.0'),
  };
  it.each(Object.entries(NAMED))('names "%s"', (expected, edit) => {
    const found = formatDiff(edited(edit)).split('\n');
    expect(found).toContain(`  ${expected}`);
    expect(found.at(-1)).toMatch(expected.startsWith('!') ? /, [1-9]\d* breaking/ : /, 0 breaking/);
  });
});

// The slow parts (generator and tsc runs) go side by side: the walk, the hostile table and the processes;
// the limits are for a loaded 2-core machine.
it.concurrent('walks the upstream versions on one copy: adopts the seed version (the two operations, what they name, no x- extensions), then changes no byte on its own output; refuses the newest, naming every change that matters; --check writes nothing; --adopt names the upstream change behind each type error and restores the tree', async (context) => {
  const { dir, cleanup } = await copyProject();
  context.onTestFinished(cleanup);
  // Start from the seed's vendored file (status operation only), as before the start operation came.
  await writeFile(path.join(dir, SPEC_FILE), readFileSync(SEED_FILE));
  const adopt = await run(dir, [SEED_VERSION]);
  expect(adopt.code, adopt.stderr).toBe(0);
  expect(adopt.stdout).toContain('+ operation added (AuthController_startAuth_v2)');
  expect(adopt.stdout).toContain('1 change, 0 breaking (marked !), 1 text edit.');
  expect(adopt.stdout).toContain('Type check passed.');
  const written = await readFile(path.join(dir, SPEC_FILE), 'utf8');
  const doc: Json = YAML.parse(written);
  expect(Object.keys(doc.paths)).toEqual([START_PATH, STATUS_PATH]);
  expect(Object.keys(doc.paths[START_PATH])).toEqual(['get']);
  expect(Object.keys(doc.components.schemas)).toEqual(['AuthStartVo', 'AuthSessionStatusVo']);
  expect(Object.keys(doc.components.securitySchemes)).toEqual(['apikey-header-X-Api-Key']);
  expect(written).not.toMatch(/x-mint|x-aitoearn-backend|E:\//);
  expect(contract(doc, STATUS_PATH)).toEqual(contract(SEED, STATUS_PATH));
  expect(statusData(doc)).toEqual(statusData(SEED));
  expect(await readFile(path.join(dir, GENERATED_FILE), 'utf8')).toContain(`"${START_PATH}": {`);
  const adopted = await snapshot(dir);
  // Its own output read back (as YAML) slices to the same bytes, as a rerun on the same input must.
  await writeFile(path.join(dir, 'again.yaml'), written);
  const again = await run(dir, [path.join(dir, 'again.yaml')]);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toContain('are up to date; nothing was written.');
  expect(await snapshot(dir)).toEqual(adopted);

  const refused = await run(dir, [NEWEST]);
  expect(refused.code).toBe(1);
  const text = refused.stdout;
  const at = text.indexOf(`GET ${STATUS_PATH}`);
  const [start, status] = [text.slice(0, at), text.slice(at)];
  expect(status).toContain('! answer data.status: enum (pending, completed, failed) dropped, now any string');
  const removed = 'errorCode:number accountId:string accountIds:array<string> accounts:array<object>';
  for (const field of `${removed} selectableAccounts:array<object>`.split(' '))
    expect(status).toContain(`! answer data.${field.replace(':', ': removed (was ')}, optional)`);
  for (const block of [start, status]) {
    expect(block).toContain(
      '! path parameter platform: enum added, only douyin, xhs, wxSph, KWAI, wxGzh, bilibili (was any string)',
    );
    for (const example of ['validationFailed10002', 'unauthorized401'])
      expect(block).toContain(`- example ${example} removed`);
  }
  for (const code of ['channelAuthSessionInvalid15039', 'channelAuthPlatformMismatch15040'])
    expect(status).toContain(`- example ${code} removed`);
  for (const field of ['url', 'sessionId', 'expiresAt'])
    expect(start).toContain(`! answer data.${field}: no longer required`);
  expect(start).toContain('~ answer data.expiresAt: format date-time dropped');
  // Nested fields of a dropped array are not listed one by one.
  expect(text).not.toContain('accounts[]');
  expect(text).toMatch(/~ \d+ text edits \(summary, description, title, example\), not listed/);
  expect(text).toContain('26 changes, 16 breaking (marked !)');
  expect(refused.stderr).toContain('Refused: 16 breaking changes (marked !). Nothing was written;');
  expect(refused.stderr).toContain('Pass --adopt to take them anyway');
  expect(await snapshot(dir)).toEqual(adopted);

  // The seed version grown to the newest upstream's size: 67 more operations with their own schemas, 0.8 MB.
  const grown = readJson(SEED_VERSION);
  grown.tags = [{ name: '渠道管理/授权' }, { name: 'Filler' }];
  for (let i = 0; i < 67; i += 1) {
    const text = { type: 'string', description: `Lorem ipsum ${i}. ${'Lorem ipsum. '.repeat(20)}` };
    const properties = Object.fromEntries(Array.from({ length: 40 }, (_, p) => [`field${p}`, text]));
    grown.components.schemas[`Filler${i}`] = { type: 'object', properties };
    const content = { 'application/json': { schema: { $ref: `#/components/schemas/Filler${i}` } } };
    const operation = { tags: ['Filler'], operationId: `Filler_${i}`, responses: { '200': { content } } };
    grown.paths[`/api/v2/filler/item${i}`] = { [i % 2 ? 'post' : 'get']: operation };
  }
  await writeFile(path.join(dir, 'grown.json'), JSON.stringify(grown, null, 2));
  for (const [input, code, message] of [
    [NEWEST, 1, 'Changes that matter, 16 of them breaking. Nothing was written (--check).'],
    [SEED_VERSION, 0, 'Nothing that matters changed. Nothing was written (--check).'],
    ['grown.json', 0, '(read as JSON): OpenAPI 3.0.1, 69 operations; compared the 2 this package calls'],
  ] as const) {
    const result = await run(dir, [path.resolve(dir, input), '--check']);
    expect(result.code, input).toBe(code);
    expect(result.stdout + result.stderr).toContain(message);
    if (input === 'grown.json')
      expect(result.stdout).toContain('No changes to the operations this package uses.');
  }
  expect(await snapshot(dir)).toEqual(adopted);

  const broken = await run(dir, [NEWEST, '--adopt']);
  expect(broken.stdout).toContain(`Wrote ${SPEC_FILE} and ${GENERATED_FILE}.`);
  // The package reads errorCode and the accounts (AuthFailedError, the command's output): it cannot build.
  expect(broken.code).toBe(1);
  expect(broken.stderr).toMatch(/The project no longer type-checks with the new spec \(\d+ errors\)/);
  const error = "error TS2339: Property 'errorCode' does not exist[^\\n]*\\n(?:  .*\\n)*?";
  const why = `    ← upstream: GET ${STATUS_PATH.replace(/[{}]/g, '\\$&')}: answer data.errorCode: removed`;
  expect(broken.stderr).toMatch(new RegExp(error + why));
  // Every error is followed by its cause, or by an honest "no upstream change named".
  const errors = broken.stderr.match(/^ {2}\S.*error TS\d+/gm) ?? [];
  expect(errors.length).toBeGreaterThan(0);
  expect((broken.stderr.match(/^ {4}← /gm) ?? []).length).toBeGreaterThanOrEqual(errors.length);
  expect(broken.stderr).toContain(`Restored ${SPEC_FILE} and ${GENERATED_FILE} as they were`);
  expect(await snapshot(dir)).toEqual(adopted);
}, 300_000);

/** The seed version as YAML with one anchored schema reused `uses` times (in a component nothing uses). */
function yamlWithAliases(uses: number): string {
  const doc = readJson(SEED_VERSION);
  const reused = { type: 'string', description: 'reused' };
  const properties = Object.fromEntries(Array.from({ length: uses + 1 }, (_, i) => [`f${i}`, reused]));
  doc.components.schemas.Reused = { type: 'object', properties };
  return new YAML.Document(doc, { aliasDuplicateObjects: true }).toString();
}

/** Under yaml's expansion limit but not the walk's: 9^4 copies of 40 values in `info`, which the slice keeps. */
function aliasesInTheSlice(): string {
  const doc = new YAML.Document(readJson(SEED_VERSION));
  const values = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  let previous: YAML.Node = doc.createNode(values);
  doc.setIn(['info', 'x-b0'], previous);
  for (let level = 1; level <= 4; level += 1) {
    const list = doc.createNode([]) as YAML.YAMLSeq;
    for (let i = 0; i < 9; i += 1) list.items.push(doc.createAlias(previous));
    doc.setIn(['info', `x-b${level}`], list);
    previous = list;
  }
  return doc.toString();
}

/** References the document may not hold, by fixture name. */
const REFS: Record<string, (doc: Json, target: string) => unknown> = {
  'servers.json': (doc, $ref) => doc.servers.splice(0, 1, { $ref }),
  'logo.json': (doc, $ref) => (doc.info['x-logo'] = { $ref }),
  'scheme.json': (doc, $ref) => (doc.components.securitySchemes['apikey-header-X-Api-Key'] = { $ref }),
  'external-value.json': (doc, externalValue) => (statusJson(doc).examples.success = { externalValue }),
  'mapping.json': (doc, pending) =>
    (statusData(doc).discriminator = { propertyName: 'status', mapping: { pending } }),
  'path-item.json': (doc, $ref) => (doc.paths[STATUS_PATH].$ref = $ref),
  'schema.json': (doc, $ref) => (vo(doc).status = { $ref }),
};
const CANNOT_FOLLOW = 'has a reference this package cannot follow at';
const STATUS_VO = '/components/schemas/AuthSessionStatusVo';

/** `arguments | exit code | what the output says`. A first argument without a scheme is a file in the copy;
 * ORIGIN is a loopback server (HOST its host and port), ELSEWHERE one on 127.0.0.2. */
const RUNS = `
(none) | 2 | Missing the spec to read.
missing.yaml | 1 | missing.yaml: no such file.
broken.json | 1 | broken.json is not valid JSON (JSON parser:
broken.yaml | 1 | broken.yaml is not valid YAML (YAML parser:
trailing-comma.json | 1 | trailing-comma.json is not valid JSON (JSON parser:
alias-bomb.yaml | 1 | is not valid YAML (YAML parser: Excessive alias count indicates a resource exhaustion attack).
aliases-in-slice.yaml | 1 | hold more than 100,000 values. Refusing to update
not-a-spec.yaml | 1 | expected an "openapi" field such as "3.0.1", got none.
swagger.json | 1 | swagger.json is a Swagger document ("swagger": the text "2.0")
swagger-escape.json | 1 | is a Swagger document ("swagger": the text "2.0\\x9b2J\\u202e"); expected OpenAPI 3.0 or 3.1.
openapi-escape.json | 1 | is not an OpenAPI 3.0 or 3.1 document: expected an "openapi" field such as "3.0.1", got the text "3.0.1\\u001b[2J".
openapi-4.json | 1 | got the text "4.0.0".
no-paths.yaml | 1 | no-paths.yaml is not an OpenAPI 3 document: it has no "paths"
text.txt | 1 | expected a mapping at the top level, got the text "just some
no-start.yaml | 1 | has no GET ${START_PATH}, which this package calls. Refusing to update; nothing was written.
ungeneratable.json --adopt | 1 | openapi-typescript could not generate types from the new slice; nothing was written:
deep.json | 1 | deep.json is nested more than 100 levels deep (at ${STATUS_VO}/properties/deep/properties/a/
fan-out.json --check | 1 | Refusing to compare GET ${STATUS_PATH}: with its $refs resolved it holds more than 100,000 values (a $ref fan-out).
cycle.json --check | 1 | Refusing GET ${STATUS_PATH}: its $refs form a cycle with no schema in between, #/components/schemas/A → #/components/schemas/B → #/components/schemas/A.
bom.json --check | 0 | bom.json (read as JSON): OpenAPI 3.0.1
aliases-119.yaml --check | 0 | aliases-119.yaml (read as YAML): OpenAPI 3.0.1
tree.json --check | 1 | + answer data.tree: added (object, optional)
ORIGIN/openapi.json | 1 | the server answered HTTP 404.
ORIGIN/huge.json | 1 | huge.json: it is over 16
ORIGIN/declared-huge.json | 1 | it is 100.0 MB; a spec is at most 16 MB here.
ORIGIN/hang.json --timeout 1 | 1 | no complete answer within 1 s.
ORIGIN/moved --check | 0 | Nothing that matters changed.
ORIGIN/away --check | 1 | Refusing to follow the redirect from ORIGIN/away to ELSEWHERE/seed.json: only https URLs are accepted
http://user:hunter2@HOST/secret.json --check | 1 | http://***@HOST/secret.json: it holds a user name or password
ORIGIN/away-with-password --check | 1 | http://***@HOST/secret.json: it holds a user name or password
http://example.com/openapi.json | 1 | only https URLs are accepted (plain http only from this machine).
x.json --check --adopt | 2 | --check writes nothing: it cannot be combined
--timeout 0 x.json | 2 | Expected --timeout to be a number of seconds greater than 0 and at most 3600, got "0".
url-servers.json --adopt | 1 | ${CANNOT_FOLLOW} /servers/0: "ORIGIN/ref/servers.json" (a reference must name something under #/components/ in the same document
file-servers.json --adopt | 1 | ${CANNOT_FOLLOW} /servers/0: "/etc/passwd" (a reference must name something under #/components/ in the same document
url-logo.json --adopt | 1 | ${CANNOT_FOLLOW} /info/x-logo: "ORIGIN/ref/logo.json"
file-logo.json --adopt | 1 | ${CANNOT_FOLLOW} /info/x-logo: "/dev/zero"
url-scheme.json --adopt | 1 | ${CANNOT_FOLLOW} /components/securitySchemes/apikey-header-X-Api-Key: "ORIGIN/ref/scheme.json"
file-scheme.json --adopt | 1 | ${CANNOT_FOLLOW} /components/securitySchemes/apikey-header-X-Api-Key: "/etc/passwd"
url-external-value.json --adopt | 1 | ${CANNOT_FOLLOW} /paths/${STATUS_PATH}/get/responses/200/content/application/json/examples/success/externalValue: "ORIGIN/ref/external-value.json"
file-external-value.json --adopt | 1 | ${CANNOT_FOLLOW} /paths/${STATUS_PATH}/get/responses/200/content/application/json/examples/success/externalValue: "/etc/passwd"
url-mapping.json --adopt | 1 | ${CANNOT_FOLLOW} ${STATUS_VO}/discriminator/mapping/pending: "ORIGIN/ref/mapping.json"
file-mapping.json --adopt | 1 | ${CANNOT_FOLLOW} ${STATUS_VO}/discriminator/mapping/pending: "/etc/passwd"
url-path-item.json --adopt | 1 | ${CANNOT_FOLLOW} /paths/${STATUS_PATH}: "ORIGIN/ref/path-item.json"
file-path-item.json --adopt | 1 | ${CANNOT_FOLLOW} /paths/${STATUS_PATH}: "/etc/passwd"
url-schema.json --adopt | 1 | ${CANNOT_FOLLOW} ${STATUS_VO}/properties/status: "ORIGIN/ref/schema.json"
file-schema.json --adopt | 1 | ${CANNOT_FOLLOW} ${STATUS_VO}/properties/status: "/etc/passwd"
`
  .trim()
  .split('\n')
  .map((line) => line.split(' | '));

// Each run only reads its input, so they share one copy and run side by side.
describe.concurrent('spec:update on bad and hostile input: opens nothing the document names, prints no raw control characters and leaves the tree as it was', () => {
  let project: Awaited<ReturnType<typeof copyProject>>, before: Map<string, string>;
  let origin: TestServer, elsewhere: TestServer;
  const seedText = readFileSync(SEED_VERSION, 'utf8');

  beforeAll(async () => {
    project = await copyProject();
    // 127.0.0.2 is this machine too, but not a loopback name the command accepts: it must never be asked.
    elsewhere = await startServer((_req, res) => res.end(seedText), '127.0.0.2');
    origin = await startServer((req, res) => {
      const route = req.url ?? '';
      if (route === '/seed.json' || route === '/secret.json' || route.startsWith('/ref/'))
        return res.end(seedText);
      const redirect = {
        '/moved': [301, '/seed.json'],
        '/away': [302, `${elsewhere.url}/seed.json`],
        '/away-with-password': [307, `${origin.url.replace('http://', 'http://user:hunter2@')}/secret.json`],
      }[route] as [number, string] | undefined;
      if (redirect) return res.writeHead(redirect[0], { location: redirect[1] }).end();
      if (route === '/huge.json') {
        // No Content-Length: the cap must hold while streaming.
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 17; i += 1) res.write(Buffer.alloc(1024 * 1024, 0x20));
        return res.end('{}');
      }
      if (route === '/declared-huge.json')
        return res.writeHead(200, { 'content-length': String(100 * 1024 * 1024) }).flushHeaders();
      if (route === '/hang.json')
        return res.writeHead(200, { 'content-type': 'application/json' }).write('{"openapi": ');
      res.writeHead(404).end('not here');
    });
    const levels = 20_000;
    const fixtures: Record<string, string> = {
      'no-start.yaml': YAML.stringify(JSON.parse(seedWith((doc) => delete doc.paths[START_PATH]))),
      'ungeneratable.json': seedWith((doc) => (op(doc, STATUS_PATH).parameters = 7)),
      'broken.json': seedText.slice(0, 200),
      'broken.yaml': 'openapi: 3.0.1\npaths: {\n  a: [\n',
      'not-a-spec.yaml': 'title: shopping list\nitems:\n  - milk\n',
      'swagger.json': JSON.stringify({ swagger: '2.0', paths: {} }),
      'no-paths.yaml': 'openapi: 3.0.1\ninfo:\n  title: x\n  version: 1.0.0\n',
      'text.txt': 'just some words',
      'trailing-comma.json': seedText.replace(/\n}\s*$/, ',\n}\n'),
      'bom.json': `\uFEFF${seedText}`,
      'aliases-119.yaml': yamlWithAliases(119),
      // Nine anchors, each a list of nine aliases of the one before: 9^9 strings once expanded.
      'alias-bomb.yaml': `openapi: 3.0.1\npaths: {}\n${Array.from({ length: 9 }, (_, i) => `a${i}: &a${i} [${Array(9).fill(i ? `*a${i - 1}` : '"lol"')}]`).join('\n')}`,
      'aliases-in-slice.yaml': aliasesInTheSlice(),
      // 20,000 nested objects, written as text (JSON.stringify itself would overflow).
      'deep.json': seedWith((doc) => (statusData(doc).properties.deep = '__deep__')).replace(
        '"__deep__"',
        `${'{"type":"object","properties":{"a":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`,
      ),
      // 10 wide and 7 deep through $refs: 10 kB of JSON, ten million fields once expanded.
      'fan-out.json': seedWith((doc) => {
        for (let level = 0; level < 7; level += 1) {
          const fan = { $ref: `#/components/schemas/Fan${level + 1}` };
          const properties = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, fan]));
          doc.components.schemas[`Fan${level}`] = { type: 'object', properties };
        }
        doc.components.schemas.Fan7 = { type: 'string' };
        statusData(doc).properties.fan = { $ref: '#/components/schemas/Fan0' };
      }),
      'cycle.json': seedWith((doc) => {
        doc.components.schemas.A = { $ref: '#/components/schemas/B' };
        doc.components.schemas.B = { $ref: '#/components/schemas/A' };
        statusData(doc).properties.loop = { $ref: '#/components/schemas/A' };
      }),
      'tree.json': seedWith((doc) => {
        const children = { type: 'array', items: { $ref: '#/components/schemas/Tree' } };
        doc.components.schemas.Tree = { type: 'object', properties: { children } };
        statusData(doc).properties.tree = { $ref: '#/components/schemas/Tree' };
      }),
      'openapi-escape.json': seedWith((doc) => (doc.openapi = '3.0.1\u001b[2J')),
      'openapi-4.json': seedWith((doc) => (doc.openapi = '4.0.0')),
      'swagger-escape.json': JSON.stringify({ swagger: '2.0\u009b2J\u202e', paths: {} }),
    };
    for (const [name, edit] of Object.entries(REFS)) {
      fixtures[`url-${name}`] = seedWith((doc) => edit(doc, `${origin.url}/ref/${name}`));
      const file = name === 'logo.json' ? '/dev/zero' : '/etc/passwd';
      fixtures[`file-${name}`] = seedWith((doc) => edit(doc, file));
    }
    for (const [name, text] of Object.entries(fixtures)) await writeFile(path.join(project.dir, name), text);
    before = await snapshot(project.dir);
  });
  afterAll(async () => {
    await Promise.all([origin?.close(), elsewhere?.close()]);
    await project?.cleanup();
  });

  it.for(RUNS)('%s: exits %s', async ([input = '', code, said = ''], { expect }) => {
    const fill = (text: string) =>
      text
        .replaceAll('ORIGIN', origin.url)
        .replaceAll('HOST', new URL(origin.url).host)
        .replaceAll('ELSEWHERE', elsewhere.url);
    const [first = '', ...flags] = fill(input).split(' ');
    const args =
      first === '(none)' ? [] : [/^-|:\/\//.test(first) ? first : path.join(project.dir, first), ...flags];
    const result = await run(project.dir, args);
    const output = result.stdout + result.stderr;
    expect(result.code, result.stderr).toBe(Number(code));
    expect(output).toContain(fill(said));
    expect(output).not.toMatch(RAW_CONTROLS);
    expect(output).not.toContain('hunter2');
    expect(origin.requests.filter((r) => r.url === '/secret.json' || r.url.startsWith('/ref/'))).toEqual([]);
    expect(elsewhere.requests).toEqual([]);
    expect(await snapshot(project.dir)).toEqual(before);
  });

  it('as a process, exits with the code the command returns', async ({ expect }) => {
    const result = await start(project.dir, [NEWEST, '--check']).output.closed;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Changes that matter, 16 of them breaking.');
  });
});

/** The real script as a process in its own process group, as a terminal starts it. */
function start(dir: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}) {
  // Without npm's markers the script resolves a relative spec path against `cwd`, as a direct call would.
  const { npm_lifecycle_event: _event, INIT_CWD: _initCwd, ...env } = { ...process.env, ...extra };
  const script = path.join(REPO_ROOT, 'scripts/spec-update.ts');
  const options: SpawnOptions = { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true };
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args, '--root', dir], options);
  return { child, output: collect(child) };
}

/** A file of Linux's /proc, or '' once the process is gone. */
function proc(file: string): string {
  try {
    return readFileSync(`/proc/${file}`, 'utf8');
  } catch {
    return '';
  }
}
/** A child of `pid` whose command line holds `text`. */
const childRunning = (pid: number, text: string) =>
  proc(`${pid}/task/${pid}/children`)
    .match(/\d+/g)
    ?.find((child) => proc(`${child}/cmdline`).includes(text));
/** It exists and is not a zombie waiting to be reaped. */
const running = (pid: number) => /^\d+ \(.*\) [^Z]/.test(proc(`${pid}/stat`));
/** SIGKILL is pending (bit 0x100): the kernel ends it when next run, maybe after the script has exited. */
const killPending = (pid: number) =>
  /^(Sig|Shd)Pnd:\s*[0-9a-f]*[13579bdf][0-9a-f]{2}$/m.test(proc(`${pid}/status`));

it.concurrent.for([
  // Each signal, target, step and --keep appears once: every row costs a generator run on a copy.
  { signal: 'SIGHUP', to: 'its process group', during: 'typescript/bin/tsc', flags: ['--keep'] },
  { signal: 'SIGINT', to: 'the script alone', during: 'openapi-typescript', flags: [] },
] as const)(
  '$signal to $to during $during (--adopt $flags) stops the child at once, restores the tree and removes the temporary folder',
  { timeout: 120_000 },
  async ({ signal, to, during, flags }, { expect }) => {
    const copy = await copyProject();
    const temp = await mkdtemp(path.join(tmpdir(), 'aitoearn-spec-signal-'));
    const ours = async () => (await readdir(temp)).filter((name) => name.startsWith('aitoearn-spec-update-'));
    const { child, output } = start(copy.dir, [NEWEST, '--adopt', ...flags], { TMPDIR: temp });
    const pid = child.pid as number;
    try {
      const before = await snapshot(copy.dir);
      await until(() => childRunning(pid, during) !== undefined);
      const tool = Number(childRunning(pid, during));
      if (during === 'openapi-typescript') expect(await ours()).toHaveLength(1);
      else expect(await snapshot(copy.dir)).not.toEqual(before);
      process.kill(to === 'the script alone' ? pid : -pid, signal);
      const { code, stdout, stderr } = await output.closed;
      expect(code).toBe(128 + constants.signals[signal]);
      const interrupted = `Interrupted by ${signal}: ${SPEC_FILE} and ${GENERATED_FILE} are as they were.`;
      expect(stderr).toContain(interrupted);
      expect(stdout + stderr).not.toMatch(/Type check passed|no longer type-checks|Kept the new/);
      for (let i = 0; i < 25 && running(tool) && !killPending(tool); i++) await delay(20);
      expect(!running(tool) || killPending(tool)).toBe(true);
      expect(await ours()).toEqual([]);
      expect(await snapshot(copy.dir)).toEqual(before);
    } finally {
      try {
        process.kill(-pid, 'SIGKILL'); // the group: its tool may outlive the script
      } catch {}
      await copy.cleanup();
      await rm(temp, { recursive: true, force: true });
    }
  },
);

it('leaves the real project alone: every run above works on a copy', async () => {
  expect(await snapshot(REPO_ROOT)).toEqual(realProjectBefore);
});
