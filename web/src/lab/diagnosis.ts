// Hints (the cost shown before revealing), the diagnosis form — cause, culprit picked on the
// graph, pinned evidence, "I fixed it" — and the grade: score breakdown, explanation and the
// commands that would have shown the fault. The grade opens in a dialog over the lab, where the
// learner is looking (the page does not scroll); closed, it stays under the form.
import type { GradeResult } from '../protocol.ts';
import type { LabView } from '../protocol.ts';
import { api } from '../api.ts';
import { button, el, fill } from '../dom.ts';
import { renderMarkdown } from '../markdown.ts';

export interface Evidence {
  id: string;
  label: string;
}

type Hints = { revealed: { index: number; text: string; cost: number }[]; next: { index: number; cost: number } | null };

export class DiagnosisPanel {
  readonly root: HTMLElement;
  private readonly hints = el('div', { class: 'hints' });
  private readonly evidenceList = el('ul', { class: 'evidence', 'aria-label': 'Evidence' });
  private readonly culprit: HTMLInputElement;
  private readonly fixed: HTMLInputElement;
  private readonly result = el('div', { class: 'result', 'aria-live': 'polite' });
  private readonly resultHome = el('div', { class: 'result-home' });
  private readonly dialog = el('dialog', { class: 'grade-dialog', 'aria-label': 'Your grade' });
  private readonly dialogBar = el('div', { class: 'toolbar dialog-bar' }, el('strong', {}, 'Your grade'), button('Close', () => this.dialog.close(), { 'data-close-grade': '' }));
  private readonly evidence = new Map<string, Evidence>();
  private readonly form: HTMLFormElement;
  picking = false;
  private readonly pickButton: HTMLButtonElement;

  constructor(
    private readonly session: string,
    private readonly lab: LabView,
    private readonly graded: () => void = () => {},
  ) {
    this.culprit = el('input', { name: 'culprit', required: true, placeholder: 'a service, network or flow (api->db:5432/tcp)', 'aria-label': 'Culprit' });
    this.fixed = el('input', { type: 'checkbox', name: 'fixed' });
    this.pickButton = button('Pick on the graph', () => this.togglePick(), { 'aria-pressed': 'false' });
    const causes = lab.diagnosis?.causes ?? [];
    this.form = el(
      'form',
      { class: 'diagnosis', 'aria-label': 'Diagnosis' },
      el('fieldset', {}, el('legend', {}, lab.diagnosis?.question ?? 'What is wrong?'), ...causes.map((c) => el('label', { class: 'cause' }, el('input', { type: 'radio', name: 'cause', value: c.id, required: true }), ` ${c.text}`))),
      el('label', {}, 'Culprit ', this.culprit),
      this.pickButton,
      el('div', {}, el('strong', {}, 'Evidence '), el('small', {}, 'pin rows of the flow log, or keep probe results')),
      this.evidenceList,
      el('label', {}, this.fixed, ' I fixed it (the grader checks the lab as it is now)'),
      el('button', { type: 'submit' }, 'Submit diagnosis'),
    );
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.renderEvidence();
    this.resultHome.append(this.result);
    this.dialog.addEventListener('close', () => this.stayPut(() => this.resultHome.append(this.result)));
    this.root = el('section', { class: 'diagnosis-panel', 'aria-label': 'Hints and diagnosis' }, el('h3', {}, 'Hints'), this.hints, el('h3', {}, 'Your diagnosis'), this.form, this.resultHome, this.dialog);
    void this.loadHints();
  }

  private togglePick(): void {
    this.picking = !this.picking;
    this.pickButton.setAttribute('aria-pressed', String(this.picking));
    this.pickButton.textContent = this.picking ? 'Click the culprit on the graph…' : 'Pick on the graph';
  }

  /** The graph was clicked: while picking, that is the culprit. */
  picked(culprit: string): void {
    if (!this.picking) return;
    this.culprit.value = culprit;
    this.togglePick();
  }

  addEvidence(e: Evidence): void {
    this.evidence.set(e.id, e);
    this.renderEvidence();
  }

  private renderEvidence(): void {
    if (this.evidence.size === 0) {
      this.evidenceList.replaceChildren(el('li', { class: 'empty' }, 'nothing pinned yet'));
      return;
    }
    this.evidenceList.replaceChildren(
      ...[...this.evidence.values()].map((e) =>
        el('li', { 'data-evidence': e.id }, e.label, ' ', button('remove', () => {
          this.evidence.delete(e.id);
          this.renderEvidence();
        }, { 'aria-label': `Remove ${e.label} from the evidence` })),
      ),
    );
  }

  private async loadHints(): Promise<void> {
    const h = await api<Hints>('GET', `/api/sessions/${this.session}/hints`).catch(() => ({ revealed: [], next: null }) as Hints);
    const items = h.revealed.map((r) => el('li', {}, el('span', {}, renderMarkdown(r.text)), el('small', {}, ` (−${r.cost} points)`)));
    const next = h.next
      ? button(`Reveal hint ${h.next.index + 1} of ${this.lab.hints.length} (costs ${h.next.cost} points)`, async () => {
          await api('POST', `/api/sessions/${this.session}/hints`);
          await this.loadHints();
        }, { 'data-reveal-hint': String(h.next.index) })
      : el('small', {}, this.lab.hints.length ? 'every hint is revealed' : 'this lab has no hints');
    this.hints.replaceChildren(el('ol', {}, ...items), next);
  }

  private async submit(): Promise<void> {
    const data = new FormData(this.form);
    const body = { cause: String(data.get('cause') ?? ''), culprit: this.culprit.value.trim(), evidence: [...this.evidence.keys()], fixed: this.fixed.checked };
    this.result.replaceChildren(el('p', {}, 'Grading… (a fix is checked on the live lab)'));
    this.open();
    try {
      const { result } = await api<{ result: GradeResult }>('POST', `/api/sessions/${this.session}/diagnosis`, body);
      this.stayPut(() => {
        this.show(result);
        this.graded();
      });
    } catch (e) {
      this.stayPut(() => this.result.replaceChildren(el('p', { class: 'error', role: 'alert' }, (e as Error).message)));
    }
  }

  /** Changes the page without moving it: the learner keeps looking where they were. */
  private stayPut(change: () => void): void {
    const [x, y] = [window.scrollX, window.scrollY];
    change();
    window.scrollTo(x, y);
  }

  /** The grade, shown over the lab where the learner looks; the header and the page stay where they were. */
  private open(): void {
    this.stayPut(() => {
      if (this.result.parentElement !== this.dialog) fill(this.dialog, this.dialogBar, this.result);
      if (!this.dialog.open) this.dialog.showModal();
    });
  }

  private show(r: GradeResult): void {
    const b = r.breakdown;
    const row = (name: string, p: { earned: number; of: number; why: string }) => el('tr', {}, el('th', { scope: 'row' }, name), el('td', {}, `${p.earned} / ${p.of}`), el('td', {}, p.why));
    fill(
      this.result,
      el('h3', { class: r.passed ? 'pass' : 'fail', 'data-grade': r.passed ? 'pass' : 'fail' }, `${r.passed ? 'Passed' : 'Not yet'}: ${r.score} points (pass mark ${r.pass_mark})`),
      el('p', { 'data-attempts': '' }, r.passed ? `Passed on attempt ${r.attempt}.` : r.attempts_left > 0 ? `Attempt ${r.attempt}; ${r.attempts_left} more to go.` : `Attempt ${r.attempt} was the last one this lab allows.`),
      el(
        'table',
        { class: 'breakdown' },
        el('caption', {}, 'Score breakdown'),
        el('tbody', {}, row('cause', b.cause), row('culprit', b.culprit), row('evidence', b.evidence), row('fix', b.fix), el('tr', {}, el('th', { scope: 'row' }, 'hints'), el('td', {}, `−${b.hints.cost}`), el('td', {}, `${b.hints.taken} taken`)), el('tr', {}, el('th', { scope: 'row' }, 'earlier attempts'), el('td', {}, `−${b.earlier_attempts.cost}`), el('td', {}, `${b.earlier_attempts.count}`))),
      ),
      r.feedback.right.length ? el('div', {}, el('strong', {}, 'Right'), el('ul', {}, ...r.feedback.right.map((x) => el('li', {}, x)))) : null,
      r.feedback.missed.length ? el('div', { class: 'missed' }, el('strong', {}, 'Missed'), el('ul', {}, ...r.feedback.missed.map((x) => el('li', {}, x)))) : null,
      r.feedback.workarounds.length ? el('div', {}, el('strong', {}, 'Workarounds found'), el('ul', {}, ...r.feedback.workarounds.map((x) => el('li', {}, x)))) : null,
      r.feedback.what_was_broken?.length ? el('div', {}, el('strong', {}, 'What was broken'), el('ul', {}, ...r.feedback.what_was_broken.map((x) => el('li', {}, x)))) : null,
      r.feedback.explanation ? el('div', { class: 'explanation' }, el('strong', {}, 'Explanation'), renderMarkdown(r.feedback.explanation)) : null,
      r.feedback.commands?.length ? el('div', {}, el('strong', {}, 'Commands that would have shown it'), el('pre', {}, r.feedback.commands.join('\n'))) : null,
    );
    if (r.passed || r.attempts_left === 0) {
      this.form.setAttribute('inert', '');
      this.form.classList.add('done');
    }
    this.open();
  }
}
