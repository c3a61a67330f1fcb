// A living lab on the real daemon: its `traffic:` runs from the service's own namespace as soon as
// the lab is up, shows a fault's symptom in the flow events within 10 s and recovers within 10 s
// of the fix, follows a re-created container, is marked as the apps' own (a learner's probe is
// not), and the HTTP the captures read matches tshark's dissection of the same packets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../server/docker/labels.ts';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { capturedPcap, FlowCollector } from '../server/flow/collector.ts';
import { conversationsOf } from '../server/flow/conversations.ts';
import { differences, expectedFlows } from '../server/flow/expected.ts';
import { PcapStream } from '../server/flow/pcap.ts';
import { FlowTracker } from '../server/flow/tracker.ts';
import { buildAddressBook } from '../server/flow/book.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { TRAFFIC_PORTS, type FlowEvent } from '../server/protocol/flow.ts';
import { docker, testApp, writeLab } from './helpers.ts';

const LAB = `networks:
  lan: {}
services:
  web: { image: toolbox, command: "lab-serve http --port 80", networks: [lan], expose: [80] }
  client: { image: toolbox, networks: [lan] }
  cache: { image: toolbox, command: "lab-serve tcp --port 6379", networks: [lan], expose: [6379] }
traffic:
  - { from: client, to: "http://web:80/api/v2/orders", every: 1s }
  - { from: client, to: "tcp:cache:6379", every: 1s }
  - { from: client, to: "dns:web", every: 1s }
`;

const app = testApp();
let session = '';
let collector: FlowCollector;
beforeAll(async () => {
  session = (await app.engine.up(loadLab(writeLab(app.dataDir, 'living', LAB)))).session;
  await app.engine.settled(session);
  collector = new FlowCollector(app.engine.live(session));
  await collector.start({ history: true });
}, 180_000);
afterAll(async () => {
  collector?.stop();
  await app.dispose();
}, 120_000);

const live = () => app.engine.live(session);
const ambient = (e: FlowEvent) => e.origin === 'traffic' && e.src === 'client';

/** The first event after `since` that `pred` matches, within `timeoutMs`. */
async function next(what: string, since: string, pred: (e: FlowEvent) => boolean, timeoutMs = 10_000): Promise<FlowEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = collector.events.find((e) => e.time > since && pred(e));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}: nothing within ${timeoutMs / 1000} s; since ${since} saw:\n${collector.events.filter((e) => e.time > since).map((e) => `${e.type} ${e.src}->${e.dst} ${'outcome' in e ? e.outcome : ''} ${e.origin ?? ''}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a lab whose app calls another by itself', () => {
  it('runs its traffic from the service’s namespace, locked down, marked as the app’s own', async () => {
    const helpers = await docker.listContainers({ [LABEL.session]: session, [LABEL.role]: 'traffic' });
    expect(helpers.map((c) => c.name)).toEqual([`fl-${session}-client-traffic`]); // one helper, three calls
    const st = (await docker.inspectContainer(helpers[0]!.name))!;
    expect(st.networkMode).toMatch(/^container:/);
    expect(st.host).toMatchObject({ privileged: false, readOnly: true, capAdd: [] });
    const call = await next('an HTTP call from client', '', (e) => e.type === 'http.exchange' && ambient(e));
    expect(call).toMatchObject({ dst: 'web', dst_port: 80, method: 'GET', path: '/api/v2/orders', status: 200, outcome: 'answered' });
    expect((call as { served_by?: string }).served_by).toBeTruthy();
    expect(call.src_port).toBeGreaterThanOrEqual(TRAFFIC_PORTS.low);
    expect(call.src_port).toBeLessThanOrEqual(TRAFFIC_PORTS.high);
    // The learner's probe from the same service is the learner's.
    const at = new Date().toISOString();
    expect((await new Prober(live()).run([{ from: 'client', to: 'http://web:80/mine' }]))[0]!.status).toBe('ok');
    const mine = await next('the probe', at, (e) => e.type === 'http.exchange' && e.src === 'client' && (e as { path: string }).path === '/mine');
    expect(mine.origin).toBeUndefined();
  });

  it('shows a fault’s symptom within 10 s, exactly on the broken call, and is as expected within 10 s of the fix', async () => {
    const at = new Date().toISOString();
    const f = await new Faults(live()).apply(faultFromWords('bind-loopback', ['service=web', 'port=80']));
    const broken = await next('a refused call', at, (e) => e.type === 'tcp.connect' && ambient(e) && e.outcome === 'refused');
    expect(broken.dst).toBe('web');
    // What differs from a working lab is exactly the broken call: not the cache, not the lookup.
    const expected = expectedFlows(live().lab);
    expect(expected.map((x) => x.what)).toEqual(['http GET /api/v2/orders', 'tcp/6379', 'dns web']);
    const diff = differences(expected, collector.events, Date.now(), Date.parse(at) - 60_000);
    expect(diff.map((d) => `${d.from}->${d.to} ${d.what} ${d.observed}`)).toEqual(['client->web http GET /api/v2/orders refused']);
    expect(diff[0]!.events).toContain(broken.id);
    const reverted = new Date().toISOString();
    expect((await new Faults(live()).revert(f.id)).state).toBe('reverted');
    await next('an answered call again', reverted, (e) => e.type === 'http.exchange' && ambient(e) && (e as { status: number | null }).status === 200);
    // As expected again within 10 s of the fix: four answers in a row at one a second.
    const deadline = Date.now() + 10_000;
    while (differences(expected, collector.events, Date.now(), Date.parse(at) - 60_000).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(differences(expected, collector.events, Date.now(), Date.parse(at) - 60_000)).toEqual([]);
  });

  it('follows its service when the service is re-created', async () => {
    const helper = `fl-${session}-client-traffic`;
    const before = (await docker.inspectContainer(helper))!.startedAt;
    // dns-override runs client again (a new container, its embedded DNS forwarding elsewhere;
    // names of the lab still resolve): its traffic moves into the new container's namespace.
    const f = await new Faults(live()).apply(faultFromWords('dns-override', ['service=client']));
    const applied = new Date().toISOString();
    const client = (await docker.inspectContainer(`fl-${session}-client`))!;
    const now = (await docker.inspectContainer(helper))!;
    expect(now.startedAt > before).toBe(true);
    expect(now.networkMode).toBe(`container:${client.id}`);
    await next('a call from the new container', applied, (e) => e.type === 'http.exchange' && ambient(e) && (e as { status: number | null }).status === 200, 15_000);
    const reverted = new Date().toISOString();
    expect((await new Faults(live()).revert(f.id)).state).toBe('reverted');
    expect((await docker.inspectContainer(helper))!.networkMode).toBe(`container:${(await docker.inspectContainer(`fl-${session}-client`))!.id}`);
    await next('a call after the fix', reverted, (e) => e.type === 'http.exchange' && ambient(e) && (e as { status: number | null }).status === 200, 15_000);
  });

  it('reads HTTP as tshark dissects the same packets: path, status, who served it', async () => {
    // The client was just re-created, its capture with it: wait for a few calls in the new one.
    const book = await buildAddressBook(live());
    const exchanges = (pcap: Buffer) => {
      const tracker = new FlowTracker(book, { session, local: 'client', timeoutMs: 3000 });
      return new PcapStream()
        .push(pcap)
        .flatMap((p) => tracker.feed(p))
        .filter((e): e is Extract<FlowEvent, { type: 'http.exchange' }> => e.type === 'http.exchange' && e.status !== null)
        .map((e) => `${e.src_port} ${e.path} ${e.status} ${e.served_by ?? '-'}`)
        .sort();
    };
    let pcap = await capturedPcap(live(), 'client');
    for (let i = 0; i < 30 && exchanges(pcap).length < 5; i++) {
      await new Promise((r) => setTimeout(r, 500));
      pcap = await capturedPcap(live(), 'client');
    }
    const ours = exchanges(pcap);
    const dir = mkdtempSync(join(tmpdir(), 'flowlab-test-http-'));
    try {
      const file = join(dir, 'client.pcap');
      writeFileSync(file, pcap);
      const out = execFileSync('tshark', ['-r', file, '-Y', 'http.response', '-T', 'fields', '-E', 'separator=|', '-e', 'tcp.dstport', '-e', 'http.response_for.uri', '-e', 'http.response.code', '-e', 'http.response.line'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const theirs = out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [port, uri, code, lines] = l.split('|');
          const by = /X-Served-By: ([^\r\n,]+)/i.exec(lines ?? '')?.[1]?.replace(/\\r\\n$/, '').trim() ?? '-';
          return `${port} ${new URL(uri!).pathname} ${code} ${by}`;
        })
        .sort();
      expect(ours.length).toBeGreaterThanOrEqual(5);
      expect(ours).toEqual(theirs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts conversations as tshark’s -z conv,tcp does: one row per connection, frames and bytes each way', async () => {
    const pcap = await capturedPcap(live(), 'client');
    const book = await buildAddressBook(live());
    const lab = (a: string) => !a.startsWith('127.');
    const ours = conversationsOf(pcap, book, 'client')
      .filter((c) => c.proto === 'tcp' && lab(c.from.address) && lab(c.to.address))
      .map((c) => `${c.from.address}:${c.from.port} ${c.to.address}:${c.to.port} ${c.packets_out}/${c.bytes_out} ${c.packets_back}/${c.bytes_back}`)
      .sort();
    const dir = mkdtempSync(join(tmpdir(), 'flowlab-test-conv-'));
    try {
      const file = join(dir, 'client.pcap');
      writeFileSync(file, pcap);
      const out = execFileSync('tshark', ['-r', file, '-q', '-z', 'conv,tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const size = (n: string, unit: string) => Number(n) * (unit === 'kB' ? 1000 : unit === 'MB' ? 1_000_000 : 1);
      const theirs = out
        .split('\n')
        .flatMap((l) => {
          // A <-> B, then frames and bytes B→A ("<-"), A→B ("->"), total, relative start, duration
          const m = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+) (\d+) (bytes|kB|MB)\s+(\d+) (\d+) (bytes|kB|MB)/.exec(l);
          if (!m || !lab(m[1]!) || !lab(m[3]!)) return [];
          return [`${m[1]}:${m[2]} ${m[3]}:${m[4]} ${m[8]}/${size(m[9]!, m[10]!)} ${m[5]}/${size(m[6]!, m[7]!)}`];
        })
        .sort();
      expect(ours.length).toBeGreaterThanOrEqual(5);
      expect(ours.some((c) => / 10\.[\d.]+:80 /.test(c))).toBe(true);
      expect(ours).toEqual(theirs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
