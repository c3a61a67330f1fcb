// Terminals (xterm.js over socket.io): the session's docker console, and a shell in any of its
// services. Each is a tab; closing the tab ends the shell.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import type { TerminalExit, TerminalOpened, TerminalOutput } from '../protocol.ts';
import { ask, sock } from '../api.ts';
import { button, el } from '../dom.ts';

interface Tab {
  id: string;
  term: Terminal;
  fit: FitAddon;
  pane: HTMLElement;
  tab: HTMLElement;
}

export class Terminals {
  readonly root: HTMLElement;
  private readonly tabs = new Map<string, Tab>();
  private readonly tabBar: HTMLElement;
  private readonly panes: HTMLElement;
  private readonly status: HTMLElement;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly session: string,
    services: string[],
  ) {
    this.tabBar = el('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Open terminals' });
    this.panes = el('div', { class: 'panes' });
    this.status = el('span', { role: 'status', class: 'status' });
    const openers = el(
      'div',
      { class: 'toolbar' },
      button('Docker console', () => this.open('console'), { 'data-open-terminal': 'console' }),
      ...services.map((s) => button(`Shell in ${s}`, () => this.open(s), { 'data-open-terminal': s })),
      this.status,
    );
    this.root = el('section', { class: 'terminals', 'aria-label': 'Terminals' }, openers, this.tabBar, this.panes);
    this.observer = new ResizeObserver(() => this.fitActive());
    this.observer.observe(this.panes);
    sock().on('term:output', (m: TerminalOutput) => this.tabs.get(m.id)?.term.write(m.data));
    sock().on('term:exit', (m: TerminalExit) => {
      const t = this.tabs.get(m.id);
      if (t) t.term.write(`\r\n[the shell ended with code ${m.code}; close this tab]\r\n`);
    });
  }

  async open(target: string): Promise<void> {
    this.status.textContent = `opening ${target === 'console' ? 'the docker console' : `a shell in ${target}`}…`;
    const term = new Terminal({ fontSize: 13, cursorBlink: true, convertEol: false, scrollback: 5000, fontFamily: 'ui-monospace, monospace' });
    const fit = new FitAddon();
    term.loadAddon(fit);
    const pane = el('div', { class: 'pane', role: 'tabpanel' });
    this.panes.append(pane);
    term.open(pane);
    fit.fit();
    let opened: TerminalOpened;
    try {
      opened = await ask<TerminalOpened>('term:open', { session: this.session, target, cols: term.cols, rows: term.rows });
    } catch (e) {
      pane.remove();
      term.dispose();
      this.status.textContent = (e as Error).message;
      return;
    }
    this.status.textContent = '';
    const close = button('×', () => this.close(opened.id), { 'aria-label': `Close ${opened.title}`, class: 'close' });
    const tab = el('div', { class: 'tab' }, el('button', { type: 'button', role: 'tab', 'data-terminal': target, 'aria-controls': opened.id }, opened.title), close);
    pane.id = opened.id;
    pane.setAttribute('data-terminal-pane', target);
    tab.querySelector('[role=tab]')!.addEventListener('click', () => this.activate(opened.id));
    this.tabBar.append(tab);
    term.onData((data) => sock().emit('term:input', { id: opened.id, data }));
    term.onResize(({ cols, rows }) => sock().emit('term:resize', { id: opened.id, cols, rows }));
    this.tabs.set(opened.id, { id: opened.id, term, fit, pane, tab });
    this.activate(opened.id);
  }

  private activate(id: string): void {
    for (const t of this.tabs.values()) {
      const active = t.id === id;
      t.pane.hidden = !active;
      t.tab.classList.toggle('active', active);
      t.tab.querySelector('[role=tab]')!.setAttribute('aria-selected', String(active));
    }
    const t = this.tabs.get(id);
    if (t) {
      t.fit.fit();
      t.term.focus();
    }
  }

  private fitActive(): void {
    for (const t of this.tabs.values()) if (!t.pane.hidden) t.fit.fit();
  }

  private close(id: string): void {
    const t = this.tabs.get(id);
    if (!t) return;
    sock().emit('term:close', { id });
    t.term.dispose();
    t.pane.remove();
    t.tab.remove();
    this.tabs.delete(id);
    const next = [...this.tabs.keys()].at(-1);
    if (next) this.activate(next);
  }

  destroy(): void {
    for (const id of [...this.tabs.keys()]) this.close(id);
    this.observer.disconnect();
    sock().off('term:output');
    sock().off('term:exit');
  }
}
