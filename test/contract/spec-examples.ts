/**
 * Reads the vendored spec at test time, so that the contract suites follow it: a new example in the YAML
 * becomes a new test case without anyone touching the tests.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_PATH } from '../../scripts/prism.js';

/** One named example of one response of one operation. */
export interface SpecExample {
  readonly method: string;
  readonly path: string;
  readonly operationId: string | undefined;
  /** The response's status key, e.g. `'200'`. */
  readonly status: string;
  readonly mediaType: string;
  /** The key under `examples`, the name Prism's `Prefer: example=NAME` selects. */
  readonly name: string;
  readonly value: unknown;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [string, Node][] {
  return isNode(value) ? Object.entries(value).filter((e): e is [string, Node] => isNode(e[1])) : [];
}

/** The parsed spec document. */
export function readSpec(): Node {
  const doc: unknown = parse(readFileSync(SPEC_PATH, 'utf8'));
  if (!isNode(doc)) throw new Error(`${SPEC_PATH} is not an OpenAPI document.`);
  return doc;
}

/** Every example of every operation: paths → operations → responses → content → examples. */
export function specExamples(doc: Node = readSpec()): SpecExample[] {
  const found: SpecExample[] = [];
  for (const [path, item] of entries(doc.paths)) {
    for (const [method, operation] of entries(item)) {
      if (!METHODS.includes(method)) continue;
      for (const [status, response] of entries(operation.responses)) {
        for (const [mediaType, content] of entries(response.content)) {
          for (const [name, example] of entries(content.examples)) {
            found.push({
              method: method.toUpperCase(),
              path,
              operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
              status,
              mediaType,
              name,
              value: example.value,
            });
          }
        }
      }
    }
  }
  return found;
}

/** The business envelope of an example value, `{code, message, data, …}`. */
export interface Envelope {
  readonly code: number;
  readonly message?: string;
  readonly data?: unknown;
  readonly [key: string]: unknown;
}

export function envelopeOf(example: SpecExample): Envelope {
  const value = example.value;
  if (!isNode(value) || typeof value.code !== 'number') {
    throw new Error(`Example "${example.name}" of ${example.method} ${example.path} has no numeric "code".`);
  }
  return value as Envelope;
}
