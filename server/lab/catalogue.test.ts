// Labs served from several folders: the shipped ones first, a team's own beside them, and an id
// taken twice reported in the file that repeats it, which is left out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS_DIR } from '../config.ts';
import { expectedFlows } from '../flow/expected.ts';
import { catalogue, loadLab } from './catalogue.ts';

const dir = mkdtempSync(join(tmpdir(), 'flowlab-catalogue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lab = (id: string, title: string) =>
  `id: ${id}\ntitle: "${title}"\nsummary: s\nlevel: beginner\nnetwork: bridge\nminutes: 5\ntopic: names\nbriefing: b\nnetworks: { net: {} }\nservices:\n  web: { image: toolbox, networks: [net] }\n`;

describe('a catalogue of several folders', () => {
  writeFileSync(join(dir, 'team-dns.yaml'), lab('team-dns', 'Our own DNS lab'));
  writeFileSync(join(dir, 'bridge-basics.yaml'), lab('bridge-basics', 'A second bridge-basics'));

  it('serves a team’s labs beside the shipped ones, and leaves out an id already taken, saying where', () => {
    const shipped = catalogue().labs.length;
    const both = catalogue([SCENARIOS_DIR, dir]);
    expect(both.labs.length).toBe(shipped + 1);
    expect(both.labs.find((e) => e.lab.id === 'team-dns')?.lab.topic).toBe('names');
    expect(both.labs.filter((e) => e.lab.id === 'bridge-basics').map((e) => e.lab.title)).toEqual(['Bridge basics: two networks, four services']);
    expect(both.problems).toEqual([expect.objectContaining({ file: expect.stringMatching(/bridge-basics\.yaml$/), message: expect.stringMatching(/lab id "bridge-basics" is already used by .*scenarios/) })]);
  });

  it('finds a lab by id in any of the folders, and names every id it knows when it cannot', () => {
    expect(loadLab('team-dns', {}, [SCENARIOS_DIR, dir]).lab.title).toBe('Our own DNS lab');
    expect(() => loadLab('team-dns')).toThrow(/unknown lab "team-dns"; expected a lab file path or one of: .*bridge-basics/);
  });
});

describe('the shipped labs', () => {
  it('are all alive: each has its apps’ own traffic, every call one a working lab can be seen to make', () => {
    const { labs } = catalogue(SCENARIOS_DIR);
    expect(labs.length).toBeGreaterThanOrEqual(29);
    for (const { lab } of labs) {
      expect(lab.traffic.length, `${lab.id} has no traffic`).toBeGreaterThan(0);
      // Each call is one the flow view can hold against what it sees (a service it names, not a ping).
      expect(expectedFlows(lab).filter((x) => x.source === 'traffic').length, lab.id).toBe(lab.traffic.length);
    }
  });
});
