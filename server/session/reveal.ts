// What the graph may show of a lab as it runs: the lab as designed, until the learner has looked
// at a service themselves (the inspector, `docker inspect` in their console) or has been graded.
// A fault's live traces (an alias on the wrong container, a network left) are the lab's answer:
// the graph never hands them out first.
import type { ActionKind } from '../protocol/session.ts';

/** The services (by the lab's name) whose live details the learner has seen: every one once graded. */
export function revealedServices(services: { name: string; container: string }[], actions: { kind: ActionKind; command: string }[], graded: boolean): string[] {
  if (graded) return services.map((s) => s.name);
  const seen = new Set<string>();
  for (const a of actions) {
    if (a.kind !== 'look' && a.kind !== 'command') continue;
    const words = a.command.split(/\s+/).map((w) => w.replace(/^'(.*)'$/, '$1'));
    // docker inspect web; docker container inspect web api; the inspector's own look.
    const at = words[1] === 'inspect' ? 2 : words[1] === 'container' && words[2] === 'inspect' ? 3 : -1;
    if (words[0] !== 'docker' || at < 0) continue;
    for (const w of words.slice(at).filter((x) => !x.startsWith('-'))) {
      const s = services.find((x) => x.name === w || x.container === w);
      if (s) seen.add(s.name);
    }
  }
  return services.filter((s) => seen.has(s.name)).map((s) => s.name);
}
