// Prints the size of the web app's JavaScript as the browser downloads it (gzipped), and fails
// above the budget (700 KB for the lab view).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 700 * 1024;
const dir = join(import.meta.dirname, '..', 'web', 'dist', 'assets');
const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
let total = 0;
for (const f of files) {
  const raw = readFileSync(join(dir, f));
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${f}: ${(raw.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`);
}
console.log(`lab view JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`);
if (total > BUDGET) {
  console.error(`over budget by ${((total - BUDGET) / 1024).toFixed(1)} KB`);
  process.exit(1);
}
