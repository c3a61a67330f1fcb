// Writes scenarios/schema.json from the lab schema (npm run schema). A test fails when the
// committed file is out of date.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS_DIR } from '../server/config.ts';
import { labJsonSchema } from '../server/lab/json-schema.ts';

const file = join(SCENARIOS_DIR, 'schema.json');
writeFileSync(file, labJsonSchema());
console.log(`wrote ${file}`);
