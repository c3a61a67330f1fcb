// The join page: what a browser sees in workshop mode before it has signed in.
import { join } from './auth.ts';
import { el, fill } from '../dom.ts';

export function joinPage(root: HTMLElement, joined: () => void, notice?: string): void {
  const code = el('input', { name: 'code', required: true, maxlength: '12', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', class: 'code-input' });
  const name = el('input', { name: 'name', required: true, maxlength: '40', autocomplete: 'nickname' });
  const status = el('div', { class: 'status-line' });
  const submit = el('button', { type: 'submit' }, 'Join');
  const form = el(
    'form',
    { class: 'join', 'aria-label': 'Join the workshop' },
    el('label', {}, 'Join code', code),
    el('label', {}, 'Your name (the trainer sees it)', name),
    submit,
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    status.replaceChildren(el('p', { class: 'notice', role: 'status' }, 'Joining…'));
    join(code.value.trim(), name.value.trim()).then(joined, (err: Error) => {
      submit.disabled = false;
      status.replaceChildren(el('p', { class: 'notice error', role: 'alert' }, err.message));
    });
  });
  fill(
    root,
    el('header', { class: 'top' }, el('h1', {}, 'Flowlab workshop'), el('p', {}, 'Enter the join code your trainer gave you, and a name to show in the workshop.')),
    notice ? el('p', { class: 'notice error', role: 'alert' }, notice) : null,
    form,
  );
  code.focus();
}
