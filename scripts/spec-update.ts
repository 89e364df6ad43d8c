/**
 * `npm run spec:update -- <file-or-url> [--adopt] [--keep] [--check] [--root DIR] [--timeout SECONDS]`
 *
 * Vendors the operations this package calls (`src/operations.ts`) out of an upstream OpenAPI 3 document,
 * prints what changed in them, and refuses breaking changes unless `--adopt` is given. When it writes, it
 * regenerates `src/generated/` and type-checks the project; if that fails, it names the upstream change
 * behind each error and puts everything back (unless `--keep`). Any failure leaves the tree as it was.
 *
 * Exit codes: 0 up to date, or updated and type-checks (with --check: nothing that matters changed);
 * 1 refused, failed, or no longer type-checks (with --check: something that matters changed); 2 usage.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { CHECKS_FILE, generateChecks } from './generate-checks.js';
import { allOperations, type Change, diffSpecs, formatDiff, printable } from './spec-diff.js';
import { isObject, type Obj, SliceError, sliceSpec, toYaml } from './spec-slice.js';

const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
const GENERATED_FILE = 'src/generated/aitoearn.ts';
const OPENAPI_TYPESCRIPT = 'node_modules/openapi-typescript/bin/cli.js';
const TSC = 'node_modules/typescript/bin/tsc';
/** The real upstream document is 0.8 MB; twenty times that is not a spec. */
const MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_S = 30;

const USAGE = `Usage: npm run spec:update -- <file-or-url> [--adopt] [--keep] [--check]

Takes an upstream OpenAPI 3 document (JSON or YAML; a file, or an https URL), keeps the
operations this package calls and what they reference, and prints what changed in them.
Unless a change is breaking, it writes ${SPEC_FILE}, regenerates
${GENERATED_FILE} and type-checks the project; a failure puts everything back.

  --adopt          take breaking changes too (removed or retyped fields, changed status values)
  --keep           keep the new spec and types even when the project no longer type-checks
  --check          print the summary only; write nothing; exit 1 if anything that matters changed
  --timeout SECS   how long a download may take (default ${DEFAULT_TIMEOUT_S})
  --root DIR       the project to update (default: this repository)`;

/** A failure the user can act on: printed as a message, without a stack. */
class SpecUpdateError extends Error {
  override readonly name = 'SpecUpdateError';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `a ${typeof value}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https anywhere; plain http only to this machine (a local mirror, tests). */
function checkUrl(source: string): URL {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new SpecUpdateError(`Expected an https URL, got ${JSON.stringify(source)}.`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url;
  throw new SpecUpdateError(
    `Refusing to download ${url.href}: only https URLs are accepted (plain http only from this machine).`,
  );
}

async function download(source: string, timeoutMs: number): Promise<string> {
  const url = checkUrl(source);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.1' },
      signal,
    });
    if (response.redirected) checkUrl(response.url);
    if (!response.ok) {
      await response.body?.cancel();
      throw new SpecUpdateError(
        `Could not download ${url.href}: the server answered HTTP ${response.status}.`,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > MAX_BYTES) {
      await response.body?.cancel();
      throw new SpecUpdateError(tooLarge(url.href, declared));
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_BYTES) throw new SpecUpdateError(tooLarge(url.href, size, true));
      chunks.push(chunk);
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  } catch (error) {
    if (error instanceof SpecUpdateError) throw error;
    if (signal.aborted) {
      throw new SpecUpdateError(
        `Could not download ${url.href}: no complete answer within ${timeoutMs / 1000} s.`,
      );
    }
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new SpecUpdateError(`Could not download ${url.href}: ${errorMessage(error)}${cause}.`);
  }
}

function tooLarge(what: string, bytes: number, atLeast = false): string {
  return `Refusing ${what}: it is ${atLeast ? 'over ' : ''}${(bytes / 1024 / 1024).toFixed(1)} MB; a spec is at most ${
    MAX_BYTES / 1024 / 1024
  } MB here.`;
}

async function readSource(source: string, baseDir: string, timeoutMs: number): Promise<string> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return download(source, timeoutMs);
  const file = path.resolve(baseDir, source);
  try {
    const info = await stat(file);
    if (info.isDirectory())
      throw new SpecUpdateError(`Cannot read the spec file ${file}: it is a directory.`);
    if (info.size > MAX_BYTES) throw new SpecUpdateError(tooLarge(file, info.size));
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof SpecUpdateError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecUpdateError(
      `Cannot read the spec file ${file}: ${code === 'ENOENT' ? 'no such file' : errorMessage(error)}.`,
    );
  }
}

function parseSpec(text: string, source: string): Obj {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (jsonError) {
    try {
      doc = YAML.parse(text);
    } catch (yamlError) {
      // Report the error of the format the text was evidently meant to be in.
      const looksLikeJson = /^\s*[{[]/.test(text);
      const detail = printable(errorMessage(looksLikeJson ? jsonError : yamlError).split('\n')[0] ?? '');
      throw new SpecUpdateError(
        `${source} is neither JSON nor YAML (${looksLikeJson ? 'JSON' : 'YAML'} parser: ${detail}).`,
      );
    }
  }
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
  return doc;
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

/** openapi-typescript, on a copy of the slice outside the tree: a failure here touches nothing. */
async function generate(root: string, yaml: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aitoearn-spec-update-'));
  try {
    const spec = path.join(dir, 'aitoearn.openapi.yaml');
    const out = path.join(dir, 'aitoearn.ts');
    await writeFile(spec, yaml);
    const result = runNode(root, OPENAPI_TYPESCRIPT, [spec, '-o', out]);
    if (!result.ok) {
      throw new SpecUpdateError(
        `openapi-typescript could not generate types from the new slice; nothing was written:\n${result.output
          .split('\n')
          .map(printable)
          .join('\n')}`,
      );
    }
    return await readFile(out, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One type error, with the lines tsc printed under it. */
interface TypeError {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function typeErrors(output: string): TypeError[] {
  const errors: TypeError[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),\d+\): error TS\d+:/.exec(line);
    if (match?.[1] && match[2]) errors.push({ file: match[1], line: Number(match[2]), text: line });
    else if (errors.length > 0 && /^\s/.test(line) && line.trim() !== '') {
      const last = errors.pop() as TypeError;
      errors.push({ ...last, text: `${last.text}\n${line}` });
    }
  }
  return errors;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The upstream changes a type error most likely comes from: a field, parameter or enum value quoted in the
 * error, else one named on its source line; breaking changes first, since only they change the types.
 */
async function causes(root: string, error: TypeError, changes: readonly Change[]): Promise<Change[]> {
  const source = await readFile(path.resolve(root, error.file), 'utf8').then(
    (text) => text.split('\n')[error.line - 1] ?? '',
    () => '',
  );
  const tests = [
    (word: string) => new RegExp(`['"]${escapeRegExp(word)}['"]`).test(error.text),
    (word: string) => new RegExp(`(^|[^\\w-])${escapeRegExp(word)}($|[^\\w-])`).test(source),
  ];
  const ranked = [changes.filter((change) => change.severity === 'breaking'), changes];
  for (const test of tests) {
    for (const candidates of ranked) {
      const found = candidates.filter((change) => change.keywords.some(test));
      if (found.length > 0) return found;
    }
  }
  return [];
}

interface Options {
  readonly source: string;
  readonly root: string;
  readonly baseDir: string;
  readonly adopt: boolean;
  readonly keep: boolean;
  readonly check: boolean;
  readonly timeoutMs: number;
}

async function update(options: Options): Promise<number> {
  const { root, source } = options;
  const ok = await stat(path.join(root, 'package.json')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok)
    throw new SpecUpdateError(
      `Expected --root to be the project directory (with package.json), got ${root}.`,
    );

  const doc = parseSpec(await readSource(source, options.baseDir, options.timeoutMs), source);
  let slice: Obj;
  try {
    slice = sliceSpec(doc, source);
  } catch (error) {
    throw error instanceof SliceError ? new SpecUpdateError(error.message) : error;
  }
  const specFile = path.join(root, SPEC_FILE);
  const generatedFile = path.join(root, GENERATED_FILE);
  // The decoder's field table moves with the types (scripts/generate-checks.ts).
  const checksFile = path.join(root, CHECKS_FILE);
  const previousChecks = await readIfExists(checksFile);
  const previousText = await readIfExists(specFile);
  let previous: unknown;
  try {
    previous = previousText === undefined ? undefined : YAML.parse(previousText);
  } catch {
    console.log(`The current ${SPEC_FILE} does not parse; comparing against nothing.`);
  }

  const diff = diffSpecs(previous, slice);
  const operationCount = allOperations(doc).length;
  console.log(
    `${source}: OpenAPI ${String(doc.openapi)}, ${operationCount} operation${operationCount === 1 ? '' : 's'}; ` +
      `compared the ${diff.operations.filter((o) => o.name !== undefined).length} this package calls with ${SPEC_FILE}, $refs resolved:`,
  );
  console.log(formatDiff(diff));

  if (options.check) {
    if (diff.changes > 0) {
      console.error(
        diff.breaking > 0
          ? `Changes that matter, ${diff.breaking} of them breaking. Nothing was written (--check).`
          : 'Changes that matter, none breaking. Nothing was written (--check).',
      );
      return 1;
    }
    console.log('Nothing that matters changed. Nothing was written (--check).');
    return 0;
  }
  if (diff.breaking > 0 && !options.adopt) {
    console.error(
      `Refused: ${diff.breaking} breaking change${diff.breaking === 1 ? '' : 's'} (marked !). Nothing was written; ` +
        `${SPEC_FILE} and ${GENERATED_FILE} are as they were.\n` +
        'Pass --adopt to take them anyway (the type check then shows what they break).',
    );
    return 1;
  }

  const yaml = toYaml(slice);
  const generated = await generate(root, yaml);
  const previousGenerated = await readIfExists(generatedFile);
  if (yaml === previousText && generated === previousGenerated) {
    console.log(`${SPEC_FILE} and ${GENERATED_FILE} are up to date; nothing was written.`);
    return 0;
  }

  // From here on the tree changes: put it back on any failure, and on Ctrl-C.
  const restore = () => {
    for (const [file, text] of [
      [specFile, previousText],
      [generatedFile, previousGenerated],
      [checksFile, previousChecks],
    ] as const) {
      if (text === undefined) rmSync(file, { force: true });
      else writeFileSync(file, text);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await writeFile(specFile, yaml);
    await writeFile(generatedFile, generated);
    await writeFile(checksFile, generateChecks(yaml));
    console.log(
      `Wrote ${SPEC_FILE}${yaml === previousText ? ' (unchanged)' : ''} and ${GENERATED_FILE}${
        generated === previousGenerated ? ' (unchanged)' : ''
      }.`,
    );
    const typecheck = runNode(root, TSC, ['-p', 'tsconfig.json', '--noEmit']);
    if (typecheck.ok) {
      console.log('Type check passed.');
      return 0;
    }
    const errors = typeErrors(typecheck.output);
    const changes = diff.operations.flatMap((o) => o.changes);
    const lines: string[] = [];
    for (const error of errors) {
      lines.push(`  ${error.text.replaceAll('\n', '\n  ')}`);
      const found = await causes(root, error, changes);
      lines.push(
        ...(found.length > 0
          ? found.map((change) => `    ← upstream: ${printable(change.operation)}: ${printable(change.text)}`)
          : ['    ← no upstream change named in this error; see the summary above']),
      );
    }
    console.error(
      `The project no longer type-checks with the new spec (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${
        lines.length > 0 ? lines.join('\n') : typecheck.output
      }`,
    );
    if (options.keep) {
      console.error(
        `Kept the new ${SPEC_FILE} and ${GENERATED_FILE} (--keep): fix the code, or restore them with git.`,
      );
    } else {
      restore();
      console.error(
        `Restored ${SPEC_FILE} and ${GENERATED_FILE} as they were (pass --keep to keep the new ones).`,
      );
    }
    return 1;
  } catch (error) {
    restore();
    throw error;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
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
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [source, ...extra] = positionals;
  const timeoutS = Number(values.timeout ?? DEFAULT_TIMEOUT_S);
  const usage =
    source === undefined
      ? 'Missing the spec to read.'
      : extra.length > 0
        ? 'Expected one spec, got several.'
        : values.check && (values.adopt || values.keep)
          ? '--check writes nothing: it cannot be combined with --adopt or --keep.'
          : !(timeoutS > 0 && timeoutS <= 3600)
            ? `Expected --timeout to be a number of seconds from 0 to 3600, got ${JSON.stringify(values.timeout)}.`
            : undefined;
  if (usage !== undefined || source === undefined) {
    console.error(`${usage}\n\n${USAGE}`);
    return 2;
  }
  return update({
    source,
    root: path.resolve(values.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..')),
    // `npm run` starts scripts in the package root; a relative path means the directory npm was called from.
    baseDir:
      process.env.npm_lifecycle_event === 'spec:update' && process.env.INIT_CWD
        ? process.env.INIT_CWD
        : process.cwd(),
    adopt: values.adopt === true,
    keep: values.keep === true,
    check: values.check === true,
    timeoutMs: timeoutS * 1000,
  });
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      adopt: { type: 'boolean' },
      keep: { type: 'boolean' },
      check: { type: 'boolean' },
      timeout: { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
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
