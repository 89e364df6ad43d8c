/** Runs one benchmark part in this fresh process and prints its result as one JSON line. */
import { measureConcurrency, measureWaiterMemory } from '../concurrency.js';
import { measureManyWaits } from '../many-waits.js';
import { measureNoticing } from '../noticing.js';
import { measureOverhead } from '../overhead.js';

const [name, json] = process.argv.slice(2);
const options = JSON.parse(json ?? '{}');

const parts: Record<string, (options: never) => Promise<unknown>> = {
  noticing: measureNoticing,
  overhead: measureOverhead,
  concurrency: measureConcurrency,
  memory: measureWaiterMemory,
  'many-waits': measureManyWaits,
};
const part = parts[name ?? ''];
if (!part) throw new Error(`Unknown benchmark part ${JSON.stringify(name)}`);
const result = await part(options as never);
process.stdout.write(`\n${JSON.stringify(result)}\n`);
// Open sockets or a leftover server must not keep the part alive.
process.exit(0);
