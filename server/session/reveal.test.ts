import { describe, expect, it } from 'vitest';
import { revealedServices } from './reveal.ts';

const services = [
  { name: 'web', container: 'fl-1234abcd-web' },
  { name: 'db', container: 'fl-1234abcd-db' },
  { name: 'cache', container: 'fl-1234abcd-cache' },
];

describe('what the graph may show live', () => {
  it('the services the learner inspected, in the inspector or with docker inspect; nothing else before grading', () => {
    const actions = [
      { kind: 'look' as const, command: 'docker inspect fl-1234abcd-web' },
      { kind: 'command' as const, command: 'docker container inspect --format {{.Name}} db' },
      { kind: 'command' as const, command: 'docker network inspect cache' },
      { kind: 'change' as const, command: 'docker inspect fl-1234abcd-cache' },
      { kind: 'command' as const, command: 'docker logs cache' },
    ];
    expect(revealedServices(services, actions, false)).toEqual(['web', 'db']);
    expect(revealedServices(services, [], false)).toEqual([]);
  });

  it('every service once graded', () => {
    expect(revealedServices(services, [], true)).toEqual(['web', 'db', 'cache']);
  });
});
