// A few DOM helpers: the app builds its pages from elements, never from HTML strings.
export type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

export function button(label: string, onClick: () => void | Promise<void>, attrs: Record<string, string | boolean | undefined> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', () => {
    const r = onClick();
    if (r instanceof Promise) {
      b.disabled = true;
      void r.finally(() => (b.disabled = false));
    }
  });
  return b;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** replaceChildren that skips the null/false of optional parts. */
export function fill(node: Element, ...children: Child[]): void {
  node.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/**
 * Re-renders `node` without losing the keyboard focus: the focused control inside it, if it has a
 * data-focus key, is focused again in the new content (live views redraw every few seconds).
 */
export function keepFocus(node: Element, render: () => void): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && node.contains(active) ? active.dataset.focus : undefined;
  render();
  if (key === undefined) return;
  const again = Array.from(node.querySelectorAll<HTMLElement>('[data-focus]')).find((e) => e.dataset.focus === key);
  again?.focus();
}
