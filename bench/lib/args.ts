// The benches' command-line options: `--name value` and `--flag`.
const args = process.argv.slice(2);

/** `--name value`, or the fallback. */
export function opt(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

/** `--name N` as a number (at least `min`), or the fallback. */
export function numOpt(name: string, fallback: number, min = 1): number {
  const n = Number(opt(name, String(fallback)));
  return Number.isFinite(n) && n >= min ? n : fallback;
}

export function flag(name: string): boolean {
  return args.includes(`--${name}`);
}
