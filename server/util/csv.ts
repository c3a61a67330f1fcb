// The one CSV writer every export uses (the workshop's, `flowlab results --csv`). Spreadsheets
// run a cell that starts with = + - @ (or a tab or carriage return before one) as a formula: a
// learner named =HYPERLINK("http://x","y") would land as a live link in the trainer's sheet. Such
// text is defused with a leading apostrophe, which spreadsheets read as "this is text".

/** One cell: numbers as they are; text defused, then quoted when it holds a comma, quote or line break. */
export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A whole file: a header row, then the rows, CRLF line ends (as RFC 4180 and spreadsheets expect). */
export function csvFile(header: readonly string[], rows: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
