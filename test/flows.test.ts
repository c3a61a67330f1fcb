// Live flows on the real daemon: known probes produce exactly the expected events, nothing
// captured leaves the lab, tshark agrees with the decoder, and the flows reach a socket client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Faults, faultFromWords } from '../server/fault/faults.ts';
import { capturedPcap, FlowCollector, retainedEvents } from '../server/flow/collector.ts';
import { PcapStream } from '../server/flow/pcap.ts';
import { pcapStats } from '../server/flow/stats.ts';
import { trafficOutsideLab } from '../server/flow/traffic.ts';
import { startServer, type Running } from '../server/http/server.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import { flowEventSchema, type FlowDelta, type FlowEvent, type FlowSnapshot } from '../server/protocol/flow.ts';
import { cli, docker, startCli, testApp } from './helpers.ts';

const app = testApp();
let session = '';
let collector: FlowCollector;
beforeAll(async () => {
  session = (await app.engine.up(loadLab('bridge-basics'))).session;
  await app.engine.settled(session);
  collector = new FlowCollector(app.engine.live(session));
  await collector.start();
});
afterAll(async () => {
  collector?.stop();
  await app.dispose();
});

async function waitFor(pred: (e: FlowEvent) => boolean, timeoutMs = 10_000): Promise<FlowEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = collector.events.filter(pred);
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; saw:\n${collector.events.map((e) => `${e.type} ${e.src}->${e.dst}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const probe = (from: string, to: string) => new Prober(app.engine.live(session)).run([{ from, to }]);

describe('known probes produce exactly the expected events', () => {
  it('dns:db from api: one query and a NOERROR answer naming db', async () => {
    const since = new Date().toISOString();
    await probe('api', 'dns:db');
    const dbIp = (await docker.inspectContainer(`fl-${session}-db`))!.networks[`fl-${session}-backend`]!.ip;
    const answers = await waitFor((e) => e.type === 'dns.answer' && e.name === 'db' && e.client === 'api' && e.time >= since);
    const queries = collector.events.filter((e) => e.type === 'dns.query' && e.name === 'db' && e.client === 'api' && e.qtype === 'A' && e.time >= since);
    expect(queries.length).toBe(1);
    expect(queries[0]).toMatchObject({ src: 'api', dst: 'docker-dns', server: 'docker-dns' });
    expect(answers.filter((a) => a.type === 'dns.answer' && a.qtype === 'A')).toMatchObject([{ rcode: 'NOERROR', answers: [dbIp], server: 'docker-dns' }]);
  });

  it('a closed port: tcp.connect refused', async () => {
    await probe('client', 'tcp:web:81');
    const [e] = await waitFor((x) => x.type === 'tcp.connect' && x.dst_port === 81);
    expect(e).toMatchObject({ src: 'client', dst: 'web', outcome: 'refused', seen_by: 'client' });
  });

  it('an unknown name: NXDOMAIN, answered by the lab resolver', async () => {
    await probe('client', 'dns:nothing-here.example');
    await waitFor((x) => x.type === 'dns.answer' && x.name === 'nothing-here.example' && x.server === 'lab-dns');
    const forward = collector.events.find((x) => x.type === 'dns.forward' && x.name === 'nothing-here.example');
    expect(forward).toMatchObject({ src: 'client', dst: 'lab-dns' });
    const fromResolver = collector.events.find((x) => x.type === 'dns.answer' && x.name === 'nothing-here.example' && x.server === 'lab-dns');
    expect(fromResolver).toMatchObject({ rcode: 'NXDOMAIN', src: 'lab-dns' });
  });

  it('a firewalled port: tcp.connect timeout', async () => {
    const faults = new Faults(app.engine.live(session));
    const f = await faults.apply(faultFromWords('firewall', ['service=db', 'port=5432']));
    try {
      await probe('api', 'tcp:db:5432');
      const [e] = await waitFor((x) => x.type === 'tcp.connect' && x.dst === 'db' && x.dst_port === 5432 && (x as { outcome: string }).outcome === 'timeout', 15_000);
      expect(e).toMatchObject({ src: 'api', seen_by: 'api', latency_ms: null });
    } finally {
      await faults.revert(f.id);
    }
  });

  it('a REJECT with tcp-reset in the client’s own OUTPUT chain: tcp.connect refused (the SYN never shows)', async () => {
    const faults = new Faults(app.engine.live(session));
    const f = await faults.apply(faultFromWords('firewall', ['service=api', 'port=5432', 'direction=out', 'action=reject', 'proto=tcp']));
    try {
      const since = new Date().toISOString();
      await probe('api', 'tcp:db:5432');
      const [e] = await waitFor((x) => x.type === 'tcp.connect' && x.dst === 'db' && x.dst_port === 5432 && x.time >= since);
      expect(e).toMatchObject({ src: 'api', outcome: 'refused', seen_by: 'api' });
    } finally {
      await faults.revert(f.id);
    }
  });

  it('a lookup with no answer: a TIMEOUT answer from the server to the client', async () => {
    const faults = new Faults(app.engine.live(session));
    // The lab resolver paused: the embedded DNS forwards a name it does not know, and no answer comes.
    const f = await faults.apply(faultFromWords('dns-upstream-down', []));
    try {
      const since = new Date().toISOString();
      await probe('client', 'dns:nothing-answers.example');
      const timeouts = await waitFor((x) => x.type === 'dns.answer' && x.name === 'nothing-answers.example' && (x as { rcode: string }).rcode === 'TIMEOUT' && x.time >= since, 20_000);
      // Whichever leg timed out (the client's question to Docker's DNS, or its forward to the lab resolver): server to client.
      for (const e of timeouts) expect(e).toMatchObject({ src: (e as { server: string }).server, dst: 'client', client: 'client' });
    } finally {
      await faults.revert(f.id);
    }
  });

  it('published-port traffic from the Docker host shows as flows from host', async () => {
    await probe('host', 'http://localhost:${web.ports.80}/');
    const [e] = await waitFor((x) => x.type === 'tcp.connect' && x.dst === 'web' && x.src === 'host');
    expect(e).toMatchObject({ outcome: 'established', dst_port: 80, seen_by: 'web' });
  });
});

describe('what the captures keep', () => {
  it('can be read back from any process, with the same event ids', async () => {
    const r = await cli(['flows', session, '--json'], { FLOWLAB_DATA: app.dataDir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => flowEventSchema.parse(JSON.parse(l)));
    expect(lines.length).toBeGreaterThan(5);
    const refused = lines.find((e) => e.type === 'tcp.connect' && e.dst_port === 81);
    expect(refused?.id).toBe(collector.events.find((e) => e.type === 'tcp.connect' && e.dst_port === 81)?.id);
  });

  it('flowlab flows --follow prints new events as they happen', async () => {
    const child = startCli(['flows', session, '--follow', '--json'], { FLOWLAB_DATA: app.dataDir });
    try {
      let out = '';
      const seen = new Promise<FlowEvent>((resolve) => {
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          for (const line of out.split('\n')) {
            if (!line.includes('follow-check.example')) continue;
            const e = flowEventSchema.parse(JSON.parse(line));
            if (e.type === 'dns.answer') resolve(e);
          }
        });
      });
      // Give it time to read what was kept and start following.
      await new Promise((r) => setTimeout(r, 4000));
      await probe('client', 'dns:follow-check.example');
      const e = await Promise.race([seen, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no event within 15 s; printed:\n${out.slice(-2000)}`)), 15_000))]);
      expect(e).toMatchObject({ rcode: 'NXDOMAIN', client: 'client' });
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
  });

  it('never holds a packet to or from outside the lab (the traffic rule)', async () => {
    const t = await trafficOutsideLab(app.engine.live(session));
    expect(t.outside).toEqual([]);
    expect(t.packets).toBeGreaterThan(20);
  });

  it('decodes to the same counts as tshark', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowlab-test-pcap-'));
    try {
    for (const service of ['client', 'api', 'web']) {
      const pcap = await capturedPcap(app.engine.live(session), service);
      const file = join(dir, `${service}.pcap`);
      writeFileSync(file, pcap);
      const ours = pcapStats(pcap);
      const count = (filter: string) => Number(execFileSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').filter(Boolean).length);
      expect(ours.tcpSyns, `${service} SYNs`).toBe(count('tcp.flags.syn==1 && tcp.flags.ack==0'));
      expect(ours.tcpRsts, `${service} RSTs`).toBe(count('tcp.flags.reset==1'));
      // tshark also dissects DNS quoted inside an ICMP error (a late answer to a socket already closed): not a DNS packet on the wire.
      expect(ours.dnsQueries, `${service} DNS queries`).toBe(count('dns && !icmp && dns.flags.response==0'));
      const rcodes: Record<string, string> = { NOERROR: '0', SERVFAIL: '2', NXDOMAIN: '3', REFUSED: '5' };
      for (const [name, n] of Object.entries(ours.dnsAnswersByRcode)) {
        expect(n, `${service} DNS answers ${name}`).toBe(count(`dns && !icmp && dns.flags.response==1 && dns.flags.rcode==${rcodes[name]}`));
      }
      expect(ours.packets).toBe(Number(execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').filter(Boolean).length));
    }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('retained events of a whole session come back in time order', async () => {
    const events = await retainedEvents(app.engine.live(session));
    expect(events.map((e) => e.time)).toEqual([...events.map((e) => e.time)].sort());
  });

});

describe('the server', () => {
  let server: Running;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir: app.dataDir }, background: false, handleSignals: false });
  });
  afterAll(() => server?.close());

  it('serves a service pcap for Wireshark', async () => {
    const res = await fetch(`${server.url}/api/sessions/${session}/pcap?service=client`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(new PcapStream().push(body).length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/api/sessions/${session}/pcap?service=nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/sessions/${session}/pcap?service=../x`)).status).toBe(400);
  });

  it('streams a snapshot on join, then the new events of a probe', async () => {
    const socket = connect(server.url, { transports: ['websocket'] });
    try {
      const bad = (await socket.timeout(5000).emitWithAck('flows:join', { session: 'nope' })) as { ok: boolean; error?: string };
      expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/expected/) });
      const joined = (await socket.timeout(30_000).emitWithAck('flows:join', { session })) as { ok: boolean; snapshot: FlowSnapshot };
      expect(joined.ok).toBe(true);
      expect(joined.snapshot.events.length).toBeGreaterThan(0);
      expect(joined.snapshot.edges.some((e) => e.kind === 'tcp' && e.what === '81' && e.last_outcome === 'refused')).toBe(true);
      const got = new Promise<FlowEvent>((resolve) => {
        socket.on('flows:delta', (d: FlowDelta) => {
          const e = d.events.find((x) => x.type === 'dns.answer' && x.name === 'socket-check.example');
          if (e) resolve(e);
        });
      });
      await probe('client', 'dns:socket-check.example');
      expect(await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error('no delta within 10 s')), 10_000))])).toMatchObject({ rcode: 'NXDOMAIN' });
    } finally {
      socket.close();
    }
  });
});

// Last: it re-creates a capture sidecar, whose ring starts empty again.
describe('a capture re-created', () => {
  it('a follower that attaches late still shows what a re-created capture saw before it was there', async () => {
    // It looks for its sidecar again only every 4 s: the probe below is over long before that.
    const late = new FlowCollector(app.engine.live(session), { retryMs: 4000 });
    await late.start({ history: true });
    try {
      await docker.removeContainer(`fl-${session}-client-capture`);
      const live = app.engine.live(session);
      await live.ensureSidecars();
      await live.settle();
      await probe('client', 'dns:late-follower.example');
      const deadline = Date.now() + 15_000;
      while (!late.events.some((e) => e.type === 'dns.answer' && e.name === 'late-follower.example')) {
        if (Date.now() > deadline) throw new Error(`the late follower never showed the lookup; it has ${late.events.length} events`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(collector.events.length).toBeGreaterThan(0);
    } finally {
      late.stop();
    }
  });
});
