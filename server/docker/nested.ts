// A Docker engine that runs inside a container of another engine (a lab's node): reached through
// the outer engine's API alone — each connection is a `docker exec <node> docker system
// dial-stdio` whose stdin and stdout carry the inner API's bytes, the way Docker's own ssh
// transport reaches a remote engine. Nothing listens on the node's network, so nothing in a lab
// can reach the node's API, and it works wherever the outer engine is (local, TCP, ssh).
import { Agent } from 'node:http';
import { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { execPipe } from './streams.ts';

/** What the inner engine's connections cost: an exec each (~0.2 s to open), so they are kept and reused. */
const MAX_CONNECTIONS = 8;

/** One exec's stdin and stdout as the socket an HTTP client writes and reads. */
function dialled(outer: Docker, container: string, done: (e: Error | null, socket?: Duplex) => void): void {
  execPipe(outer, container, ['docker', 'system', 'dial-stdio']).then(
    (pipe) => {
      const raw = pipe.stdin as NodeJS.WritableStream & { ref?(): unknown; unref?(): unknown };
      const socket = new Duplex({
        // Its exec gone (the node stopped), the socket is closed once read to the end: a kept
        // connection never outlives its node to fail the next request sent on it.
        allowHalfOpen: false,
        write(chunk: Buffer, _enc, cb) {
          raw.write(chunk, cb);
        },
        final(cb) {
          raw.end();
          cb();
        },
        read() {
          pipe.stdout.resume();
        },
        destroy(err, cb) {
          pipe.stop();
          cb(err);
        },
      });
      pipe.stdout.on('data', (chunk: Buffer) => {
        if (!socket.push(chunk)) pipe.stdout.pause();
      });
      pipe.stdout.on('end', () => socket.push(null));
      pipe.stdout.on('error', (e) => socket.destroy(e));
      pipe.exit.then(() => socket.push(null), () => socket.push(null));
      // What an HTTP client asks of a net.Socket; an idle kept connection must not hold the process.
      Object.assign(socket, {
        setTimeout: () => socket,
        setNoDelay: () => socket,
        setKeepAlive: () => socket,
        ref: () => (raw.ref?.(), socket),
        unref: () => (raw.unref?.(), socket),
      });
      done(null, socket);
    },
    (e: Error) => done(new Error(`the node's engine cannot be reached through its container ${container}: ${e.message}`)),
  );
}

/** One connection to the engine inside `container` (what the console's scoped API forwards over). */
export function dialInside(outer: Docker, container: string): Promise<Duplex> {
  return new Promise((resolve, reject) => dialled(outer, container, (e, socket) => (e ? reject(e) : resolve(socket!))));
}

/** A dockerode client for the engine inside `container` of the engine `outer` reaches. */
export function dockerInside(outer: Docker, container: string): Docker {
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_CONNECTIONS });
  (agent as unknown as { createConnection: (o: unknown, cb: (e: Error | null, s?: Duplex) => void) => undefined }).createConnection = (_options, cb) => {
    dialled(outer, container, cb);
    return undefined;
  };
  // The socket path is never opened (the agent dials): it only keeps DOCKER_HOST from choosing another transport.
  return new Docker({ agent, socketPath: '/var/run/docker.sock' } as Docker.DockerOptions);
}
