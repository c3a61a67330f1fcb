// Briefings and explanations are Markdown written by trainers. This renders the part of Markdown
// labs use — headings, paragraphs, lists, code, emphasis, links — into DOM nodes built with
// textContent: no HTML from the lab file ever reaches the page, and links go to http(s) only.
export type Inline = { t: 'text'; v: string } | { t: 'code'; v: string } | { t: 'strong'; c: Inline[] } | { t: 'em'; c: Inline[] } | { t: 'link'; href: string; c: Inline[] };
export type Block = { t: 'h'; level: number; c: Inline[] } | { t: 'p'; c: Inline[] } | { t: 'ul' | 'ol'; items: Inline[][] } | { t: 'pre'; v: string } | { t: 'quote'; c: Inline[] };

export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ t: 'text', v: text });
    text = '';
  };
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^`([^`]+)`/.exec(rest))) {
      flush();
      out.push({ t: 'code', v: m[1]! });
    } else if ((m = /^\*\*(.+?)\*\*/.exec(rest)) || (m = /^__(.+?)__/.exec(rest))) {
      flush();
      out.push({ t: 'strong', c: parseInline(m[1]!) });
    } else if ((m = /^\*([^*\s][^*]*?)\*/.exec(rest)) || (m = /^_([^_\s][^_]*?)_(?![A-Za-z0-9])/.exec(rest))) {
      flush();
      out.push({ t: 'em', c: parseInline(m[1]!) });
    } else if ((m = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(rest))) {
      flush();
      if (/^https?:\/\//i.test(m[2]!)) out.push({ t: 'link', href: m[2]!, c: parseInline(m[1]!) });
      else out.push(...parseInline(m[1]!));
    } else {
      text += s[i];
      i += 1;
      continue;
    }
    i += m[0].length;
  }
  flush();
  return out;
}

export function parseMarkdown(md: string): Block[] {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  const flushPara = () => {
    if (para.length) blocks.push({ t: 'p', c: parseInline(para.join(' ')) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let m: RegExpExecArray | null;
    if (/^```/.test(line)) {
      flushPara();
      const code: string[] = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]!); i++) code.push(lines[i]!);
      blocks.push({ t: 'pre', v: code.join('\n') });
    } else if ((m = /^(#{1,4})\s+(.*)$/.exec(line))) {
      flushPara();
      blocks.push({ t: 'h', level: m[1]!.length, c: parseInline(m[2]!) });
    } else if (/^\s*[-*]\s+/.test(line) || /^\s*\d+[.)]\s+/.test(line)) {
      flushPara();
      const ordered = /^\s*\d/.test(line);
      const items: Inline[][] = [];
      for (; i < lines.length && (ordered ? /^\s*\d+[.)]\s+/ : /^\s*[-*]\s+/).test(lines[i]!); i++) {
        items.push(parseInline(lines[i]!.replace(ordered ? /^\s*\d+[.)]\s+/ : /^\s*[-*]\s+/, '')));
      }
      i -= 1;
      blocks.push({ t: ordered ? 'ol' : 'ul', items });
    } else if ((m = /^>\s?(.*)$/.exec(line))) {
      flushPara();
      blocks.push({ t: 'quote', c: parseInline(m[1]!) });
    } else if (line.trim() === '') {
      flushPara();
    } else {
      para.push(line.trim());
    }
  }
  flushPara();
  return blocks;
}

function inlineNodes(doc: Document, c: Inline[]): Node[] {
  return c.map((x) => {
    switch (x.t) {
      case 'text':
        return doc.createTextNode(x.v);
      case 'code': {
        const n = doc.createElement('code');
        n.textContent = x.v;
        return n;
      }
      case 'strong':
      case 'em': {
        const n = doc.createElement(x.t);
        n.append(...inlineNodes(doc, x.c));
        return n;
      }
      case 'link': {
        const n = doc.createElement('a');
        n.href = x.href;
        n.rel = 'noopener noreferrer';
        n.target = '_blank';
        n.append(...inlineNodes(doc, x.c));
        return n;
      }
    }
  });
}

/** One line of Markdown without its paragraph (an objective, a list item): code, emphasis, links. */
export function renderInline(md: string, doc: Document = document): DocumentFragment {
  const frag = doc.createDocumentFragment();
  frag.append(...inlineNodes(doc, parseInline(md)));
  return frag;
}

export function renderMarkdown(md: string, doc: Document = document): DocumentFragment {
  const frag = doc.createDocumentFragment();
  for (const b of parseMarkdown(md)) {
    switch (b.t) {
      case 'ul':
      case 'ol': {
        const list = doc.createElement(b.t);
        for (const item of b.items) {
          const li = doc.createElement('li');
          li.append(...inlineNodes(doc, item));
          list.append(li);
        }
        frag.append(list);
        break;
      }
      case 'pre': {
        const pre = doc.createElement('pre');
        pre.textContent = b.v;
        frag.append(pre);
        break;
      }
      default: {
        const n = doc.createElement(b.t === 'h' ? `h${Math.min(6, b.level + 2)}` : b.t === 'quote' ? 'blockquote' : 'p');
        n.append(...inlineNodes(doc, b.c));
        frag.append(n);
      }
    }
  }
  return frag;
}
