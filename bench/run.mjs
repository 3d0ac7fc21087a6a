// Runs every bench/*.bench.mjs in sequence, one after the other (never in parallel: they
// would measure each other), and prints each one's rows: as markdown when the bench exports
// `toMarkdown(rows)`, else as a table. It writes nothing; RESULTS.md is edited by hand from
// its output. Run `node scripts/build.mjs` first.
// Usage: node --expose-gc bench/run.mjs [name-filter]
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs') && f.includes(filter))
  .sort();

if (typeof globalThis.gc !== 'function') {
  console.warn('run.mjs: --expose-gc is off; memory figures are skipped and samples are noisier');
}
console.log(`node ${process.version}, ${new Date().toISOString()}, ${files.length} benches\n`);
let failed = 0;
for (const file of files) {
  const started = performance.now();
  console.log(`## ${file}\n`);
  try {
    const bench = await import(pathToFileURL(`${dir}${file}`).href);
    if (typeof bench.run !== 'function') throw new Error('exports no run()');
    const rows = await bench.run();
    if (typeof bench.toMarkdown === 'function') console.log(bench.toMarkdown(rows));
    else console.table(rows);
  } catch (error) {
    failed++;
    console.error(`${file} failed:`, error);
  }
  console.log(`\n(${file}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}
if (failed > 0) process.exitCode = 1;
