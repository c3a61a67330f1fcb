import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIOS_DIR } from '../config.ts';
import { labJsonSchema } from './json-schema.ts';

describe('scenarios/schema.json', () => {
  it('is generated from the lab schema and up to date (npm run schema)', () => {
    expect(readFileSync(join(SCENARIOS_DIR, 'schema.json'), 'utf8')).toBe(labJsonSchema());
  });
});
