// The engine pool over HTTP: what a trainer sends to add an engine or drain one.
import { z } from 'zod';

export const addEngineSchema = z.strictObject({
  name: z.string().min(1).max(31),
  url: z.string().min(1).max(500),
  tls_dir: z.string().min(1).max(1000).optional(),
});

export const drainEngineSchema = z.strictObject({ drained: z.boolean() });
