/**
 * Cuts the package's slice out of an upstream OpenAPI 3 document, for `npm run spec:update`: the operations
 * of `src/operations.ts` and everything they reference, transitively, and nothing else. Pure; no I/O.
 */
import YAML from 'yaml';
import { OPERATIONS } from '../src/operations.js';

export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operation keys of an OpenAPI path item. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** A document this package cannot vendor; the message names what is wrong. */
export class SliceError extends Error {
  override readonly name = 'SliceError';
}

/** `METHOD /path`, the name of an operation in every message. */
export function operationKey(operation: { readonly method: string; readonly path: string }): string {
  return `${operation.method.toUpperCase()} ${operation.path}`;
}

/** Reads a JSON pointer such as `#/components/schemas/X`; undefined when it leads nowhere. */
export function pointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let target: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(target) || !Object.hasOwn(target, key)) return undefined;
    target = target[key];
  }
  return target;
}

/** Drops `x-` extensions (upstream's docs-site and backend annotations, with developers' local paths). */
function withoutExtensions(value: Obj): Obj {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-')));
}

/** Every `$ref` under `value`, in document order; the walk stops at references, which are followed by the caller. */
function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, out);
  } else if (isObject(value)) {
    if (typeof value.$ref === 'string') out.push(value.$ref);
    for (const [key, inner] of Object.entries(value)) if (key !== '$ref') collectRefs(inner, out);
  }
}

/** `#/components/<section>/<name>` → [section, name]; other targets cannot be vendored. */
function componentOf(ref: string): [string, string] | undefined {
  const match = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!match?.[1] || !match[2]) return undefined;
  return [match[1], decodeURIComponent(match[2]).replaceAll('~1', '/').replaceAll('~0', '~')];
}

/**
 * The slice of `doc` this package vendors: `openapi`, `info`, `servers`, `security`, the tags the kept
 * operations name, their path items (only the kept methods, plus path-level `parameters`), and the
 * components they reference transitively (security schemes included). `x-` extensions of operations and
 * path items are dropped. Key order follows the input, so the same input gives the same slice.
 * Throws {@link SliceError} when an operation is missing or a `$ref` points outside the document.
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
    throw new SliceError(
      `${source} has no ${missing.join(' and no ')}, which this package calls. Refusing to update; nothing was written.`,
    );
  }

  // Components reachable from the kept paths, breadth first; a cycle ends at a component already kept.
  const components = isObject(doc.components) ? doc.components : {};
  const wanted = new Map<string, Set<string>>();
  const want = (section: string, name: string) => {
    const names = wanted.get(section) ?? new Set<string>();
    wanted.set(section, names);
    if (names.has(name)) return false;
    names.add(name);
    return true;
  };
  const queue: string[] = [];
  collectRefs(keptPaths, queue);
  while (queue.length > 0) {
    const ref = queue.shift() as string;
    const target = componentOf(ref);
    if (target === undefined || pointer(doc, ref) === undefined) {
      throw new SliceError(
        `${source} has a $ref this package cannot follow: ${JSON.stringify(ref)} ` +
          `(only references to #/components/… inside the same document are supported).`,
      );
    }
    if (want(...target)) collectRefs(pointer(doc, ref), queue);
  }
  const security = Array.isArray(doc.security) ? doc.security : [];
  const operationSecurity = Object.values(keptPaths).flatMap((item) =>
    Object.values(item as Obj).flatMap((op) =>
      isObject(op) && Array.isArray(op.security) ? op.security : [],
    ),
  );
  for (const requirement of [...security, ...operationSecurity]) {
    if (!isObject(requirement)) continue;
    for (const scheme of Object.keys(requirement)) {
      if (!isObject(components.securitySchemes) || !isObject(components.securitySchemes[scheme])) {
        throw new SliceError(
          `${source} names the security scheme ${JSON.stringify(scheme)} but does not define it.`,
        );
      }
      want('securitySchemes', scheme);
    }
  }
  const keptComponents: Obj = {};
  for (const [section, entries] of Object.entries(components)) {
    const names = wanted.get(section);
    if (names === undefined || !isObject(entries)) continue;
    keptComponents[section] = Object.fromEntries(Object.entries(entries).filter(([name]) => names.has(name)));
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
