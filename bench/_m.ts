import { measureSize } from './size.js';
import { measureOverhead } from './overhead.js';
const s = await measureSize();
console.log('size', s.bundles.map((b) => `${b.name}: ${(b.gzippedBytes/1024).toFixed(2)} KB gz`).join('; '), JSON.stringify(s.bundles[0]?.top));
if (process.argv[2] !== 'size') {
  const o = await measureOverhead({ calls: Number(process.argv[2] ?? 20000) });
  for (const m of o.methods) console.log(m.name, m.cpuUs.toFixed(1), m.wallUs.toFixed(1));
  for (const m of o.inMemory) console.log('mem', m.name, m.cpuUs.toFixed(1));
}
