// The docker console of a lab on another engine than Flowlab's. There, nothing reaches Flowlab
// from the console's network: the scoped API cannot listen where the console can connect. So the
// console's CLI talks to a unix socket in its own container, and Flowlab comes to it through the
// engine's API — the one connection it has there, TLS included: a `docker exec` of the relay
// announces each connection the CLI opens, and Flowlab opens another exec per connection whose
// stdin and stdout carry its bytes to the scoped API (listening on this machine's loopback only,
// the console's secret required as everywhere). See images/console/flowlab-console-relay.
import { connect } from 'node:net';
import type { DockerApi } from '../docker/types.ts';

/** The console CLI's DOCKER_HOST when it is relayed. */
export const RELAY_DOCKER_HOST = 'unix:///run/flowlab/docker.sock';
const RELAY = 'flowlab-console-relay';
/**
 * Connections relayed at once per console. The CLI opens a few per command; the learner's shell
 * can write to the relay's pipe too, and must not make Flowlab open execs without end.
 */
const MAX_PAIRS = 32;
const MAX_LINE = 256;

export interface Relay {
  /** Ends when the relay does (the console container stopped, its engine went). */
  done: Promise<void>;
  /** Stops the relay in the container too (its exec outlives the connection); resolves once it has. */
  stop(): Promise<void>;
}

/** Relays the console container's CLI connections to the scoped API on 127.0.0.1:`port`. */
export async function relayConsole(rt: DockerApi, container: string, port: number, onError: (e: Error) => void = () => {}): Promise<Relay> {
  const listen = await rt.execStream(container, [RELAY, 'listen']);
  let pending = '';
  let open = 0;
  listen.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    // Only "open c<digits>" lines come from the relay; the learner's shell can write there too.
    if (pending.length > MAX_LINE && !pending.includes('\n')) pending = '';
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      const m = /^open (c\d+)$/.exec(line);
      if (!m || open >= MAX_PAIRS) continue;
      open++;
      void pair(rt, container, m[1]!, port)
        .catch(onError)
        .finally(() => open--);
    }
  });
  const stop = async () => {
    listen.stop();
    // The exec outlives its connection: the relay is told to stop too (before another starts).
    await rt.exec(container, [RELAY, 'stop'], { timeoutMs: 5000 }).catch(() => undefined);
  };
  try {
    await waitForSocket(rt, container);
  } catch (e) {
    await stop();
    throw e;
  }
  return { done: listen.exit, stop };
}

/** One CLI connection: an exec carrying it, joined to a loopback connection to the scoped API. */
async function pair(rt: DockerApi, container: string, id: string, port: number): Promise<void> {
  const pipe = await rt.execPipe(container, [RELAY, 'pair', id]);
  const api = connect(port, '127.0.0.1');
  const close = () => {
    api.destroy();
    pipe.stop();
  };
  api.on('error', close);
  pipe.stdout.on('error', close);
  pipe.stdout.pipe(api);
  // The CLI closed its side (docker exec -i at the end of its input): the request stream ends
  // here too, once every byte it sent is through (stderr may overtake stdout), and the answer goes on.
  let got = 0;
  let sent: number | undefined;
  const endIfAllThrough = () => {
    if (sent !== undefined && got >= sent) pipe.stdout.end();
  };
  pipe.stdout.on('data', (c: Buffer) => {
    got += c.length;
    endIfAllThrough();
  });
  let said = '';
  pipe.stderr.on('data', (c: Buffer) => {
    said += c.toString('utf8');
    const m = /eof (\d+)/.exec(said);
    if (m && sent === undefined) {
      sent = Number(m[1]);
      endIfAllThrough();
    }
  });
  api.pipe(pipe.stdin as NodeJS.WritableStream);
  // The CLI closed its side: the scoped API hears the end of the request stream.
  await pipe.exit;
  api.end();
}

/** The socket is there once socat listens (a CLI command before that would find nothing). */
async function waitForSocket(rt: DockerApi, container: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await rt.exec(container, ['test', '-S', RELAY_DOCKER_HOST.slice('unix://'.length)], { timeoutMs: 5000 });
    if (r.exitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`the console relay in ${container} did not open its socket within 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
