// npm run bench:flows [-- --packets N --flood-seconds S]
//
// 1. Decoder throughput: records >= N packets (default 120000) of real lab traffic, then decodes
//    the file with Flowlab's decoder and with tshark, in the same run; prints packets/s and ratio.
// 2. Packet-to-client latency: probes in a running lab, timed from the packet's capture time to
//    its event reaching a socket.io client of `flowlab serve`; prints p50/p95.
// 3. Server memory over a flood (default 300 s): RSS sampled while a client watches the flows.
// Targets: >= 100k packets/s; p95 <= 200 ms; memory steady.
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
import { numOpt } from './lib/args.ts';
import { pct } from './lib/stats.ts';

const PACKETS = numOpt('packets', 120_000);
const FLOOD_SECONDS = numOpt('flood-seconds', 300);
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

    // ---- 1. decoder throughput on a recorded pcap ----
    log(`recording ${PACKETS} packets (DNS lookups, HTTP requests and pings from client)`);
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
    const names = Array.from({ length: 2000 }, (_, i) => `n${i}.bench.example`).join('\n');
    await docker.exec(client, ['sh', '-c', `printf '%s\\n' ${JSON.stringify(names)} > /tmp/names`]);
    // Mostly DNS (eight lookup loops through docker-dns and lab-dns), with pings and connections,
    // until the capture has its packets (or two minutes have passed).
    const flood = docker.exec(
      client,
      ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do (while :; do dig +tries=1 +time=1 -f /tmp/names >/dev/null; done &) ; done; (while :; do curl -s -m 1 http://web/ >/dev/null; done &); ping -q -i 0.002 web >/dev/null'],
      { timeoutMs: 600_000 },
    );
    const cutoff = setTimeout(() => cap.stop(), 60_000);
    await ended;
    clearTimeout(cutoff);
    cap.stop();
    await docker.exec(client, ['sh', '-c', 'pkill ping; pkill -f "while :"; pkill dig; pkill curl; true']);
    await flood.catch(() => undefined);
    const file = join(work, 'flood.pcap');
    writeFileSync(file, repeatToAtLeast(Buffer.concat(chunks), PACKETS));
    const pcap = readFileSync(file);
    const book = await buildAddressBook(live);
    const decode = () => {
      const tracker = new FlowTracker(book, { session, local: 'client', timeoutMs: 3000 });
      const stream = new PcapStream();
      let packets = 0;
      let events = 0;
      for (let i = 0; i < pcap.length; i += 65536) {
        for (const p of stream.push(pcap.subarray(i, i + 65536))) {
          packets++;
          events += tracker.feed(p).length;
        }
      }
      return { packets, events };
    };
    decode(); // warm-up
    const runs: number[] = [];
    let counted = { packets: 0, events: 0 };
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      counted = decode();
      runs.push(performance.now() - t);
    }
    const ours = counted.packets / (pct(runs, 50) / 1000);
    const tsharkRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      execFileSync('tshark', ['-r', file, '-n', '-T', 'fields', '-e', 'frame.number', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'dns.qry.name', '-e', 'tcp.flags'], { stdio: ['ignore', 'ignore', 'ignore'] });
      tsharkRuns.push(performance.now() - t);
    }
    const theirs = counted.packets / (pct(tsharkRuns, 50) / 1000);
    report.push(`decoder: ${counted.packets} packets (${(pcap.length / 1e6).toFixed(1)} MB), ${counted.events} events`);
    report.push(`  flowlab  ${Math.round(ours).toLocaleString('en')} packets/s   target >= 100,000${ours >= 100_000 ? '  (target met)' : '  (target missed)'}`);
    report.push(`  tshark   ${Math.round(theirs).toLocaleString('en')} packets/s (fields output, same file)`);
    report.push(`  ratio    ${(ours / theirs).toFixed(1)}x tshark`);

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
