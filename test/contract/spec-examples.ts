/** Every example of the vendored spec, read at test time: a new example in the YAML is a new test case. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_PATH } from '../../scripts/prism.js';

/** One example: `status` is the response's key (`'200'`), `name` what Prism's `Prefer: example=NAME` selects. */
export type SpecExample = ReturnType<typeof specExamples>[number];

type Node = Record<string, unknown>;
const entries = (value: unknown): [string, Node][] =>
  Object.entries((value ?? {}) as Node).filter(
    (e): e is [string, Node] => typeof e[1] === 'object' && e[1] !== null,
  );

export const readSpec = (): Node => parse(readFileSync(SPEC_PATH, 'utf8'));

/** paths → operations → responses → content → examples. */
export function specExamples(doc: Node = readSpec()) {
  return entries(doc.paths).flatMap(([path, item]) =>
    entries(item).flatMap(([method, operation]) =>
      entries(operation.responses).flatMap(([status, response]) =>
        entries(response.content).flatMap(([mediaType, content]) =>
          entries(content.examples).map(([name, { value }]) => {
            return { method: method.toUpperCase(), path, status, mediaType, name, value };
          }),
        ),
      ),
    ),
  );
}

/** The business envelope of an example value, `{code, message, data, …}`. */
export function envelopeOf(example: SpecExample): { readonly code: number; readonly [key: string]: unknown } {
  const value = example.value as { code?: unknown };
  if (typeof value?.code !== 'number')
    throw new Error(`Example "${example.name}" of ${example.method} ${example.path} has no numeric "code".`);
  return value as { code: number };
}
