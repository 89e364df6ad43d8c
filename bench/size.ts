/** Part 5: what the library adds to a consumer's bundle (esbuild, minified, gzipped). */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { num, type Table, table } from './table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Bundle {
  readonly name: string;
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  /** The largest inputs, bytes in the output. */
  readonly top: { readonly path: string; readonly bytes: number }[];
}

export interface SizeData {
  readonly bundles: Bundle[];
}

async function bundle(name: string, contents: string): Promise<Bundle> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: 'consumer.ts', loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${name}`);
  const meta = Object.values(result.metafile.outputs)[0];
  const top = Object.entries(meta?.inputs ?? {})
    .map(([path, info]) => ({ path: path.replace(/^node_modules\//, ''), bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  return {
    name,
    minifiedBytes: output.contents.byteLength,
    gzippedBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    top: top.slice(0, 6),
  };
}

export async function measureSize(): Promise<SizeData> {
  return {
    bundles: [
      await bundle(
        'createAitoearnClient + waitForAuth',
        "import { createAitoearnClient, waitForAuth } from './src/index.ts';\nexport { createAitoearnClient, waitForAuth };",
      ),
      await bundle(
        'openapi-fetch alone',
        "import createClient from 'openapi-fetch';\nexport { createClient };",
      ),
      await bundle('p-retry alone', "import pRetry from 'p-retry';\nexport { pRetry };"),
    ],
  };
}

export function sizeTables(data: SizeData): Table[] {
  const ours = data.bundles[0];
  return [
    table(
      'Size — esbuild bundle of a consumer (minified, ESM, platform node; gzip level 9 via node:zlib)',
      ['bundle', 'minified (KB)', 'gzipped (KB)'],
      data.bundles.map((b) => [b.name, num(b.minifiedBytes / 1024, 1), num(b.gzippedBytes / 1024, 2)]),
      [
        `Largest inputs of the first bundle (bytes in the minified output): ${(ours?.top ?? []).map((t) => `${t.path} ${t.bytes}`).join(', ')}.`,
      ],
    ),
  ];
}
