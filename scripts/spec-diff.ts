/**
 * Compares the package's operations in two OpenAPI documents, for `npm run spec:update`, after resolving
 * every `$ref`: inlining or renaming a schema is no change, and a schema no operation references is not
 * looked at. One change per line, each marked breaking or not; description edits are only counted. Pure.
 *
 * No library is used: the OpenAPI differs on npm are either wrappers of native binaries (@pb33f/openapi-changes),
 * large toolchains (@azure/oad) or unmaintained (openapi-schema-diff 0.0.1), and none knows which changes
 * break this package (a status enum, a field the client types expose). Two operations need a small walk.
 */
import { OPERATIONS } from '../src/operations.js';
import { HTTP_METHODS, isObject, type Obj, operationKey, pointer } from './spec-slice.js';

/** Whether a change can break code that builds on the vendored spec, or is only worth knowing. */
export type Severity = 'breaking' | 'change';

export interface Change {
  /** `METHOD /path` of the operation. */
  readonly operation: string;
  readonly severity: Severity;
  /** `+` added, `-` removed, `~` changed. */
  readonly sign: '+' | '-' | '~';
  /** One line, e.g. `data.errorCode: removed (was number, optional)`. */
  readonly text: string;
  /** Names a type error may mention when this change causes it: field names, parameter names, enum values. */
  readonly keywords: readonly string[];
}

export interface OperationSummary {
  /** `METHOD /path`. */
  readonly operation: string;
  /** The operation's name in `src/operations.ts` (`start`, `status`), or undefined for one the package does not use. */
  readonly name: string | undefined;
  readonly changes: readonly Change[];
  /** Summaries, descriptions, titles and example texts that changed: counted, not listed. */
  readonly textEdits: number;
}

export interface SpecDiff {
  readonly operations: readonly OperationSummary[];
  readonly breaking: number;
  /** Changes that matter (all but text edits). */
  readonly changes: number;
  readonly textEdits: number;
}

/** The field of the status answer whose values the waiter switches on. */
const STATUS_FIELD = 'data.status';
const TEXT_KEYS = new Set(['summary', 'description', 'title', 'example']);

/** A copy of `value` with every local `$ref` replaced by its target; a cycle ends in `{ $ref: … }`. */
function inline(doc: unknown, value: unknown, stack: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((item) => inline(doc, item, stack));
  if (!isObject(value)) return value;
  if (typeof value.$ref === 'string') {
    const ref = value.$ref;
    const target = pointer(doc, ref);
    if (target === undefined || stack.includes(ref)) return { $ref: ref };
    return inline(doc, target, [...stack, ref]);
  }
  const out: Obj = {};
  for (const [key, inner] of Object.entries(value)) {
    if (!key.startsWith('x-')) out[key] = inline(doc, inner, stack);
  }
  return out;
}

/** What matters about one schema, for comparing. */
interface SchemaFacts {
  readonly type: string;
  readonly format: string | undefined;
  readonly enumValues: readonly string[] | undefined;
  readonly nullable: boolean;
  /** For arrays, the type of the items; shown, not compared (the items are compared as `name[]`). */
  readonly items: string | undefined;
}

interface FieldFacts extends SchemaFacts {
  readonly required: boolean;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** `allOf` members merged into one object schema. */
function merged(schema: Obj): Obj {
  if (!Array.isArray(schema.allOf)) return schema;
  const properties: Obj = {};
  const required: unknown[] = [];
  let rest: Obj = {};
  for (const part of [schema, ...schema.allOf.map((p) => (isObject(p) ? merged(p) : {}))]) {
    const { properties: props, required: req, allOf: _allOf, ...others } = part;
    rest = { ...others, ...rest };
    if (isObject(props)) Object.assign(properties, props);
    if (Array.isArray(req)) required.push(...req);
  }
  return { ...rest, type: rest.type ?? 'object', properties, required };
}

function facts(raw: unknown): SchemaFacts {
  const schema = isObject(raw) ? merged(raw) : {};
  let type: string;
  if (Array.isArray(schema.type)) type = schema.type.map(String).join(' | ');
  else if (typeof schema.type === 'string') type = schema.type;
  else if (isObject(schema.properties)) type = 'object';
  else if (Array.isArray(schema.oneOf)) type = 'oneOf';
  else if (Array.isArray(schema.anyOf)) type = 'anyOf';
  else if (typeof schema.$ref === 'string') type = `recursive ${schema.$ref}`;
  else type = 'any';
  return {
    type,
    format: typeof schema.format === 'string' ? schema.format : undefined,
    enumValues: Array.isArray(schema.enum) ? schema.enum.map(show) : undefined,
    nullable: schema.nullable === true || (Array.isArray(schema.type) && schema.type.includes('null')),
    items: type === 'array' ? facts(schema.items).type : undefined,
  };
}

/** Flattens an inlined schema into `data`, `data.accounts[]`, `data.accounts[].platform`, … */
function flatten(raw: unknown, prefix: string, required: boolean, out: Map<string, FieldFacts>): void {
  const schema = isObject(raw) ? merged(raw) : {};
  if (prefix !== '') out.set(prefix, { ...facts(schema), required });
  if (isObject(schema.properties)) {
    const names = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    for (const [name, inner] of Object.entries(schema.properties)) {
      flatten(inner, prefix === '' ? name : `${prefix}.${name}`, names.has(name), out);
    }
  }
  if (schema.type === 'array' && schema.items !== undefined) flatten(schema.items, `${prefix}[]`, true, out);
}

/** Strings under summary/description/title/example keys, by their path in the inlined operation. */
function texts(value: unknown, at: string, out: Map<string, string>, objects: Set<string>): void {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) texts(item, `${at}/${index}`, out, objects);
  } else if (isObject(value)) {
    objects.add(at);
    for (const [key, inner] of Object.entries(value)) {
      // Named examples are compared as examples; a `properties` entry called "description" is a field.
      if (key === 'examples') continue;
      if (TEXT_KEYS.has(key) && !at.endsWith('/properties')) out.set(`${at}/${key}`, show(inner));
      else texts(inner, `${at}/${key}`, out, objects);
    }
  }
}

interface OperationFacts {
  readonly operationId: string | undefined;
  readonly deprecated: boolean;
  readonly parameters: Map<string, FieldFacts>;
  readonly fields: Map<string, FieldFacts>;
  readonly examples: Map<string, string>;
  readonly texts: Map<string, string>;
  readonly objects: Set<string>;
}

function operationFacts(doc: unknown, path: string, method: string): OperationFacts | undefined {
  const item = inline(doc, isObject(doc) && isObject(doc.paths) ? doc.paths[path] : undefined);
  if (!isObject(item) || !isObject(item[method])) return undefined;
  const operation = item[method] as Obj;
  const parameters = new Map<string, FieldFacts>();
  const all = [
    ...(Array.isArray(item.parameters) ? item.parameters : []),
    ...(Array.isArray(operation.parameters) ? operation.parameters : []),
  ];
  for (const parameter of all) {
    if (!isObject(parameter)) continue;
    parameters.set(`${show(parameter.in)} parameter ${show(parameter.name)}`, {
      ...facts(parameter.schema),
      required: parameter.required === true,
    });
  }
  const responses = isObject(operation.responses) ? operation.responses : {};
  const ok = isObject(responses['200']) ? responses['200'] : {};
  const content = isObject(ok.content) ? ok.content : {};
  const json = isObject(content['application/json']) ? content['application/json'] : {};
  const fields = new Map<string, FieldFacts>();
  flatten(json.schema, '', true, fields);
  const examples = new Map<string, string>();
  if (isObject(json.examples)) {
    for (const [name, example] of Object.entries(json.examples)) {
      examples.set(name, JSON.stringify(isObject(example) ? example.value : example) ?? '');
    }
  }
  if (json.example !== undefined) examples.set('(example)', JSON.stringify(json.example) ?? '');
  const textMap = new Map<string, string>();
  const objects = new Set<string>();
  texts(operation, '', textMap, objects);
  if (isObject(json.examples)) {
    for (const [name, example] of Object.entries(json.examples)) {
      if (isObject(example) && typeof example.summary === 'string') {
        textMap.set(`/examples/${name}/summary`, example.summary);
        if (examples.has(name)) objects.add(`/examples/${name}`);
      }
    }
  }
  return {
    operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
    deprecated: operation.deprecated === true,
    parameters,
    fields,
    examples,
    texts: textMap,
    objects,
  };
}

function describeType(f: SchemaFacts): string {
  let label = f.items === undefined ? f.type : `${f.type}<${f.items}>`;
  if (f.format !== undefined) label += ` (${f.format})`;
  if (f.enumValues !== undefined) label += ` enum`;
  if (f.nullable) label += ' | null';
  return label;
}

function list(values: readonly string[]): string {
  return values.join(', ');
}

/** The last name in `data.accounts[].platform`: what a type error would quote. */
function leaf(name: string): string {
  return (name.split('.').at(-1) ?? name).replace(/(\[\])+$/, '').replace(/^\S+ parameter /, '');
}

/**
 * Compares one kind of member (answer fields or parameters). `isParameter` flips which direction of a
 * change is breaking: the package *reads* fields (removing, retyping or making one optional breaks it) and
 * *sends* parameters (removing, retyping, narrowing or requiring one breaks it).
 */
function compareMembers(
  operation: string,
  isStatus: boolean,
  before: Map<string, FieldFacts>,
  after: Map<string, FieldFacts>,
  isParameter: boolean,
): Change[] {
  const changes: Change[] = [];
  const add = (severity: Severity, sign: Change['sign'], text: string, keywords: string[]) =>
    changes.push({ operation, severity, sign, text, keywords });
  const parentOf = (name: string) => name.replace(/(\[\])+$/, '').replace(/\.[^.]+$|\[\]$/, '');
  const hasParent = (name: string, other: Map<string, FieldFacts>) =>
    isParameter || !name.includes('.') || other.has(parentOf(name));
  for (const [name, old] of before) {
    if (after.has(name) || !hasParent(name, after)) continue;
    if (name.endsWith('[]')) continue; // reported as the array's type change
    add(
      'breaking',
      '-',
      `${name}: removed (was ${describeType(old)}, ${old.required ? 'required' : 'optional'})`,
      [leaf(name)],
    );
  }
  for (const [name, now] of after) {
    const old = before.get(name);
    if (old === undefined) {
      if (!hasParent(name, before) || name.endsWith('[]')) continue;
      const breaking = isParameter && now.required;
      add(
        breaking ? 'breaking' : 'change',
        '+',
        `${name}: added (${describeType(now)}, ${now.required ? 'required' : 'optional'})`,
        [leaf(name)],
      );
      continue;
    }
    const key = [leaf(name)];
    if (old.type !== now.type) {
      add('breaking', '~', `${name}: type ${old.type} → ${now.type}`, key);
    }
    if (old.required !== now.required) {
      // A field that may now be missing breaks its readers; a parameter that must now be sent breaks callers.
      const breaking = isParameter ? now.required : !now.required;
      add(
        breaking ? 'breaking' : 'change',
        '~',
        `${name}: ${now.required ? 'now required' : 'no longer required'}`,
        key,
      );
    }
    if (old.format !== now.format) {
      const text =
        now.format === undefined
          ? `format ${old.format} dropped`
          : old.format === undefined
            ? `format ${now.format} added`
            : `format ${old.format} → ${now.format}`;
      add('change', '~', `${name}: ${text}`, key);
    }
    if (old.nullable !== now.nullable) {
      add(
        !isParameter && now.nullable ? 'breaking' : 'change',
        '~',
        `${name}: ${now.nullable ? 'now nullable' : 'no longer nullable'}`,
        key,
      );
    }
    const statusNote = isStatus && name === STATUS_FIELD;
    if (old.enumValues !== undefined && now.enumValues === undefined) {
      add(
        statusNote ? 'breaking' : 'change',
        '~',
        `${name}: enum (${list(old.enumValues)}) dropped, now any ${now.type}${
          statusNote
            ? ' (the waiter narrows it at run time: an unknown status counts as pending, warned once)'
            : ''
        }`,
        key,
      );
    } else if (old.enumValues === undefined && now.enumValues !== undefined) {
      add(
        isParameter || statusNote ? 'breaking' : 'change',
        '~',
        `${name}: enum added, only ${list(now.enumValues)} (was any ${old.type})`,
        [...key, ...now.enumValues],
      );
    } else if (old.enumValues !== undefined && now.enumValues !== undefined) {
      const added = now.enumValues.filter((v) => !old.enumValues?.includes(v));
      const removed = old.enumValues.filter((v) => !now.enumValues?.includes(v));
      if (added.length > 0) {
        add(
          statusNote ? 'breaking' : 'change',
          '+',
          `${name}: enum value${added.length > 1 ? 's' : ''} ${list(added)} added${
            statusNote ? ' (a new status the waiter does not handle)' : ''
          }`,
          [...key, ...added],
        );
      }
      if (removed.length > 0) {
        add(
          statusNote || isParameter ? 'breaking' : 'change',
          '-',
          `${name}: enum value${removed.length > 1 ? 's' : ''} ${list(removed)} removed`,
          [...key, ...removed],
        );
      }
    }
  }
  return changes;
}

function compareOperation(
  operation: string,
  isStatus: boolean,
  before: OperationFacts,
  after: OperationFacts,
) {
  const changes: Change[] = [];
  if (before.operationId !== after.operationId) {
    changes.push({
      operation,
      severity: 'change',
      sign: '~',
      text: `operationId ${before.operationId ?? '(none)'} → ${after.operationId ?? '(none)'}`,
      keywords: [],
    });
  }
  if (before.deprecated !== after.deprecated) {
    changes.push({
      operation,
      severity: 'change',
      sign: '~',
      text: after.deprecated ? 'now deprecated' : 'no longer deprecated',
      keywords: [],
    });
  }
  changes.push(...compareMembers(operation, isStatus, before.parameters, after.parameters, true));
  const fields = compareMembers(operation, isStatus, before.fields, after.fields, false);
  changes.push(...fields.map((change) => ({ ...change, text: `answer ${change.text}` })));
  for (const [name, value] of before.examples) {
    if (!after.examples.has(name))
      changes.push({
        operation,
        severity: 'change',
        sign: '-',
        text: `example ${name} removed`,
        keywords: [],
      });
    else if (after.examples.get(name) !== value)
      changes.push({
        operation,
        severity: 'change',
        sign: '~',
        text: `example ${name} changed`,
        keywords: [],
      });
  }
  for (const name of after.examples.keys()) {
    if (!before.examples.has(name))
      changes.push({ operation, severity: 'change', sign: '+', text: `example ${name} added`, keywords: [] });
  }
  let textEdits = 0;
  for (const [at, text] of after.texts) {
    const old = before.texts.get(at);
    if (old === undefined ? before.objects.has(at.replace(/\/[^/]+$/, '')) : old !== text) textEdits += 1;
  }
  for (const at of before.texts.keys()) {
    if (!after.texts.has(at) && after.objects.has(at.replace(/\/[^/]+$/, ''))) textEdits += 1;
  }
  return { changes, textEdits };
}

export function allOperations(doc: unknown): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const paths = isObject(doc) && isObject(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) if (isObject(item[method])) out.push({ method, path });
  }
  return out;
}

/**
 * Compares the package's operations from `before` (the vendored slice; anything, even undefined, for none)
 * to `after`. Operations `before` holds that the package does not use are reported as removed.
 *
 * @example
 * const diff = diffSpecs(vendored, upstream);
 * if (diff.breaking > 0) console.log(formatDiff(diff));
 */
export function diffSpecs(before: unknown, after: unknown): SpecDiff {
  const summaries: OperationSummary[] = [];
  for (const { name, method, path } of OPERATIONS) {
    const operation = operationKey({ method, path });
    const old = operationFacts(before, path, method);
    const now = operationFacts(after, path, method);
    if (old === undefined && now === undefined) continue;
    if (old === undefined || now === undefined) {
      summaries.push({
        operation,
        name,
        changes: [
          {
            operation,
            severity: now === undefined ? 'breaking' : 'change',
            sign: now === undefined ? '-' : '+',
            text:
              now === undefined
                ? 'operation removed'
                : `operation added (${now.operationId ?? 'no operationId'})`,
            keywords: [],
          },
        ],
        textEdits: 0,
      });
      continue;
    }
    summaries.push({ operation, name, ...compareOperation(operation, name === 'status', old, now) });
  }
  const used = new Set(OPERATIONS.map((o) => operationKey(o)));
  for (const extra of allOperations(before)) {
    const operation = operationKey(extra);
    if (used.has(operation)) continue;
    const text = allOperations(after).some((o) => operationKey(o) === operation)
      ? 'operation no longer vendored (the package does not call it)'
      : 'operation removed';
    summaries.push({
      operation,
      name: undefined,
      changes: [{ operation, severity: 'change', sign: '-', text, keywords: [] }],
      textEdits: 0,
    });
  }
  const changes = summaries.flatMap((s) => s.changes);
  return {
    operations: summaries,
    breaking: changes.filter((c) => c.severity === 'breaking').length,
    changes: changes.length,
    textEdits: summaries.reduce((sum, s) => sum + s.textEdits, 0),
  };
}

/**
 * Text from an untrusted document made safe for a terminal: control characters (escape sequences
 * included) and bidirectional overrides are shown as `\u{…}` instead of acting.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

/**
 * The summary as printed: one block per operation, one line per change, `!` marking a breaking one.
 *
 * @example
 * console.log(formatDiff(diffSpecs(vendored, upstream)));
 */
export function formatDiff(diff: SpecDiff): string {
  const lines: string[] = [];
  for (const summary of diff.operations) {
    if (summary.changes.length === 0 && summary.textEdits === 0) continue;
    lines.push(`${printable(summary.operation)}${summary.name === undefined ? '' : `  (${summary.name})`}`);
    for (const change of summary.changes) {
      lines.push(`  ${change.severity === 'breaking' ? '!' : change.sign} ${printable(change.text)}`);
    }
    if (summary.textEdits > 0) {
      lines.push(
        `  ~ ${summary.textEdits} text edit${summary.textEdits === 1 ? '' : 's'} (summary, description, title, example), not listed`,
      );
    }
  }
  if (lines.length === 0) return 'No changes to the operations this package uses.';
  const totals =
    `${diff.changes} change${diff.changes === 1 ? '' : 's'}, ${diff.breaking} breaking (marked !)` +
    (diff.textEdits > 0 ? `, ${diff.textEdits} text edit${diff.textEdits === 1 ? '' : 's'}` : '');
  return `${lines.join('\n')}\n${totals}.`;
}
