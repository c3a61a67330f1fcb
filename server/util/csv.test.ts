import { describe, expect, it } from 'vitest';
import { csvCell, csvFile } from './csv.ts';

describe('the CSV writer', () => {
  it('defuses text a spreadsheet would run as a formula', () => {
    for (const [given, written] of [
      ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
      ['+1+1', "'+1+1"],
      ['-2', "'-2"],
      ['@SUM(A1)', "'@SUM(A1)"],
      ['\t=1', "'\t=1"],
      ['\r=1', `"'\r=1"`],
      ['Ada', 'Ada'],
    ] as const) expect(csvCell(given), given).toBe(written);
  });

  it('writes numbers as numbers, quotes commas and quotes, and ends lines with CRLF', () => {
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a, "b"')).toBe('"a, ""b"""');
    expect(csvFile(['name', 'score'], [['=1', 90], ['Bob', -1]])).toBe("name,score\r\n'=1,90\r\nBob,-1\r\n");
  });
});
