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
import {
  HTTP_METHODS,
  isObject,
  LIMITS,
  type Obj,
  operationKey,
  pointer,
  SpecError,
  sanitize,
} from './spec-slice.js';

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

/** What inlining one operation may still spend, and its name for the message when it runs out. */
interface Budget {
  left: number;
  readonly operation: string;
}

/**
 * A copy of `value` with every local `$ref` replaced by its target; a cycle through a schema ends in
 * `{ $ref: … }`. `chain` holds the references followed since the last real schema: one seen again there is a
 * cycle of bare references, which no generator can turn into a type.
 */
function inline(
  doc: unknown,
  value: unknown,
  budget: Budget,
  depth = 0,
  stack: readonly string[] = [],
  chain: readonly string[] = [],
): unknown {
  budget.left -= 1;
  if (budget.left < 0 || depth > LIMITS.depth) {
    throw new SpecError(
      `Refusing to compare ${budget.operation}: with its $refs resolved it holds more than ${
        budget.left < 0
          ? `${LIMITS.values.toLocaleString('en')} values (a $ref fan-out)`
          : `${LIMITS.depth} levels`
      }. Nothing was written.`,
    );
  }
  if (Array.isArray(value)) return value.map((item) => inline(doc, item, budget, depth + 1, stack));
  if (!isObject(value)) return value;
  if (typeof value.$ref === 'string') {
    const ref = value.$ref;
    if (chain.includes(ref)) {
      throw new SpecError(
        `Refusing ${budget.operation}: its $refs form a cycle with no schema in between, ${sanitize(
          [...chain.slice(chain.indexOf(ref)), ref].join(' → '),
        )}. Nothing was written.`,
      );
    }
    const target = pointer(doc, ref);
    if (target === undefined || stack.includes(ref)) return { $ref: ref };
    return inline(doc, target, budget, depth + 1, [...stack, ref], [...chain, ref]);
  }
  const out: Obj = {};
  for (const [key, inner] of Object.entries(value)) {
    if (!key.startsWith('x-')) out[key] = inline(doc, inner, budget, depth + 1, stack);
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

function change(
  operation: string,
  severity: Severity,
  sign: Change['sign'],
  text: string,
  keywords: readonly string[] = [],
): Change {
  return { operation, severity, sign, text, keywords };
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

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
  /** What the package would send and where, as it applies to this operation (its own, or the document's). */
  readonly effective: { readonly servers: string; readonly security: string; readonly tags: string };
}

/** Effective security as `apiKey header X-Api-Key or none`: scheme names do not matter, what is sent does. */
function securityOf(doc: unknown, requirements: unknown, budget: Budget): string {
  if (!Array.isArray(requirements) || requirements.length === 0) return 'none';
  const components = isObject(doc) && isObject(doc.components) ? doc.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const scheme = (name: string) => {
    const value = inline(doc, Object.hasOwn(schemes, name) ? schemes[name] : undefined, budget);
    if (!isObject(value)) return `undefined scheme ${name}`;
    return [value.type, value.in, value.name ?? value.scheme].filter((v) => typeof v === 'string').join(' ');
  };
  const alternatives = requirements.map((requirement) =>
    isObject(requirement) && Object.keys(requirement).length > 0
      ? Object.keys(requirement).map(scheme).join(' + ')
      : 'none',
  );
  return [...new Set(alternatives)].join(' or ');
}

function urlsOf(servers: unknown): string {
  return Array.isArray(servers)
    ? servers.map((server) => (isObject(server) ? show(server.url) : show(server))).join(', ')
    : '(none)';
}

/**
 * An example's value with its `message` texts taken out: the API words them per `Accept-Language` and
 * nothing matches on them, so an example whose only change is a translated message is a text edit.
 */
function exampleFacts(value: unknown): { shape: string; message: string } {
  const messages: string[] = [];
  const shape = JSON.stringify(value, (key, inner: unknown) => {
    if (key !== 'message' || typeof inner !== 'string') return inner;
    messages.push(inner);
    return '';
  });
  return { shape: shape ?? '', message: messages.join('\n') };
}

function operationFacts(doc: unknown, path: string, method: string): OperationFacts | undefined {
  const budget = { left: LIMITS.values, operation: operationKey({ method, path }) };
  const item = inline(doc, isObject(doc) && isObject(doc.paths) ? doc.paths[path] : undefined, budget);
  if (!isObject(item) || !isObject(item[method])) return undefined;
  const top = isObject(doc) ? doc : {};
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
  const textMap = new Map<string, string>();
  const objects = new Set<string>();
  texts(operation, '', textMap, objects);
  const examples = new Map<string, string>();
  const named = Object.entries(isObject(json.examples) ? json.examples : {}).map(
    ([name, example]) => [name, isObject(example) ? example.value : example, example] as const,
  );
  if (json.example !== undefined) named.push(['(example)', json.example, undefined]);
  for (const [name, value, example] of named) {
    const { shape, message } = exampleFacts(value);
    examples.set(name, shape);
    objects.add(`/examples/${name}`);
    textMap.set(`/examples/${name}/message`, message);
    if (isObject(example) && typeof example.summary === 'string')
      textMap.set(`/examples/${name}/summary`, example.summary);
  }
  return {
    operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
    deprecated: operation.deprecated === true,
    parameters,
    fields,
    examples,
    texts: textMap,
    objects,
    effective: {
      servers: urlsOf(operation.servers ?? item.servers ?? inline(doc, top.servers, budget)),
      security: securityOf(doc, operation.security ?? top.security, budget),
      tags: Array.isArray(operation.tags) ? operation.tags.map(show).join(', ') : '(none)',
    },
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
  const add = (breaking: boolean, sign: Change['sign'], text: string, keywords: string[]) =>
    changes.push(change(operation, breaking ? 'breaking' : 'change', sign, text, keywords));
  const parentOf = (name: string) => name.replace(/(\[\])+$/, '').replace(/\.[^.]+$|\[\]$/, '');
  const hasParent = (name: string, other: Map<string, FieldFacts>) =>
    isParameter || !name.includes('.') || other.has(parentOf(name));
  const presence = (f: FieldFacts) => `${describeType(f)}, ${f.required ? 'required' : 'optional'}`;
  for (const [name, old] of before) {
    // A removed array's items are reported as the array's removal.
    if (after.has(name) || !hasParent(name, after) || name.endsWith('[]')) continue;
    add(true, '-', `${name}: removed (was ${presence(old)})`, [leaf(name)]);
  }
  for (const [name, now] of after) {
    const old = before.get(name);
    if (old === undefined) {
      if (hasParent(name, before) && !name.endsWith('[]'))
        add(isParameter && now.required, '+', `${name}: added (${presence(now)})`, [leaf(name)]);
      continue;
    }
    const key = [leaf(name)];
    if (old.type !== now.type) add(true, '~', `${name}: type ${old.type} → ${now.type}`, key);
    if (old.required !== now.required) {
      // A field that may now be missing breaks its readers; a parameter that must now be sent breaks callers.
      const text = now.required ? 'now required' : 'no longer required';
      add(isParameter ? now.required : !now.required, '~', `${name}: ${text}`, key);
    }
    if (old.format !== now.format) {
      const text =
        now.format === undefined
          ? `format ${old.format} dropped`
          : old.format === undefined
            ? `format ${now.format} added`
            : `format ${old.format} → ${now.format}`;
      add(false, '~', `${name}: ${text}`, key);
    }
    if (old.nullable !== now.nullable) {
      const text = now.nullable ? 'now nullable' : 'no longer nullable';
      add(!isParameter && now.nullable, '~', `${name}: ${text}`, key);
    }
    const status = isStatus && name === STATUS_FIELD;
    const [was, is] = [old.enumValues, now.enumValues];
    if (was !== undefined && is === undefined) {
      const note = status
        ? ' (the waiter narrows it at run time: an unknown status counts as pending, warned once)'
        : '';
      add(status, '~', `${name}: enum (${list(was)}) dropped, now any ${now.type}${note}`, key);
    } else if (was === undefined && is !== undefined) {
      add(isParameter || status, '~', `${name}: enum added, only ${list(is)} (was any ${old.type})`, [
        ...key,
        ...is,
      ]);
    } else if (was !== undefined && is !== undefined) {
      const added = is.filter((v) => !was.includes(v));
      const removed = was.filter((v) => !is.includes(v));
      const values = (v: readonly string[]) => `${name}: enum value${v.length > 1 ? 's' : ''} ${list(v)}`;
      const note = status ? ' (a new status the waiter does not handle)' : '';
      if (added.length > 0) add(status, '+', `${values(added)} added${note}`, [...key, ...added]);
      if (removed.length > 0)
        add(status || isParameter, '-', `${values(removed)} removed`, [...key, ...removed]);
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
  const add = (severity: Severity, sign: Change['sign'], text: string) =>
    changes.push(change(operation, severity, sign, text));
  if (before.operationId !== after.operationId)
    add('change', '~', `operationId ${before.operationId ?? '(none)'} → ${after.operationId ?? '(none)'}`);
  if (before.deprecated !== after.deprecated)
    add('change', '~', after.deprecated ? 'now deprecated' : 'no longer deprecated');
  for (const key of ['servers', 'security', 'tags'] as const) {
    const [old, now] = [before.effective[key], after.effective[key]];
    // The client sends the API key one way: losing a way (not renaming its scheme) can break every call.
    const lost = key === 'security' && old.split(' or ').some((way) => !now.split(' or ').includes(way));
    if (old !== now) add(lost ? 'breaking' : 'change', '~', `${key}: ${old} → ${now}`);
  }
  changes.push(...compareMembers(operation, isStatus, before.parameters, after.parameters, true));
  const fields = compareMembers(operation, isStatus, before.fields, after.fields, false);
  changes.push(...fields.map((c) => ({ ...c, text: `answer ${c.text}` })));
  for (const [name, value] of before.examples) {
    if (!after.examples.has(name)) add('change', '-', `example ${name} removed`);
    else if (after.examples.get(name) !== value) add('change', '~', `example ${name} changed`);
  }
  for (const name of after.examples.keys()) {
    if (!before.examples.has(name)) add('change', '+', `example ${name} added`);
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
      const only =
        now === undefined
          ? change(operation, 'breaking', '-', 'operation removed')
          : change(operation, 'change', '+', `operation added (${now.operationId ?? 'no operationId'})`);
      summaries.push({ operation, name, changes: [only], textEdits: 0 });
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
      changes: [change(operation, 'change', '-', text)],
      textEdits: 0,
    });
  }
  const versions = [before, after].map((doc) => (isObject(doc) ? show(doc.openapi) : undefined));
  if (versions[0] !== undefined && versions[0] !== versions[1]) {
    const text = `openapi ${versions[0]} → ${versions[1]}`;
    summaries.unshift({
      operation: 'the document',
      name: undefined,
      changes: [change('the document', 'change', '~', text)],
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
 * The summary as printed: one block per operation, one line per change, `!` marking a breaking one.
 *
 * @example
 * console.log(formatDiff(diffSpecs(vendored, upstream)));
 */
export function formatDiff(diff: SpecDiff): string {
  const lines: string[] = [];
  for (const summary of diff.operations) {
    if (summary.changes.length === 0 && summary.textEdits === 0) continue;
    lines.push(`${sanitize(summary.operation)}${summary.name === undefined ? '' : `  (${summary.name})`}`);
    for (const change of summary.changes) {
      lines.push(`  ${change.severity === 'breaking' ? '!' : change.sign} ${sanitize(change.text)}`);
    }
    if (summary.textEdits > 0) {
      lines.push(
        `  ~ ${plural(summary.textEdits, 'text edit')} (summary, description, title, example), not listed`,
      );
    }
  }
  if (lines.length === 0) return 'No changes to the operations this package uses.';
  const totals =
    `${plural(diff.changes, 'change')}, ${diff.breaking} breaking (marked !)` +
    (diff.textEdits > 0 ? `, ${plural(diff.textEdits, 'text edit')}` : '');
  return `${lines.join('\n')}\n${totals}.`;
}
