/**
 * `npm run spec:update -- <file-or-url> [--adopt] [--keep] [--check] [--root DIR] [--timeout SECONDS]`
 *
 * Vendors the operations this package calls (`src/operations.ts`) out of an upstream OpenAPI 3 document,
 * prints what changed in them, and refuses breaking changes unless `--adopt` is given. When it writes, it
 * regenerates `src/generated/` and type-checks the project; if that fails, it names the upstream change
 * behind each error and puts everything back (unless `--keep`). Any failure, and any signal, leaves the
 * tree as it was. It opens nothing but the file or URL it is given: a document that refers elsewhere is
 * refused, so neither this command nor `npm run generate` ever fetches what the document names.
 *
 * Exit codes: 0 up to date, or updated and type-checks (with --check: nothing that matters changed);
 * 1 refused, failed, or no longer type-checks (with --check: something that matters changed); 2 usage;
 * 128 + the signal's number when interrupted (130 Ctrl-C, 129 a closed terminal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { CHECKS_FILE, generateChecks } from './generate-checks.js';
import { allOperations, type Change, diffSpecs, formatDiff } from './spec-diff.js';
import { isObject, type Obj, SpecError, sanitize, sliceSpec, toYaml } from './spec-slice.js';

const SPEC_FILE = 'openapi/aitoearn.openapi.yaml';
const GENERATED_FILE = 'src/generated/aitoearn.ts';
const OPENAPI_TYPESCRIPT = 'node_modules/openapi-typescript/bin/cli.js';
const TSC = 'node_modules/typescript/bin/tsc';
/** The real upstream document is 0.8 MB; twenty times that is not a spec. */
const MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_S = 30;
const MAX_REDIRECTS = 5;
/**
 * yaml's alias limit counts expansion (each use of an anchor times the aliases inside it), so one schema
 * reused a few hundred times passes and a "billion laughs" does not; the slice walk bounds the rest.
 */
const MAX_ALIAS_EXPANSIONS = 10_000;

const USAGE = `Usage: npm run spec:update -- <file-or-url> [--adopt] [--keep] [--check]

Takes an upstream OpenAPI 3.0 or 3.1 document (JSON or YAML; a file, or an https URL), keeps the
operations this package calls and what they reference, and prints what changed in them.
Unless a change is breaking, it writes ${SPEC_FILE}, regenerates
${GENERATED_FILE} and type-checks the project; a failure puts everything back.

  --adopt          take breaking changes too (removed or retyped fields, changed status values)
  --keep           keep the new spec and types even when the project no longer type-checks
  --check          print the summary only; write nothing; exit 1 if anything that matters changed
  --timeout SECS   how long a download may take (default ${DEFAULT_TIMEOUT_S})
  --root DIR       the project to update (default: this repository)`;

/** Where the output goes: the console, or a test's buffer. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** What an interruption must undo: the children running, the temporary folder, the files written. */
export interface Undo {
  readonly children: Set<ChildProcess>;
  dir: string | undefined;
  restore: (() => void) | undefined;
}

const consoleIo: Io = { out: (text) => console.log(text), err: (text) => console.error(text) };

/** Every line on its way out passes the escaper, whatever it quotes; document text is escaped where quoted. */
const escapedLines = (text: string) => text.split('\n').map(sanitize).join('\n');

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(value: unknown): string {
  if (value === undefined) return 'none';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the text ${sanitize(JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value))}`;
  return `a ${typeof value}`;
}

/** A URL as shown: a user name or password in it becomes `***`. */
function redact(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1***@');
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * https anywhere; plain http only to this machine (a local mirror, tests); no credentials. A redirect
 * (`from`) is held to the same rules, and may not lead from elsewhere to this machine.
 */
function checkUrl(source: string, from?: URL): URL {
  const what = from === undefined ? 'download' : `follow the redirect from ${from.href} to`;
  let url: URL;
  try {
    url = new URL(source, from);
  } catch {
    throw new SpecError(`Expected an https URL, got ${JSON.stringify(redact(source))}.`);
  }
  const shown = redact(url.href);
  if (url.username !== '' || url.password !== '') {
    throw new SpecError(
      `Refusing to ${what} ${shown}: it holds a user name or password, which this command does not send. Download the file yourself and pass its path.`,
    );
  }
  if (from !== undefined && !LOOPBACK.has(from.hostname) && LOOPBACK.has(url.hostname)) {
    throw new SpecError(`Refusing to ${what} ${shown}: a server elsewhere may not send it to this machine.`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url;
  throw new SpecError(
    `Refusing to ${what} ${shown}: only https URLs are accepted (plain http only from this machine).`,
  );
}

async function download(source: string, timeoutMs: number): Promise<string> {
  let url = checkUrl(source);
  const signal = AbortSignal.timeout(timeoutMs);
  const get = (target: URL) =>
    fetch(target, {
      headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.1' },
      signal,
      redirect: 'manual',
    });
  try {
    // Redirects are followed by hand, so that each hop is checked before anything is sent to it.
    let response = await get(url);
    for (let hops = 0; response.status >= 300 && response.status < 400; hops += 1) {
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (location === null || hops === MAX_REDIRECTS) {
        throw new SpecError(
          `Could not download ${url.href}: ${location === null ? `HTTP ${response.status} without a Location` : `more than ${MAX_REDIRECTS} redirects`}.`,
        );
      }
      url = checkUrl(location, url);
      response = await get(url);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new SpecError(`Could not download ${url.href}: the server answered HTTP ${response.status}.`);
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > MAX_BYTES) {
      await response.body?.cancel();
      throw new SpecError(tooLarge(url.href, declared));
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_BYTES) throw new SpecError(tooLarge(url.href, size, true));
      chunks.push(chunk);
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  } catch (error) {
    if (error instanceof SpecError) throw error;
    if (signal.aborted) {
      throw new SpecError(`Could not download ${url.href}: no complete answer within ${timeoutMs / 1000} s.`);
    }
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new SpecError(`Could not download ${url.href}: ${errorMessage(error)}${cause}.`);
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
    if (info.isDirectory()) throw new SpecError(`Cannot read the spec file ${file}: it is a directory.`);
    if (info.size > MAX_BYTES) throw new SpecError(tooLarge(file, info.size));
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof SpecError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(
      `Cannot read the spec file ${file}: ${code === 'ENOENT' ? 'no such file' : errorMessage(error)}.`,
    );
  }
}

/**
 * Text that starts with `{` or `[` is JSON and read strictly (a trailing comma is refused, not read as
 * YAML); a byte-order mark is skipped; anything else is YAML.
 */
function parseSpec(text: string, label: string): { doc: Obj; format: 'JSON' | 'YAML' } {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const format = /^\s*[{[]/.test(body) ? 'JSON' : 'YAML';
  let doc: unknown;
  try {
    doc =
      format === 'JSON'
        ? JSON.parse(body)
        : YAML.parse(body, { maxAliasCount: MAX_ALIAS_EXPANSIONS, logLevel: 'error' });
  } catch (error) {
    const detail = sanitize(errorMessage(error).split('\n')[0] ?? '');
    throw new SpecError(`${label} is not valid ${format} (${format} parser: ${detail}).`);
  }
  if (!isObject(doc)) {
    throw new SpecError(
      `${label} is not an OpenAPI 3 document: expected a mapping at the top level, got ${describe(doc)}.`,
    );
  }
  if (doc.swagger !== undefined) {
    throw new SpecError(
      `${label} is a Swagger document ("swagger": ${describe(doc.swagger)}); expected OpenAPI 3.0 or 3.1.`,
    );
  }
  if (typeof doc.openapi !== 'string' || !/^3\.[01]\.\d{1,3}$/.test(doc.openapi)) {
    throw new SpecError(
      `${label} is not an OpenAPI 3.0 or 3.1 document: expected an "openapi" field such as "3.0.1", got ${describe(doc.openapi)}.`,
    );
  }
  if (!isObject(doc.paths)) {
    throw new SpecError(`${label} is not an OpenAPI 3 document: it has no "paths" object.`);
  }
  return { doc, format };
}

const readIfExists = (file: string) =>
  readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });

/**
 * Runs a Node CLI of the project with the current Node binary (never through npx), registered in `undo`
 * so that a signal stops it at once. A child stopped by a signal is an interruption, never a failed check.
 */
function runNode(root: string, script: string, args: readonly string[], undo: Undo) {
  return new Promise<{ ok: boolean; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, script), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    undo.children.add(child);
    const chunks: string[] = [];
    for (const stream of [child.stdout, child.stderr])
      stream.setEncoding('utf8').on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      undo.children.delete(child);
      if (signal === null) resolve({ ok: code === 0, output: chunks.join('').trim() });
      else reject(new SpecError(`Interrupted: ${path.basename(script)} was stopped by ${signal}.`));
    });
  });
}

/** openapi-typescript, on a copy of the slice outside the tree: a failure here touches nothing. */
async function generate(root: string, yaml: string, undo: Undo): Promise<string> {
  // Synchronous, so that no signal can arrive between creating the folder and registering it.
  const dir = mkdtempSync(path.join(tmpdir(), 'aitoearn-spec-update-'));
  undo.dir = dir;
  try {
    const spec = path.join(dir, 'aitoearn.openapi.yaml');
    const out = path.join(dir, 'aitoearn.ts');
    await writeFile(spec, yaml);
    const result = await runNode(root, OPENAPI_TYPESCRIPT, [spec, '-o', out], undo);
    if (!result.ok) {
      throw new SpecError(
        `openapi-typescript could not generate types from the new slice; nothing was written:\n${escapedLines(result.output)}`,
      );
    }
    return await readFile(out, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
    undo.dir = undefined;
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

async function update(options: Options, io: Io, undo: Undo): Promise<number> {
  const { root } = options;
  const label = sanitize(redact(options.source));
  const ok = await stat(path.join(root, 'package.json')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok)
    throw new SpecError(`Expected --root to be the project directory (with package.json), got ${root}.`);

  const text = await readSource(options.source, options.baseDir, options.timeoutMs);
  const { doc, format } = parseSpec(text, label);
  const slice = sliceSpec(doc, label);
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
    io.out(`The current ${SPEC_FILE} does not parse; comparing against nothing.`);
  }

  const diff = diffSpecs(previous, slice);
  const operationCount = allOperations(doc).length;
  io.out(
    `${label} (read as ${format}): OpenAPI ${doc.openapi}, ${operationCount} operation${operationCount === 1 ? '' : 's'}; ` +
      `compared the ${diff.operations.filter((o) => o.name !== undefined).length} this package calls with ${SPEC_FILE}, $refs resolved:`,
  );
  io.out(formatDiff(diff));

  if (options.check) {
    if (diff.changes > 0) {
      io.err(
        diff.breaking > 0
          ? `Changes that matter, ${diff.breaking} of them breaking. Nothing was written (--check).`
          : 'Changes that matter, none breaking. Nothing was written (--check).',
      );
      return 1;
    }
    io.out('Nothing that matters changed. Nothing was written (--check).');
    return 0;
  }
  if (diff.breaking > 0 && !options.adopt) {
    io.err(
      `Refused: ${diff.breaking} breaking change${diff.breaking === 1 ? '' : 's'} (marked !). Nothing was written; ` +
        `${SPEC_FILE} and ${GENERATED_FILE} are as they were.\n` +
        'Pass --adopt to take them anyway (the type check then shows what they break).',
    );
    return 1;
  }

  const yaml = toYaml(slice);
  const generated = await generate(root, yaml, undo);
  const previousGenerated = await readIfExists(generatedFile);
  if (yaml === previousText && generated === previousGenerated) {
    io.out(`${SPEC_FILE} and ${GENERATED_FILE} are up to date; nothing was written.`);
    return 0;
  }

  // From here on the tree changes: put it back on any failure, and on any signal (synchronously).
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
  undo.restore = restore;
  try {
    await writeFile(specFile, yaml);
    await writeFile(generatedFile, generated);
    await writeFile(checksFile, generateChecks(yaml));
    io.out(
      `Wrote ${SPEC_FILE}${yaml === previousText ? ' (unchanged)' : ''} and ${GENERATED_FILE}${
        generated === previousGenerated ? ' (unchanged)' : ''
      }.`,
    );
    const typecheck = await runNode(root, TSC, ['-p', 'tsconfig.json', '--noEmit'], undo);
    if (typecheck.ok) {
      io.out('Type check passed.');
      return 0;
    }
    const errors = typeErrors(typecheck.output);
    const changes = diff.operations.flatMap((o) => o.changes);
    const lines: string[] = [];
    for (const error of errors) {
      lines.push(`  ${escapedLines(error.text).replaceAll('\n', '\n  ')}`);
      const found = await causes(root, error, changes);
      lines.push(
        ...(found.length > 0
          ? found.map((change) => `    ← upstream: ${sanitize(change.operation)}: ${sanitize(change.text)}`)
          : ['    ← no upstream change named in this error; see the summary above']),
      );
    }
    io.err(
      `The project no longer type-checks with the new spec (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${
        lines.length > 0 ? lines.join('\n') : escapedLines(typecheck.output)
      }`,
    );
    if (options.keep) {
      undo.restore = undefined;
      io.err(
        `Kept the new ${SPEC_FILE} and ${GENERATED_FILE} (--keep): fix the code, or restore them with git.`,
      );
    } else {
      restore();
      io.err(`Restored ${SPEC_FILE} and ${GENERATED_FILE} as they were (pass --keep to keep the new ones).`);
    }
    return 1;
  } catch (error) {
    restore();
    throw error;
  } finally {
    undo.restore = undefined;
  }
}

/**
 * The command, callable in-process (tests pass an `io` that collects the output). Returns the exit code;
 * a refusal is printed and gives 1. `undo` is what the signal handlers of the real process undo.
 */
export async function main(
  argv: readonly string[],
  io: Io = consoleIo,
  undo: Undo = { children: new Set(), dir: undefined, restore: undefined },
): Promise<number> {
  const safe: Io = { out: (text) => io.out(escapedLines(text)), err: (text) => io.err(escapedLines(text)) };
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    safe.err(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    safe.out(USAGE);
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
            ? `Expected --timeout to be a number of seconds greater than 0 and at most 3600, got ${JSON.stringify(values.timeout)}.`
            : undefined;
  if (usage !== undefined || source === undefined) {
    safe.err(`${usage}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await update(
      {
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
      },
      safe,
      undo,
    );
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    safe.err(error.message);
    return 1;
  }
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

const invoked = process.argv[1];
if (invoked !== undefined && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
  const undo: Undo = { children: new Set(), dir: undefined, restore: undefined };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // Synchronous: nothing else runs until the children are gone and the tree is back.
      for (const child of undo.children) child.kill('SIGKILL');
      if (undo.dir !== undefined) rmSync(undo.dir, { recursive: true, force: true });
      undo.restore?.();
      console.error(`Interrupted by ${signal}: ${SPEC_FILE} and ${GENERATED_FILE} are as they were.`);
      process.exit(128 + constants.signals[signal]);
    });
  }
  main(process.argv.slice(2), consoleIo, undo).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(escapedLines(error instanceof Error ? (error.stack ?? error.message) : String(error)));
      process.exitCode = 1;
    },
  );
}
