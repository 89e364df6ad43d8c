/**
 * Cuts the package's slice out of an upstream OpenAPI 3 document, for `npm run spec:update`: the operations
 * of `src/operations.ts` and everything they reference, transitively, and nothing else. Pure; no I/O.
 */
import YAML from 'yaml';
import { OPERATIONS } from '../src/operations.js';
import { printable as sanitize } from '../src/text.js';

// The one escaper for document text on its way to a terminal; the other scripts import it from here.
export { sanitize };

export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operation keys of an OpenAPI path item. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * The work a document may cause. The vendored slice holds about 400 values, 14 levels deep; a document
 * past these bounds (a `$ref` fan-out, a YAML alias bomb, 20,000 nested arrays) is refused, not walked.
 */
export const LIMITS = { values: 100_000, depth: 100 } as const;

/** A document this package refuses; the message names what is wrong and is printed without a stack. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/** `METHOD /path`, the name of an operation in every message. */
export function operationKey(operation: { readonly method: string; readonly path: string }): string {
  return `${operation.method.toUpperCase()} ${operation.path}`;
}

function unescapeToken(raw: string): string {
  let token = raw;
  try {
    token = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded after all: take it as written.
  }
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Reads a JSON pointer such as `#/components/schemas/X`; undefined when it leads nowhere. */
export function pointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let target: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = unescapeToken(raw);
    if (!isObject(target) || !Object.hasOwn(target, key)) return undefined;
    target = target[key];
  }
  return target;
}

/** Drops `x-` extensions (upstream's docs-site and backend annotations, with developers' local paths). */
function withoutExtensions(value: Obj): Obj {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-')));
}

interface Reference {
  readonly ref: string;
  /** Where it was found, e.g. `servers/0`. */
  readonly at: string;
}

/**
 * Every reference under `root` that openapi-typescript's resolver would follow: a `$ref`, an example's
 * `externalValue`, a discriminator mapping to a path or URL. Iterative and counted against `budget`, so that
 * deep nesting or YAML aliases cost a bounded walk; a value reached twice through an alias counts twice.
 */
function references(root: unknown, at: string, budget: { left: number }, source: string): Reference[] {
  const found: Reference[] = [];
  const stack: Array<[unknown, string, number]> = [[root, at, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [value, where, depth] = next;
    budget.left -= 1;
    if (budget.left < 0) {
      throw new SpecError(
        `${source} is too large to vendor: the operations this package calls and what they reference hold more than ${LIMITS.values.toLocaleString('en')} values. Refusing to update; nothing was written.`,
      );
    }
    if (depth > LIMITS.depth) {
      throw new SpecError(
        `${source} is nested more than ${LIMITS.depth} levels deep (at ${sanitize(where.length > 200 ? `${where.slice(0, 200)}…` : where)}). Refusing to update; nothing was written.`,
      );
    }
    if (typeof value !== 'object' || value === null) continue;
    if (isObject(value)) {
      if (typeof value.$ref === 'string') found.push({ ref: value.$ref, at: where });
      if (typeof value.externalValue === 'string')
        found.push({ ref: value.externalValue, at: `${where}/externalValue` });
      if (typeof value.propertyName === 'string' && isObject(value.mapping)) {
        for (const [key, target] of Object.entries(value.mapping)) {
          if (typeof target === 'string' && /^#|\//.test(target))
            found.push({ ref: target, at: `${where}/mapping/${key}` });
        }
      }
    }
    for (const [key, inner] of Object.entries(value)) stack.push([inner, `${where}/${key}`, depth + 1]);
  }
  return found;
}

/** `#/components/<section>/<name>` → [section, name]; other targets cannot be vendored. */
function componentOf(ref: string): [string, string] | undefined {
  const match = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!match?.[1] || !match[2]) return undefined;
  return [match[1], unescapeToken(match[2])];
}

/**
 * The slice of `doc` this package vendors: `openapi`, `info`, `servers`, `security`, the tags the kept
 * operations name, their path items (only the kept methods, plus path-level `parameters`), and the
 * components they reference transitively (security schemes included). `x-` extensions of operations and
 * path items are dropped. Key order follows the input, so the same input gives the same slice.
 * Throws {@link SpecError} when an operation is missing, when anything kept refers outside the document
 * (a file or URL that generating the types would open), or when it is past {@link LIMITS}.
 */
export function sliceSpec(doc: Obj, source: string): Obj {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const keptPaths: Obj = {};
  const missing: string[] = [];
  for (const operation of OPERATIONS) {
    const item = paths[operation.path];
    const found = isObject(item) ? item[operation.method] : undefined;
    if (!isObject(item) || !isObject(found)) {
      missing.push(operationKey(operation));
      continue;
    }
    const kept = isObject(keptPaths[operation.path])
      ? (keptPaths[operation.path] as Obj)
      : Object.fromEntries(
          Object.entries(withoutExtensions(item)).filter(
            ([key]) => !(HTTP_METHODS as readonly string[]).includes(key),
          ),
        );
    kept[operation.method] = withoutExtensions(found);
    keptPaths[operation.path] = kept;
  }
  if (missing.length > 0) {
    throw new SpecError(
      `${source} has no ${missing.join(' and no ')}, which this package calls. Refusing to update; nothing was written.`,
    );
  }

  const tagNames = new Set(
    Object.values(keptPaths).flatMap((item) =>
      Object.values(item as Obj).flatMap((op) => (isObject(op) && Array.isArray(op.tags) ? op.tags : [])),
    ),
  );
  const slice: Obj = { openapi: doc.openapi };
  if (doc.info !== undefined) slice.info = doc.info;
  if (doc.servers !== undefined) slice.servers = doc.servers;
  if (doc.security !== undefined) slice.security = doc.security;
  if (Array.isArray(doc.tags)) {
    const tags = doc.tags.filter((tag) => isObject(tag) && tagNames.has(tag.name));
    if (tags.length > 0) slice.tags = tags;
  }
  slice.paths = keptPaths;

  // Everything kept is walked for references, and so is each component as it is reached (once).
  const components = isObject(doc.components) ? doc.components : {};
  const kept = new Map<string, Set<string>>();
  const budget = { left: LIMITS.values };
  const queue = references(slice, '', budget, source);
  const keep = (section: string, name: string, value: unknown) => {
    const names = kept.get(section) ?? new Set<string>();
    kept.set(section, names);
    if (names.has(name)) return;
    names.add(name);
    queue.push(...references(value, `/components/${section}/${name}`, budget, source));
  };
  // Security requirements name their schemes by key: each is a reference to #/components/securitySchemes.
  const operations = Object.values(keptPaths).flatMap((item) => Object.values(item as Obj));
  for (const holder of [doc, ...operations]) {
    const requirements = isObject(holder) && Array.isArray(holder.security) ? holder.security : [];
    for (const scheme of requirements.flatMap((r) => (isObject(r) ? Object.keys(r) : []))) {
      const token = encodeURIComponent(scheme.replaceAll('~', '~0').replaceAll('/', '~1'));
      queue.push({ ref: `#/components/securitySchemes/${token}`, at: 'security' });
    }
  }
  for (let index = 0; index < queue.length; index += 1) {
    const next = queue[index] as Reference;
    const target = componentOf(next.ref);
    const value = pointer(doc, next.ref);
    if (target === undefined || value === undefined) {
      throw new SpecError(
        `${source} has a reference this package cannot follow at ${sanitize(next.at)}: ${sanitize(JSON.stringify(next.ref))} ` +
          '(a reference must name something under #/components/ in the same document; nothing is fetched). ' +
          'Refusing to update; nothing was written.',
      );
    }
    keep(...target, value);
  }
  const keptComponents: Obj = {};
  for (const [section, entries] of Object.entries(components)) {
    const names = kept.get(section);
    if (names === undefined || !isObject(entries)) continue;
    keptComponents[section] = Object.fromEntries(Object.entries(entries).filter(([name]) => names.has(name)));
  }
  if (Object.keys(keptComponents).length > 0) slice.components = keptComponents;
  return slice;
}

// Single quotes and the YAML 1.1 rules keep strings such as '200' and date-like examples quoted, so YAML 1.1
// readers do not turn them into numbers or dates. lineWidth 0 keeps long descriptions on one line, which
// keeps diffs small. No anchors or aliases: every repeated object is written out.
const YAML_OPTIONS = {
  singleQuote: true,
  lineWidth: 0,
  version: '1.1',
  aliasDuplicateObjects: false,
} as const;

/** The slice as the vendored YAML file: the same slice always gives the same bytes. */
export function toYaml(slice: Obj): string {
  return YAML.stringify(slice, YAML_OPTIONS);
}
