// Labs as a trainer or learner looks for one: grouped by topic (what the lab is about), filtered
// by topic, network driver, level and words, each with its summary, level, time and tags. Used by
// the catalogue (a Start button per lab) and the trainer's lab picker (a checkbox per lab); stays
// usable with 50+ labs (groups fold, the filters narrow, counts say how many are shown).
import type { LabSummary } from '../../server/protocol/session.ts';
import { TOPICS, type Topic } from '../../server/protocol/topics.ts';
import { el, fill, type Child } from './dom.ts';

export interface LabListOptions {
  labs: LabSummary[];
  /** What each lab's card offers: a Start button, a checkbox. */
  control(lab: LabSummary): HTMLElement;
  /** More to show on a card (the learner's best score). */
  extra?(lab: LabSummary): Child;
}

export interface LabList {
  filters: HTMLElement;
  root: HTMLElement;
  /** The labs the filters show now. */
  shown(): LabSummary[];
  render(): void;
}

const topicOrder = Object.keys(TOPICS) as Topic[];

export function labList(opts: LabListOptions): LabList {
  const search = el('input', { type: 'search', placeholder: 'search labs', 'aria-label': 'Search labs' });
  const count = (t: Topic) => opts.labs.filter((l) => l.topic === t).length;
  const topic = el(
    'select',
    { 'aria-label': 'Topic' },
    el('option', { value: '' }, 'any topic'),
    ...topicOrder.filter((t) => count(t) > 0).map((t) => el('option', { value: t }, `${TOPICS[t]} (${count(t)})`)),
  );
  const network = el('select', { 'aria-label': 'Network kind' }, el('option', { value: '' }, 'any network'), ...['bridge', 'host', 'overlay'].map((n) => el('option', { value: n }, n)));
  const level = el('select', { 'aria-label': 'Level' }, el('option', { value: '' }, 'any level'), ...['beginner', 'intermediate', 'advanced'].map((n) => el('option', { value: n }, n)));
  const summary = el('span', { class: 'lab-count', 'aria-live': 'polite' });
  const filters = el('div', { class: 'filters lab-filters' }, search, topic, network, level, summary);
  const root = el('div', { class: 'lab-list' });

  const shown = () => {
    const q = search.value.trim().toLowerCase();
    return opts.labs.filter(
      (l) =>
        (!topic.value || l.topic === topic.value) &&
        (!network.value || l.network === network.value) &&
        (!level.value || l.level === level.value) &&
        (!q || [l.title, l.summary, l.id, l.topic, TOPICS[l.topic], ...l.tags].join(' ').toLowerCase().includes(q)),
    );
  };
  const card = (l: LabSummary) =>
    el(
      'article',
      { class: 'lab-card', 'data-lab-row': l.id, 'aria-label': l.title },
      el('div', { class: 'lab-card-head' }, el('strong', { class: 'lab-title' }, l.title), opts.control(l)),
      el('p', { class: 'lab-meta' }, `${l.network} · ${l.level} · ${l.minutes} min`, opts.extra ? opts.extra(l) : null),
      el('p', { class: 'lab-summary' }, l.summary),
      l.tags.length ? el('ul', { class: 'tags', 'aria-label': 'Tags' }, ...l.tags.map((t) => el('li', {}, t))) : null,
    );
  const render = () => {
    const labs = shown();
    summary.textContent = labs.length === opts.labs.length ? `${labs.length} labs` : `${labs.length} of ${opts.labs.length} labs`;
    const groups = topicOrder.map((t) => [t, labs.filter((l) => l.topic === t)] as const).filter(([, ls]) => ls.length > 0);
    fill(
      root,
      ...(groups.length === 0
        ? [el('p', { class: 'empty' }, 'No lab matches.')]
        : groups.map(([t, ls]) =>
            el('details', { class: 'lab-group', 'data-topic': t, open: true }, el('summary', {}, el('h3', {}, `${TOPICS[t]} `, el('small', {}, `(${ls.length})`))), el('div', { class: 'lab-cards' }, ...ls.map(card))),
          )),
    );
  };
  for (const c of [search, topic, network, level]) c.addEventListener('input', render);
  render();
  return { filters, root, shown, render };
}
