/**
 * `npm run spec:update -- <file-or-url> [--root DIR]`
 *
 * Replaces the vendored spec with a new one (JSON or YAML, from a file or an http(s) URL), prints what
 * changed, regenerates `src/generated/` and type-checks the project, so code that depends on a changed
 * shape fails here rather than at run time.
 *
 * Exit codes: 0 updated and type-checks; 1 refused, failed, or updated but no longer type-checks; 2 usage.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { diffSpecs, listOperations, STATUS_PATH } from './spec-diff.js';

const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
const GENERATED_FILE = 'src/generated/aitoearn.ts';
const OPENAPI_TYPESCRIPT = 'node_modules/openapi-typescript/bin/cli.js';
const TSC = 'node_modules/typescript/bin/tsc';
const FETCH_TIMEOUT_MS = 30_000;

// Single quotes and the YAML 1.1 rules reproduce the vendored file's style: strings such as '200' and
// date-like examples stay quoted, so YAML 1.1 readers do not turn them into numbers or dates. lineWidth 0
// keeps long descriptions on one line, which keeps diffs small.
const YAML_OPTIONS = { singleQuote: true, lineWidth: 0, version: '1.1' } as const;

const USAGE = `Usage: npm run spec:update -- <file-or-url> [--root DIR]

Replaces ${SPEC_FILE} with the given OpenAPI 3 document (JSON or YAML, a file path or an
http(s) URL), prints what changed, regenerates ${GENERATED_FILE} and type-checks the project.

  --root DIR   the project to update (default: this repository)`;

/** A failure the user can act on: printed as a message, without a stack. */
class SpecUpdateError extends Error {
  override readonly name = 'SpecUpdateError';
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `a ${typeof value}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readSource(source: string, baseDir: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    let response: Response;
    try {
      response = await fetch(source, {
        headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.1' },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new SpecUpdateError(`Could not fetch ${source}: ${errorMessage(error)}${cause}`);
    }
    if (!response.ok) {
      throw new SpecUpdateError(`Could not fetch ${source}: the server answered HTTP ${response.status}.`);
    }
    return response.text();
  }
  const file = path.resolve(baseDir, source);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : errorMessage(error);
    throw new SpecUpdateError(`Cannot read the spec file ${file}: ${reason}.`);
  }
}

function parseSpec(text: string, source: string): { doc: unknown; format: 'json' | 'yaml' } {
  let jsonError: unknown;
  try {
    return { doc: JSON.parse(text), format: 'json' };
  } catch (error) {
    jsonError = error;
  }
  try {
    return { doc: YAML.parse(text), format: 'yaml' };
  } catch (yamlError) {
    // Report the error of the format the text was evidently meant to be in.
    const looksLikeJson = /^\s*[{[]/.test(text);
    const detail = errorMessage(looksLikeJson ? jsonError : yamlError).split('\n')[0];
    throw new SpecUpdateError(
      `${source} is neither JSON nor YAML (${looksLikeJson ? 'JSON' : 'YAML'} parser: ${detail}).`,
    );
  }
}

function checkSpec(doc: unknown, source: string): asserts doc is Obj {
  if (!isObject(doc)) {
    throw new SpecUpdateError(
      `${source} is not an OpenAPI 3 document: expected a mapping at the top level, got ${describe(doc)}.`,
    );
  }
  if (doc.swagger !== undefined) {
    throw new SpecUpdateError(
      `${source} is a Swagger ${String(doc.swagger)} document; expected OpenAPI 3 ("openapi": "3.x").`,
    );
  }
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) {
    throw new SpecUpdateError(
      `${source} is not an OpenAPI 3 document: expected an "openapi" field such as "3.0.1", got ${
        doc.openapi === undefined ? 'none' : JSON.stringify(doc.openapi)
      }.`,
    );
  }
  if (!isObject(doc.paths)) {
    throw new SpecUpdateError(`${source} is not an OpenAPI 3 document: it has no "paths" object.`);
  }
  const statusItem = doc.paths[STATUS_PATH];
  if (!isObject(statusItem) || !isObject(statusItem.get)) {
    throw new SpecUpdateError(
      `${source} has no GET ${STATUS_PATH}, the authorization status operation this package is built on. ` +
        `Refusing to update; nothing was written.`,
    );
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Runs a Node CLI of the project with the current Node binary; never through npx. */
function runNode(root: string, script: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, [path.join(root, script), ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { ok: result.status === 0, output: result.error ? errorMessage(result.error) : output };
}

async function checkRoot(root: string): Promise<void> {
  const ok = await stat(path.join(root, 'package.json')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok) {
    throw new SpecUpdateError(
      `Expected --root to be the project directory (with package.json), got ${root}.`,
    );
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    console.error(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [source, ...extra] = parsed.positionals;
  if (source === undefined || extra.length > 0) {
    console.error(
      `${source === undefined ? 'Missing the spec to read.' : 'Expected one spec, got several.'}\n\n${USAGE}`,
    );
    return 2;
  }
  const root = path.resolve(
    parsed.values.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'),
  );
  // `npm run` starts scripts in the package root; a relative path means the directory npm was called from.
  const baseDir =
    process.env.npm_lifecycle_event === 'spec:update' && process.env.INIT_CWD
      ? process.env.INIT_CWD
      : process.cwd();

  await checkRoot(root);
  const text = await readSource(source, baseDir);
  const { doc, format } = parseSpec(text, source);
  checkSpec(doc, source);

  const specFile = path.join(root, SPEC_FILE);
  const generatedFile = path.join(root, GENERATED_FILE);
  const previousText = await readIfExists(specFile);
  let previous: unknown;
  try {
    previous = previousText === undefined ? undefined : YAML.parse(previousText);
  } catch {
    console.log(`The previous ${SPEC_FILE} does not parse; comparing against an empty spec.`);
  }
  const previousGenerated = await readIfExists(generatedFile);

  await writeFile(specFile, format === 'yaml' ? text : YAML.stringify(doc, YAML_OPTIONS));

  const changes = diffSpecs(previous, doc);
  console.log(
    `Wrote ${SPEC_FILE} from ${source} (${format.toUpperCase()}, OpenAPI ${String(doc.openapi)}, ` +
      `${count(listOperations(doc).size, 'operation')}, was ${listOperations(previous).size}).`,
  );
  console.log(
    changes.length === 0
      ? 'No changes to operations or to AuthSessionStatusVo.'
      : `Changes:\n${changes.map((line) => `  ${line}`).join('\n')}`,
  );

  const generate = runNode(root, OPENAPI_TYPESCRIPT, [SPEC_FILE, '-o', GENERATED_FILE]);
  if (!generate.ok) {
    // Put the old spec back, so the spec and the generated types never disagree.
    await (previousText === undefined ? rm(specFile, { force: true }) : writeFile(specFile, previousText));
    throw new SpecUpdateError(
      `openapi-typescript could not generate types from the new spec, so ${SPEC_FILE} was restored:\n${generate.output}`,
    );
  }
  const generated = await readIfExists(generatedFile);
  console.log(
    `Regenerated ${GENERATED_FILE} (${generated === previousGenerated ? 'unchanged' : 'changed'}).`,
  );

  const typecheck = runNode(root, TSC, ['-p', 'tsconfig.json', '--noEmit']);
  if (!typecheck.ok) {
    console.error(
      `The spec was updated and the types regenerated, but the code no longer type-checks:\n${typecheck.output}`,
    );
    return 1;
  }
  console.log('Type check passed.');
  return 0;
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof SpecUpdateError ? error.message : error);
    process.exitCode = 1;
  },
);
