// How the CLI talks: results to stdout (JSON with --json), progress and errors to stderr —
// except `serve` with FLOWLAB_LOG_FORMAT=json (the container image), which logs JSON lines to stdout.

let jsonLogs = false;

/** `serve` under FLOWLAB_LOG_FORMAT=json: one JSON object a line on stdout, for log collectors. */
export function useLogFormat(format: string | undefined): void {
  if (format === undefined || format === '' || format === 'text') return;
  if (format !== 'json') throw new CliError(`FLOWLAB_LOG_FORMAT must be json or text, found "${format}"`);
  jsonLogs = true;
}

function logJson(level: 'info' | 'warn' | 'error', msg: string): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg })}\n`);
}

export const progress = (line: string): void => {
  if (jsonLogs) logJson(/^lab images: /.test(line) ? 'error' : /^(warning:|could not)/i.test(line) ? 'warn' : 'info', line);
  else process.stderr.write(`${line}\n`);
};

/** The one line a failed command ends with. */
export function reportError(message: string): void {
  if (jsonLogs) logJson('error', message);
  else process.stderr.write(`flowlab: ${message}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A failure the user can act on: printed as one message, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
