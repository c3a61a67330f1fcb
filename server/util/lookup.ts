// Looking a name a user gave up in a record: only the record's own keys count. `"constructor" in
// services` is true for every object, and `services["__proto__"]` is Object.prototype; a lab,
// an HTTP path or a probe naming them must read as "unknown", never reach a built-in.

/** Whether `key` is one of the record's own keys. */
export function has(record: object, key: string): boolean {
  return Object.hasOwn(record, key);
}

/** The record's own value for `key`, or undefined. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** At most a bounded slice of what someone sent goes back into a message. */
export function bounded(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
