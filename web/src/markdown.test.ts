import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from './markdown.ts';

describe('the briefing Markdown', () => {
  it('parses what labs use: headings, paragraphs, lists, code, emphasis, links', () => {
    const md = '**Ticket #4121** — "We deployed the new `shop` container\nand published it."\n\n## Steps\n- one *two*\n- three\n\n1. first\n2. second\n\n```\ncurl -v localhost\n```\n> note';
    expect(parseMarkdown(md)).toEqual([
      { t: 'p', c: [{ t: 'strong', c: [{ t: 'text', v: 'Ticket #4121' }] }, { t: 'text', v: ' — "We deployed the new ' }, { t: 'code', v: 'shop' }, { t: 'text', v: ' container and published it."' }] },
      { t: 'h', level: 2, c: [{ t: 'text', v: 'Steps' }] },
      { t: 'ul', items: [[{ t: 'text', v: 'one ' }, { t: 'em', c: [{ t: 'text', v: 'two' }] }], [{ t: 'text', v: 'three' }]] },
      { t: 'ol', items: [[{ t: 'text', v: 'first' }], [{ t: 'text', v: 'second' }]] },
      { t: 'pre', v: 'curl -v localhost' },
      { t: 'quote', c: [{ t: 'text', v: 'note' }] },
    ]);
  });

  it('keeps HTML as text and links only to http(s)', () => {
    expect(parseInline('<img src=x onerror=alert(1)>')).toEqual([{ t: 'text', v: '<img src=x onerror=alert(1)>' }]);
    expect(parseInline('[click](javascript:void)')).toEqual([{ t: 'text', v: 'click' }]);
    expect(parseInline('[docs](https://docs.docker.com/)')).toEqual([{ t: 'link', href: 'https://docs.docker.com/', c: [{ t: 'text', v: 'docs' }] }]);
    expect(parseInline('snake_case_name stays')).toEqual([{ t: 'text', v: 'snake_case_name stays' }]);
  });
});
