import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { diffSpecs, STATUS_PATH } from '../scripts/spec-diff.js';
import {
  copyProject,
  GENERATED_FILE,
  type ProjectCopy,
  REPO_ROOT,
  runSpecUpdate,
  SPEC_FILE,
} from './helpers/project-copy.js';

// Fixtures are derived from the vendored spec at test time, so they follow it when it is updated.
const vendoredSpec = readFileSync(path.join(REPO_ROOT, SPEC_FILE), 'utf8');
const vendoredGenerated = readFileSync(path.join(REPO_ROOT, GENERATED_FILE), 'utf8');

const SPAWN_TIMEOUT_MS = 60_000;

interface Schema {
  type?: string;
  enum?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  $ref?: string;
  [key: string]: unknown;
}
interface Spec {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema> };
}

function vendored(): Spec {
  return YAML.parse(vendoredSpec) as Spec;
}

function statusSchema(doc: Spec): Schema {
  const schema = doc.components.schemas.AuthSessionStatusVo;
  if (schema === undefined) throw new Error('The vendored spec has no AuthSessionStatusVo');
  return schema;
}

/** A property of AuthSessionStatusVo; `accounts[]` and `selectableAccounts[]` name the items of those arrays. */
function property(doc: Spec, name: string): Schema {
  const [head, ...rest] = name.split('.');
  let schema = statusSchema(doc).properties?.[head ?? ''];
  for (const part of rest) schema = schema?.items?.properties?.[part];
  if (schema === undefined) throw new Error(`The vendored spec has no AuthSessionStatusVo.${name}`);
  return schema;
}

function addOperation(doc: Spec, route: string, method: string, operationId: string): void {
  doc.paths[route] = {
    ...doc.paths[route],
    [method]: {
      operationId,
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  };
}

function withNewStatus(): Spec {
  const doc = vendored();
  property(doc, 'status').enum?.push('cancelled');
  return doc;
}

function withWidenedStatus(): Spec {
  const doc = vendored();
  delete property(doc, 'status').enum;
  return doc;
}

function withAddedOperation(): Spec {
  const doc = vendored();
  addOperation(
    doc,
    '/api/v2/channels/accounts/auth/{platform}/url',
    'post',
    'AuthController_createAuthUrl_v2',
  );
  return doc;
}

function withManyOperations(count: number): Spec {
  const doc = vendored();
  for (let index = 0; index < count; index += 1) {
    addOperation(doc, `/api/v2/bulk/item${index}`, index % 2 === 0 ? 'get' : 'delete', `Bulk_op${index}`);
  }
  return doc;
}

describe('diffSpecs', () => {
  it('reports nothing for two parses of the vendored spec', () => {
    expect(diffSpecs(vendored(), vendored())).toEqual([]);
  });

  it('names a new status value', () => {
    expect(diffSpecs(vendored(), withNewStatus())).toEqual([
      '+ AuthSessionStatusVo.status: enum value "cancelled" added',
    ]);
  });

  it('names a status enum widened to a plain string as a type change, not as removed values', () => {
    expect(diffSpecs(vendored(), withWidenedStatus())).toEqual([
      '~ AuthSessionStatusVo.status: type changed from string enum to string',
    ]);
  });

  it('names added and removed operations with their method, path and operationId', () => {
    const before = withManyOperations(1);
    expect(diffSpecs(before, withAddedOperation())).toEqual([
      '+ operation POST /api/v2/channels/accounts/auth/{platform}/url (AuthController_createAuthUrl_v2)',
      '- operation GET /api/v2/bulk/item0 (Bulk_op0)',
    ]);
  });

  it('lists every operation of a spec that grew by 60 operations', () => {
    const lines = diffSpecs(vendored(), withManyOperations(60));
    expect(lines).toHaveLength(60);
    expect(lines[0]).toBe('+ operation GET /api/v2/bulk/item0 (Bulk_op0)');
    expect(lines[59]).toBe('+ operation DELETE /api/v2/bulk/item59 (Bulk_op59)');
  });

  it('names removed and added properties, with the type and required-ness of the new one', () => {
    const after = vendored();
    const schema = statusSchema(after);
    delete schema.properties?.errorCode;
    if (schema.properties) schema.properties.cancelReason = { type: 'string' };
    const accountItem = property(after, 'accounts').items;
    if (accountItem?.properties) accountItem.properties.email = { type: 'string' };
    expect(diffSpecs(vendored(), after)).toEqual([
      '- AuthSessionStatusVo.errorCode: property removed',
      '+ AuthSessionStatusVo.accounts[].email: property added (string, optional)',
      '+ AuthSessionStatusVo.cancelReason: property added (string, optional)',
    ]);
  });

  it('names required-ness changes in both directions', () => {
    const after = vendored();
    statusSchema(after).required = ['sessionId', 'status', 'expiresAt'];
    expect(diffSpecs(vendored(), after)).toEqual([
      '~ AuthSessionStatusVo.requiresSelection: now optional',
      '~ AuthSessionStatusVo.expiresAt: now required',
    ]);
  });

  it('names a type change of a property', () => {
    const after = vendored();
    property(after, 'errorCode').type = 'string';
    expect(diffSpecs(vendored(), after)).toEqual([
      '~ AuthSessionStatusVo.errorCode: type changed from number to string',
    ]);
  });

  it('names platform values added and removed in accounts[] and selectableAccounts[]', () => {
    const after = vendored();
    const accounts = property(after, 'accounts.platform');
    accounts.enum = [...(accounts.enum ?? []).filter((value) => value !== 'KWAI'), 'weibo'];
    const selectable = property(after, 'selectableAccounts.platform');
    selectable.enum = (selectable.enum ?? []).filter((value) => value !== 'google_business');
    expect(diffSpecs(vendored(), after)).toEqual([
      '+ AuthSessionStatusVo.accounts[].platform: enum value "weibo" added',
      '- AuthSessionStatusVo.accounts[].platform: enum value "KWAI" removed',
      '- AuthSessionStatusVo.selectableAccounts[].platform: enum value "google_business" removed',
    ]);
  });

  it('sees through a $ref: moving the account item schema to components changes nothing', () => {
    const after = vendored();
    const accounts = property(after, 'accounts');
    after.components.schemas.ConnectedAccountVo = accounts.items ?? {};
    accounts.items = { $ref: '#/components/schemas/ConnectedAccountVo' };
    expect(diffSpecs(vendored(), after)).toEqual([]);
  });

  it('names a removed status schema once, without listing its properties', () => {
    const after = vendored();
    delete after.components.schemas.AuthSessionStatusVo;
    expect(diffSpecs(vendored(), after)).toEqual(['- AuthSessionStatusVo: schema removed']);
  });

  it('treats a missing previous spec as empty', () => {
    expect(diffSpecs(undefined, vendored())).toEqual([
      `+ operation GET ${STATUS_PATH} (AuthController_getAuthStatus_v2)`,
      '+ AuthSessionStatusVo: schema added',
    ]);
  });
});

describe('npm run spec:update', () => {
  let project: ProjectCopy;
  const specIn = (name: string) => path.join(project.dir, name);
  const readCopy = (file: string) => readFile(path.join(project.dir, file), 'utf8');

  beforeEach(async () => {
    project = await copyProject();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it(
    'adds a status value, regenerates the types and fails loudly when code depends on the old set',
    async () => {
      // Code with an exhaustive switch over the status, as the waiter has: a new value must break it.
      await writeFile(
        path.join(project.dir, 'src/spec-canary.ts'),
        [
          "import type { components } from './generated/aitoearn.js';",
          "export function canary(status: components['schemas']['AuthSessionStatusVo']['status']): string {",
          "  if (status === 'pending' || status === 'completed' || status === 'failed') return status;",
          '  const rest: never = status;',
          '  return rest;',
          '}',
          '',
        ].join('\n'),
      );
      const fixture = YAML.stringify(withNewStatus());
      await writeFile(specIn('new-status.yaml'), fixture);

      const result = await runSpecUpdate(project.dir, specIn('new-status.yaml'));

      expect(result.stdout).toContain('+ AuthSessionStatusVo.status: enum value "cancelled" added');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'The spec was updated and the types regenerated, but the code no longer',
      );
      expect(result.stderr).toMatch(/src\/spec-canary\.ts\(\d+,\d+\): error TS2322/);
      // YAML input is written as it came, byte for byte.
      expect(await readCopy(SPEC_FILE)).toBe(fixture);
      expect(await readCopy(GENERATED_FILE)).toContain('"pending" | "completed" | "failed" | "cancelled"');
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'widens status to a plain string in the summary and in the generated types',
    async () => {
      await writeFile(specIn('widened.yaml'), YAML.stringify(withWidenedStatus()));

      const result = await runSpecUpdate(project.dir, specIn('widened.yaml'));

      // Whether the code still type-checks depends on what switches over the status; not asserted here.
      expect(result.stdout).toContain(
        '~ AuthSessionStatusVo.status: type changed from string enum to string',
      );
      expect(result.stdout).toContain(`Regenerated ${GENERATED_FILE} (changed).`);
      const generated = await readCopy(GENERATED_FILE);
      expect(vendoredGenerated).toContain('status: "pending" | "completed" | "failed";');
      expect(generated).not.toContain('"pending" | "completed" | "failed"');
      expect(generated).toMatch(/\bstatus: string;/);
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'fetches a JSON spec with an added operation from a URL and writes it as YAML',
    async () => {
      const body = JSON.stringify(withAddedOperation());
      const server = createServer((req, res) => {
        res.writeHead(req.url === '/openapi.json' ? 200 : 404, { 'content-type': 'application/json' });
        res.end(req.url === '/openapi.json' ? body : '{}');
      });
      const url = await listen(server);
      try {
        const result = await runSpecUpdate(project.dir, `${url}/openapi.json`);

        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain(
          '+ operation POST /api/v2/channels/accounts/auth/{platform}/url (AuthController_createAuthUrl_v2)',
        );
        expect(result.stdout).toContain('Type check passed.');
        const written = await readCopy(SPEC_FILE);
        expect(written.trimStart().startsWith('{')).toBe(false);
        expect(YAML.parse(written)).toEqual(JSON.parse(body));
        expect(await readCopy(GENERATED_FILE)).toContain(
          '"/api/v2/channels/accounts/auth/{platform}/url": {',
        );
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'handles a spec with 60 more operations',
    async () => {
      await writeFile(specIn('many.yaml'), YAML.stringify(withManyOperations(60)));

      const result = await runSpecUpdate(project.dir, specIn('many.yaml'));

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('61 operations, was 1');
      expect(result.stdout.match(/^ {2}\+ operation /gm)).toHaveLength(60);
      const generated = await readCopy(GENERATED_FILE);
      expect(generated.match(/^ {4}"\/api\/v2\/bulk\/item\d+": \{$/gm)).toHaveLength(60);
    },
    SPAWN_TIMEOUT_MS,
  );

  it(
    'reports no changes for the same spec given as JSON, writes YAML and regenerates identical types',
    async () => {
      await writeFile(specIn('same.json'), JSON.stringify(vendored(), null, 2));

      const result = await runSpecUpdate(project.dir, specIn('same.json'));

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('No changes to operations or to AuthSessionStatusVo.');
      expect(result.stdout).toContain(`Regenerated ${GENERATED_FILE} (unchanged).`);
      const written = await readCopy(SPEC_FILE);
      expect(written.trimStart().startsWith('{')).toBe(false);
      expect(YAML.parse(written)).toEqual(vendored());
      expect(await readCopy(GENERATED_FILE)).toBe(vendoredGenerated);
    },
    SPAWN_TIMEOUT_MS,
  );
});

// Each case only reads its input, so they share one copy and run side by side.
describe.concurrent('npm run spec:update refuses bad input and writes nothing', () => {
  let project: ProjectCopy;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    project = await copyProject();
    const noStatus = vendored();
    delete noStatus.paths[STATUS_PATH];
    addOperation(noStatus, '/api/v2/other', 'get', 'Other_get');
    const fixtures: Record<string, string> = {
      'no-status.yaml': YAML.stringify(noStatus),
      'broken.json': vendoredJson().slice(0, 200),
      'broken.yaml': 'openapi: 3.0.1\npaths: {\n  a: [\n',
      'not-a-spec.yaml': 'title: shopping list\nitems:\n  - milk\n',
      'swagger.json': JSON.stringify({ swagger: '2.0', paths: {} }),
      'no-paths.yaml': 'openapi: 3.0.1\ninfo:\n  title: x\n  version: 1.0.0\n',
      'text.txt': 'just some words',
    };
    for (const [name, text] of Object.entries(fixtures)) await writeFile(path.join(project.dir, name), text);
    server = createServer((_req, res) => {
      res.writeHead(404).end('not here');
    });
    url = await listen(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await project?.cleanup();
  });

  it.for([
    { input: '(no argument)', code: 2, message: 'Missing the spec to read.' },
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
      input: 'no-status.yaml',
      code: 1,
      message: `has no GET ${STATUS_PATH}, the authorization status operation this package is built on. Refusing to update; nothing was written.`,
    },
    { input: 'URL/openapi.json', code: 1, message: 'the server answered HTTP 404.' },
  ])(
    'exits $code for $input',
    { timeout: SPAWN_TIMEOUT_MS },
    async ({ input, code, message }, { expect }) => {
      const source =
        input === '(no argument)' ? undefined : input.startsWith('URL/') ? `${url}/${input.slice(4)}` : input; // relative: the script resolves it against its working directory, the copy
      const result = await runSpecUpdate(project.dir, source);

      expect(result.code).toBe(code);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
      expect(await readFile(path.join(project.dir, SPEC_FILE), 'utf8')).toBe(vendoredSpec);
      expect(await readFile(path.join(project.dir, GENERATED_FILE), 'utf8')).toBe(vendoredGenerated);
    },
  );
});

it('leaves the real openapi/ and src/generated/ alone', async () => {
  expect(await readFile(path.join(REPO_ROOT, SPEC_FILE), 'utf8')).toBe(vendoredSpec);
  expect(await readFile(path.join(REPO_ROOT, GENERATED_FILE), 'utf8')).toBe(vendoredGenerated);
});

function vendoredJson(): string {
  return JSON.stringify(vendored(), null, 2);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
