/**
 * Every example of the vendored spec, read at test time: a new example in the YAML becomes a new contract
 * test case without anyone touching the tests.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_PATH } from '../../scripts/prism.js';

export interface SpecExample {
  readonly method: string;
  readonly path: string;
  /** The response's status key, e.g. `'200'`. */
  readonly status: string;
  readonly mediaType: string;
  /** The key under `examples`: what Prism's `Prefer: example=NAME` selects. */
  readonly name: string;
  readonly value: unknown;
}

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const entries = (value: unknown) =>
  isNode(value) ? Object.entries(value).filter((e): e is [string, Node] => isNode(e[1])) : [];

export function readSpec(): Node {
  const doc: unknown = parse(readFileSync(SPEC_PATH, 'utf8'));
  if (!isNode(doc)) throw new Error(`${SPEC_PATH} is not an OpenAPI document.`);
  return doc;
}

/** paths → operations → responses → content → examples. */
export function specExamples(doc: Node = readSpec()): SpecExample[] {
  return entries(doc.paths).flatMap(([path, item]) =>
    entries(item)
      .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch'].includes(method))
      .flatMap(([method, operation]) =>
        entries(operation.responses).flatMap(([status, response]) =>
          entries(response.content).flatMap(([mediaType, content]) =>
            entries(content.examples).map(([name, example]) => {
              return { method: method.toUpperCase(), path, status, mediaType, name, value: example.value };
            }),
          ),
        ),
      ),
  );
}

/** The business envelope of an example value, `{code, message, data, …}`. */
export interface Envelope {
  readonly code: number;
  readonly data?: unknown;
  readonly [key: string]: unknown;
}

export function envelopeOf(example: SpecExample): Envelope {
  const { value } = example;
  if (!isNode(value) || typeof value.code !== 'number')
    throw new Error(`Example "${example.name}" of ${example.method} ${example.path} has no numeric "code".`);
  return value as Envelope;
}
