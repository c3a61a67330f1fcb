// npm run bench:flows [-- --packets N --flood-seconds S --living N --living-seconds S]
//
// 1. Decoder throughput: records >= N packets (default 120000) of real lab traffic — a DNS-heavy
//    mix, and an HTTP one (HTTP/1.1 requests and answers, decoded into http.exchange events) —
//    then decodes each file with Flowlab's decoder and with tshark (asked for the same fields,
//    HTTP's included), in the same run; prints packets/s and the ratio.
// 2. Packet-to-client latency: probes in a running lab, timed from the packet's capture time to
//    its event reaching a socket.io client of `flowlab serve`; prints p50/p95.
// 3. Server memory over a flood (default 300 s): RSS sampled while a client watches the flows.
// 4. Living labs at once (default 20, watched 60 s): each a shipped lab whose apps call each other
//    by themselves, each watched by a client; the server's CPU and RSS against the same server
//    with no lab watched, and packet → client p95 of the apps' own events under that load.
// Targets: >= 100k packets/s with HTTP decoding; p95 <= 200 ms (idle and under 20 living labs);
// memory steady.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { openApp } from '../server/app/app.ts';
import { buildAddressBook } from '../server/flow/book.ts';
import { PcapStream } from '../server/flow/pcap.ts';
import { FlowTracker } from '../server/flow/tracker.ts';
import { startServer } from '../server/http/server.ts';
import { ensureLabImages } from '../server/images/build.ts';
import { loadLab } from '../server/lab/catalogue.ts';
import { Prober } from '../server/probe/prober.ts';
import type { FlowDelta } from '../server/protocol/flow.ts';
import { objectName } from '../server/docker/labels.ts';
import { numOpt, opt } from './lib/args.ts';
import { pct } from './lib/stats.ts';

const PACKETS = numOpt('packets', 120_000);
const FLOOD_SECONDS = numOpt('flood-seconds', 300, 0);
const LIVING = numOpt('living', 20, 0);
const LIVING_SECONDS = numOpt('living-seconds', 60);
const LIVING_LAB = opt('living-lab', 'bridge-basics');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server process's CPU (share of one core) and its highest RSS (MB) over `ms`. */
async function measure(ms: number): Promise<{ cpu: number; rss: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = 0;
  while (performance.now() - t0 < ms) {
    await sleep(1000);
    rss = Math.max(rss, process.memoryUsage().rss / 1e6);
  }
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000 / (performance.now() - t0), rss };
}

/**
 * 4. `LIVING` living labs up at once, each watched by a socket client: the server's CPU and RSS
 * against the same server before (nothing watched), and how long the apps' own events take from
 * their packet to the client (connections made, HTTP answered, names looked up).
 */
async function livingLoad(app: ReturnType<typeof openApp>, url: string): Promise<string[]> {
  const before = await measure(10_000);
  log(`starting ${LIVING} living labs (${LIVING_LAB}), five at a time`);
  const sessions: string[] = [];
  const sockets: ReturnType<typeof connect>[] = [];
  try {
    const t0 = Date.now();
    for (let i = 0; i < LIVING; i += 5) {
      const batch = Array.from({ length: Math.min(5, LIVING - i) }, async () => {
        const s = (await app.engine.up(loadLab(LIVING_LAB))).session;
        sessions.push(s);
        await app.engine.settled(s);
      });
      await Promise.all(batch);
    }
    const upSeconds = (Date.now() - t0) / 1000;
    const latencies: number[] = [];
    let events = 0;
    let counting = false;
    for (const s of sessions) {
      const sk = connect(url, { transports: ['websocket'] });
      sockets.push(sk);
      sk.on('flows:delta', (d: FlowDelta) => {
        if (!counting) return;
        const now = Date.now();
        for (const e of d.events) {
          if (e.origin !== 'traffic') continue;
          events++;
          const prompt = (e.type === 'tcp.connect' && e.outcome === 'established') || (e.type === 'http.exchange' && e.status !== null) || (e.type === 'dns.answer' && e.rcode === 'NOERROR');
          if (prompt) latencies.push(now - Date.parse(e.time));
        }
      });
      const joined = (await sk.timeout(60_000).emitWithAck('flows:join', { session: s })) as { ok: boolean };
      if (!joined.ok) throw new Error(`could not join the flows of session ${s}`);
    }
    await sleep(5000); // each room's history sent, its followers caught up
    counting = true;
    const under = await measure(LIVING_SECONDS * 1000);
    counting = false;
    const p95 = pct(latencies, 95);
    return [
      `${LIVING} living labs (${LIVING_LAB}) at once, each watched by a client, ${LIVING_SECONDS} s (up in ${upSeconds.toFixed(0)} s):`,
      `  the apps' own events: ${events} (${(events / LIVING_SECONDS).toFixed(0)}/s); packet to client p50 ${pct(latencies, 50)} ms, p95 ${p95} ms   target p95 <= 200 ms${p95 <= 200 ? '  (target met)' : '  (target missed)'}`,
      `  server CPU ${(under.cpu * 100).toFixed(0)}% of a core (${(before.cpu * 100).toFixed(0)}% before, nothing watched), RSS ${under.rss.toFixed(0)} MB at most (${before.rss.toFixed(0)} MB before): ${((under.rss - before.rss) / LIVING).toFixed(1)} MB and ${(((under.cpu - before.cpu) * 100) / LIVING).toFixed(1)}% of a core per living lab`,
    ];
  } finally {
    for (const sk of sockets) sk.close();
    await Promise.all(sessions.map((s) => app.engine.down(s).catch(() => undefined)));
  }
}
const log = (s: string) => process.stderr.write(`${s}\n`);

/**
 * When a slow machine recorded fewer packets than asked, the recording is replayed back to back
 * (timestamps shifted past the end of the previous copy) until the file holds enough.
 */
function repeatToAtLeast(pcap: Buffer, packets: number): Buffer {
  const recorded = new PcapStream().push(pcap);
  if (recorded.length === 0 || recorded.length >= packets) return pcap;
  const span = recorded.at(-1)!.tsUs - recorded[0]!.tsUs + 1000;
  const parts: Buffer[] = [pcap.subarray(0, 24)];
  for (let copy = 0, n = 0; n < packets; copy++) {
    for (const p of recorded) {
      const h = Buffer.alloc(16);
      const ts = p.tsUs + copy * span;
      h.writeUInt32LE(Math.floor(ts / 1e6), 0);
      h.writeUInt32LE(ts % 1e6, 4);
      h.writeUInt32LE(p.data.length, 8);
      h.writeUInt32LE(p.origLen, 12);
      parts.push(h, p.data);
      n++;
    }
  }
  log(`recorded ${recorded.length} packets; replayed to ${packets}+`);
  return Buffer.concat(parts);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowlab-bench-'));
  const work = mkdtempSync(join(tmpdir(), 'flowlab-bench-pcap-'));
  const app = openApp({ dataDir });
  let session = '';
  const report: string[] = [];
  try {
    await ensureLabImages(app.docker);
    session = (await app.engine.up(loadLab('bridge-basics'))).session;
    await app.engine.settled(session);
    const live = app.engine.live(session);
    const client = objectName(session, 'client');
    const docker = app.engine.docker;

    // ---- 1. decoder throughput on recorded pcaps ----
    const names = Array.from({ length: 2000 }, (_, i) => `n${i}.bench.example`).join('\n');
    await docker.exec(client, ['sh', '-c', `printf '%s\\n' ${JSON.stringify(names)} > /tmp/names`]);
    /** Records `PACKETS` packets (or a minute's worth) of what `cmd` sends from client; the pcap file. */
    const record = async (what: string, cmd: string): Promise<string> => {
      log(`recording ${PACKETS} packets: ${what}`);
      const sidecar = (await live.captureOf('client'))!;
      const cap = await sidecar.on.execStream(sidecar.container, ['lab-capture', 'follow']);
      const chunks: Buffer[] = [];
      const counter = new PcapStream();
      let recorded = 0;
      const ended = new Promise((r) => cap.stdout.once('end', r));
      cap.stdout.on('data', (c: Buffer) => {
        chunks.push(c);
        recorded += counter.push(c).length;
        if (recorded >= PACKETS) cap.stop();
      });
      await new Promise((r) => setTimeout(r, 500));
      const flood = docker.exec(client, ['sh', '-c', cmd], { timeoutMs: 600_000 });
      const cutoff = setTimeout(() => cap.stop(), 60_000);
      await ended;
      clearTimeout(cutoff);
      cap.stop();
      await docker.exec(client, ['sh', '-c', 'pkill ping; pkill -f "while :"; pkill dig; pkill curl; true']);
      await flood.catch(() => undefined);
      const file = join(work, `${what.split(' ')[0]}.pcap`);
      writeFileSync(file, repeatToAtLeast(Buffer.concat(chunks), PACKETS));
      return file;
    };
    const book = await buildAddressBook(live);
    /** Decodes `file` with Flowlab's decoder and with tshark (the same fields), five and three times; the report lines. */
    const compare = (title: string, file: string, tsharkFields: string[]): string[] => {
      const pcap = readFileSync(file);
      const decode = () => {
        const tracker = new FlowTracker(book, { session, local: 'client', timeoutMs: 3000 });
        const stream = new PcapStream();
        let packets = 0;
        let events = 0;
        let http = 0;
        for (let i = 0; i < pcap.length; i += 65536) {
          for (const p of stream.push(pcap.subarray(i, i + 65536))) {
            packets++;
            for (const e of tracker.feed(p)) {
              events++;
              if (e.type === 'http.exchange') http++;
            }
          }
        }
        return { packets, events, http };
      };
      decode(); // warm-up
      const runs: number[] = [];
      let counted = { packets: 0, events: 0, http: 0 };
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        counted = decode();
        runs.push(performance.now() - t);
      }
      const ours = counted.packets / (pct(runs, 50) / 1000);
      const tsharkRuns: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        execFileSync('tshark', ['-r', file, '-n', '-T', 'fields', ...tsharkFields.flatMap((f) => ['-e', f])], { stdio: ['ignore', 'ignore', 'ignore'] });
        tsharkRuns.push(performance.now() - t);
      }
      const theirs = counted.packets / (pct(tsharkRuns, 50) / 1000);
      return [
        `decoder, ${title}: ${counted.packets} packets (${(pcap.length / 1e6).toFixed(1)} MB), ${counted.events} events, ${counted.http} of them HTTP exchanges`,
        `  flowlab  ${Math.round(ours).toLocaleString('en')} packets/s   target >= 100,000${ours >= 100_000 ? '  (target met)' : '  (target missed)'}`,
        `  tshark   ${Math.round(theirs).toLocaleString('en')} packets/s (fields output, same file: ${tsharkFields.join(' ')})`,
        `  ratio    ${(ours / theirs).toFixed(1)}x tshark`,
      ];
    };
    // Mostly DNS (eight lookup loops through docker-dns and lab-dns), with pings and connections.
    const dnsFile = await record('dns-heavy mix', 'for i in 1 2 3 4 5 6 7 8; do (while :; do dig +tries=1 +time=1 -f /tmp/names >/dev/null; done &) ; done; (while :; do curl -s -m 1 http://web/ >/dev/null; done &); ping -q -i 0.002 web >/dev/null');
    // HTTP: eight loops of curl, each a connection with one request and its answer, and kept-alive
    // connections of 50 requests each (curl reusing its connection for the URLs it is given).
    const urls = Array.from({ length: 50 }, (_, i) => `http://web/?i=${i}`).join(' ');
    const httpFile = await record('http mix', `for i in 1 2 3 4; do (while :; do curl -s -m 1 -o /dev/null http://web/; done &); (while :; do curl -s -m 5 -o /dev/null ${urls}; done &); done; sleep 120`);
    report.push(...compare('DNS-heavy mix', dnsFile, ['frame.number', 'ip.src', 'ip.dst', 'dns.qry.name', 'tcp.flags']));
    report.push(...compare('HTTP mix, HTTP decoding on', httpFile, ['frame.number', 'ip.src', 'ip.dst', 'tcp.flags', 'http.request.method', 'http.request.uri', 'http.response.code']));

    // ---- 2. packet-to-client latency, 3. memory under a flood ----
    const server = await startServer({ port: 0, host: '127.0.0.1', settings: { dataDir }, background: false, handleSignals: false });
    const socket = connect(server.url, { transports: ['websocket'] });
    try {
      const joined = (await socket.timeout(60_000).emitWithAck('flows:join', { session })) as { ok: boolean };
      if (!joined.ok) throw new Error('could not join the flows room');
      const latencies: number[] = [];
      const waiting = new Map<string, (ms: number) => void>();
      let dropped = 0;
      socket.on('flows:delta', (d: FlowDelta) => {
        const now = Date.now();
        dropped += d.dropped;
        for (const e of d.events) {
          if (e.type !== 'dns.answer') continue;
          const done = waiting.get(e.name);
          if (done) {
            waiting.delete(e.name);
            done(now - Date.parse(e.time));
          }
        }
      });
      const prober = new Prober(live);
      for (let i = 0; i < 40; i++) {
        const name = `latency-${i}.bench.example`;
        const seen = new Promise<number>((resolve) => waiting.set(name, resolve));
        await prober.run([{ from: 'client', to: `dns:${name}` }]);
        latencies.push(await Promise.race([seen, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 5000))]));
      }
      const ok = latencies.filter((x) => !Number.isNaN(x));
      report.push(`latency, packet to socket client: ${ok.length}/${latencies.length} probes seen`);
      report.push(`  p50 ${pct(ok, 50)} ms, p95 ${pct(ok, 95)} ms   target p95 <= 200 ms${pct(ok, 95) <= 200 ? '  (target met)' : '  (target missed)'}`);

      if (FLOOD_SECONDS > 0) {
        log(`flooding for ${FLOOD_SECONDS} s while a client watches`);
        const samples: number[] = [];
        const floodCmd = `for i in 1 2 3 4; do (while :; do dig +tries=1 +time=1 -f /tmp/names >/dev/null; done &); done; ping -q -f -w ${FLOOD_SECONDS} web >/dev/null; pkill dig; true`;
        const flooding = docker.exec(client, ['sh', '-c', floodCmd], { timeoutMs: (FLOOD_SECONDS + 60) * 1000 });
        const start = Date.now();
        while (Date.now() - start < FLOOD_SECONDS * 1000) {
          await new Promise((r) => setTimeout(r, 5000));
          global.gc?.();
          samples.push(process.memoryUsage().rss / 1e6);
        }
        await flooding.catch(() => undefined);
        const q = Math.max(1, Math.floor(samples.length / 4));
        const early = samples.slice(q, 2 * q).reduce((a, b) => a + b, 0) / q;
        const late = samples.slice(-q).reduce((a, b) => a + b, 0) / q;
        report.push(`memory over a ${FLOOD_SECONDS} s flood: RSS ${samples[0]?.toFixed(0)} MB at start, ${Math.max(...samples).toFixed(0)} MB at most, ${samples.at(-1)?.toFixed(0)} MB at the end`);
        report.push(`  second quarter ${early.toFixed(0)} MB -> last quarter ${late.toFixed(0)} MB (${((late / early - 1) * 100).toFixed(0)}%)${late <= early * 1.2 ? '  (steady)' : '  (growing)'}; ${dropped} events left out of deltas`);
      }
      if (LIVING > 0) report.push(...(await livingLoad(app, server.url)));
    } finally {
      socket.close();
      await server.close();
    }
  } finally {
    if (session) await app.engine.down(session).catch(() => undefined);
    app.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\n${report.join('\n')}`);
}

await main();
