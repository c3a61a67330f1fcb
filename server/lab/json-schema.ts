// The lab format as JSON Schema, for editor completion (scenarios/schema.json).
import { z } from 'zod';
import { labSchema } from './schema.ts';

export function labJsonSchema(): string {
  const schema = z.toJSONSchema(labSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'Flowlab lab file (format v1)', description: 'See docs/scenario-format.md' }, null, 2)}\n`;
}
