/**
 * Pure comparison of two OpenAPI documents, for `npm run spec:update`: which operations came and went, and
 * how `components.schemas.AuthSessionStatusVo` — the shape the client, the waiter and the sandbox rely on —
 * changed. One line per change; no I/O.
 */

/** The "query authorization status" operation this package is built on. */
export const STATUS_PATH = '/api/v2/channels/accounts/auth/{platform}/status/{sessionId}';
/** The schema of that operation's `data`. */
export const STATUS_SCHEMA = 'AuthSessionStatusVo';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every operation of a document, keyed `METHOD /path`, in document order, with its operationId. */
export function listOperations(doc: unknown): Map<string, string | undefined> {
  const operations = new Map<string, string | undefined>();
  const paths = isObject(doc) && isObject(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const id = typeof operation.operationId === 'string' ? operation.operationId : undefined;
      operations.set(`${method.toUpperCase()} ${path}`, id);
    }
  }
  return operations;
}

/** What matters about one property of the status schema, wherever it is nested. */
interface PropertyFacts {
  readonly type: string;
  readonly required: boolean;
  readonly enumValues: readonly unknown[] | undefined;
  /** The path of the enclosing property, `''` at the top. */
  readonly parent: string;
}

/** Follows a local `$ref` (`#/components/schemas/X`); anything else is returned as it is. */
function resolve(doc: unknown, schema: unknown, depth = 0): unknown {
  if (!isObject(schema) || typeof schema.$ref !== 'string' || !schema.$ref.startsWith('#/') || depth > 20) {
    return schema;
  }
  let target: unknown = doc;
  for (const raw of schema.$ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    target = isObject(target) ? target[key] : undefined;
  }
  return target === undefined ? schema : resolve(doc, target, depth + 1);
}

/** Properties and required names of an object schema, with `allOf` members merged in. */
function objectParts(doc: unknown, schema: Obj): { properties: Obj; required: Set<string> } {
  const properties: Obj = {};
  const required = new Set<string>();
  const parts = [
    schema,
    ...(Array.isArray(schema.allOf) ? schema.allOf.map((part) => resolve(doc, part)) : []),
  ];
  for (const part of parts) {
    if (!isObject(part)) continue;
    if (isObject(part.properties)) Object.assign(properties, part.properties);
    if (Array.isArray(part.required)) {
      for (const name of part.required) if (typeof name === 'string') required.add(name);
    }
  }
  return { properties, required };
}

/** A short type label such as `string`, `string enum`, `string (date-time)`, `array<object>`, `number | null`. */
function typeLabel(doc: unknown, raw: unknown, depth = 0): string {
  const schema = resolve(doc, raw);
  if (!isObject(schema)) return 'any';
  if (typeof schema.$ref === 'string') return `unresolved ${schema.$ref}`;
  let label: string;
  if (Array.isArray(schema.type)) label = schema.type.map(String).join(' | ');
  else if (typeof schema.type === 'string') label = schema.type;
  else if (isObject(schema.properties) || Array.isArray(schema.allOf)) label = 'object';
  else if (Array.isArray(schema.oneOf)) label = 'oneOf';
  else if (Array.isArray(schema.anyOf)) label = 'anyOf';
  else label = 'any';
  if (label === 'array') label = `array<${depth < 5 ? typeLabel(doc, schema.items, depth + 1) : '…'}>`;
  if (typeof schema.format === 'string') label += ` (${schema.format})`;
  if (Array.isArray(schema.enum)) label += ' enum';
  if (schema.nullable === true) label += ' | null';
  return label;
}

/**
 * Flattens an object schema into `name`, `accounts[].platform`, … so that nested changes get a precise name.
 * `seen` holds the schemas on the current branch, so a recursive `$ref` ends instead of looping.
 */
function flatten(
  doc: unknown,
  raw: unknown,
  prefix: string,
  out: Map<string, PropertyFacts>,
  seen: Set<unknown>,
): void {
  const schema = resolve(doc, raw);
  if (!isObject(schema) || seen.has(schema)) return;
  seen.add(schema);
  const { properties, required } = objectParts(doc, schema);
  for (const [name, rawProperty] of Object.entries(properties)) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const property = resolve(doc, rawProperty);
    out.set(path, {
      type: typeLabel(doc, property),
      required: required.has(name),
      enumValues: isObject(property) && Array.isArray(property.enum) ? property.enum : undefined,
      parent: prefix,
    });
    // Walk into objects and into the items of arrays (`accounts[]`), however deep.
    let inner = property;
    let innerPath = path;
    while (isObject(inner) && inner.type === 'array') {
      inner = resolve(doc, inner.items);
      innerPath += '[]';
    }
    flatten(doc, inner, innerPath, out, seen);
  }
  seen.delete(schema);
}

function statusSchema(doc: unknown): unknown {
  if (!isObject(doc) || !isObject(doc.components) || !isObject(doc.components.schemas)) return undefined;
  return doc.components.schemas[STATUS_SCHEMA];
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The enclosing path of `accounts[].platform` is `accounts`; it must exist on both sides to report a child. */
function parentExists(facts: PropertyFacts, other: Map<string, PropertyFacts>): boolean {
  return facts.parent === '' || other.has(facts.parent.replace(/(\[\])+$/, ''));
}

function diffStatusSchema(before: unknown, after: unknown): string[] {
  const oldSchema = statusSchema(before);
  const newSchema = statusSchema(after);
  if (oldSchema === undefined && newSchema === undefined) return [];
  if (oldSchema === undefined) return [`+ ${STATUS_SCHEMA}: schema added`];
  if (newSchema === undefined) return [`- ${STATUS_SCHEMA}: schema removed`];

  const oldProps = new Map<string, PropertyFacts>();
  const newProps = new Map<string, PropertyFacts>();
  flatten(before, oldSchema, '', oldProps, new Set());
  flatten(after, newSchema, '', newProps, new Set());

  const lines: string[] = [];
  for (const [path, facts] of oldProps) {
    if (!newProps.has(path) && parentExists(facts, newProps)) {
      lines.push(`- ${STATUS_SCHEMA}.${path}: property removed`);
    }
  }
  for (const [path, facts] of newProps) {
    const name = `${STATUS_SCHEMA}.${path}`;
    const old = oldProps.get(path);
    if (old === undefined) {
      if (parentExists(facts, oldProps)) {
        lines.push(`+ ${name}: property added (${facts.type}, ${facts.required ? 'required' : 'optional'})`);
      }
      continue;
    }
    if (old.required !== facts.required) {
      lines.push(`~ ${name}: now ${facts.required ? 'required' : 'optional'}`);
    }
    if (old.type !== facts.type) {
      lines.push(`~ ${name}: type changed from ${old.type} to ${facts.type}`);
    }
    if (old.enumValues !== undefined && facts.enumValues !== undefined) {
      const oldKeys = new Set(old.enumValues.map(show));
      const newKeys = new Set(facts.enumValues.map(show));
      for (const key of newKeys) if (!oldKeys.has(key)) lines.push(`+ ${name}: enum value ${key} added`);
      for (const key of oldKeys) if (!newKeys.has(key)) lines.push(`- ${name}: enum value ${key} removed`);
    }
  }
  return lines;
}

/**
 * Lists what changed from `before` to `after`, one human-readable line per change, prefixed `+` (added),
 * `-` (removed) or `~` (changed). An empty list means nothing this package depends on changed. Either
 * argument may be any parsed value; a missing part counts as empty.
 *
 * @example
 * diffSpecs(oldDoc, newDoc);
 * // ['+ operation GET /api/v2/foo (FooController_get)', '+ AuthSessionStatusVo.status: enum value "cancelled" added']
 */
export function diffSpecs(before: unknown, after: unknown): string[] {
  const lines: string[] = [];
  const oldOps = listOperations(before);
  const newOps = listOperations(after);
  for (const [key, id] of newOps) {
    if (!oldOps.has(key)) lines.push(`+ operation ${key}${id === undefined ? '' : ` (${id})`}`);
  }
  for (const [key, id] of oldOps) {
    if (!newOps.has(key)) lines.push(`- operation ${key}${id === undefined ? '' : ` (${id})`}`);
  }
  lines.push(...diffStatusSchema(before, after));
  return lines;
}
