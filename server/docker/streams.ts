// Stream plumbing for Docker calls that answer with a stream: progress lines of a build, pull or
// import; the multiplexed stdout/stderr of logs and execs; a terminal.
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecPipe, ExecResult, ExecStream, TtySession } from './types.ts';

export async function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: { stream?: string; status?: string; error?: string }) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { stream?: string; status?: string; error?: string }) => {
        try {
          onEvent(event);
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}

/** Docker's multiplexed log format: 8-byte headers before each chunk. */
export function demuxBuffer(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf);
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return i === 0 ? buf.toString('utf8') : out;
}

/** Runs a command in a container to its end (or `timeoutMs`): its exit code and output. */
export async function execCollect(docker: Docker, nameOrId: string, cmd: string[], timeoutMs?: number): Promise<ExecResult> {
  const exec = await docker.getContainer(nameOrId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: { out: Buffer[]; err: Buffer[] } = { out: [], err: [] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  docker.modem.demuxStream(stream, out, err);
  const timedOut = await new Promise<boolean>((resolve, reject) => {
    const timer = timeoutMs ? setTimeout(() => { stream.destroy(); resolve(true); }, timeoutMs) : undefined;
    stream.on('end', () => { clearTimeout(timer); resolve(false); });
    stream.on('close', () => { clearTimeout(timer); resolve(false); });
    stream.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  const info = timedOut ? undefined : await exec.inspect();
  return {
    exitCode: info?.ExitCode ?? -1,
    stdout: Buffer.concat(chunks.out).toString('utf8'),
    stderr: Buffer.concat(chunks.err).toString('utf8'),
    timedOut,
  };
}

/** A long-running command whose output is followed as it comes. */
export async function execFollow(docker: Docker, nameOrId: string, cmd: string[]): Promise<ExecStream> {
  const exec = await docker.getContainer(nameOrId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  return { ...demuxed(docker, stream), stop: () => stream.destroy() };
}

/** An exec's attached stream split into stdout and stderr, both ended when it ends. */
function demuxed(docker: Docker, stream: Duplex): Pick<ExecStream, 'stdout' | 'stderr' | 'exit'> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const exit = new Promise<void>((resolve) => {
    const done = () => {
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  return { stdout, stderr, exit };
}

/**
 * A command whose stdin and stdout are a byte pipe (`docker exec -i`, no terminal): what is
 * written goes to its stdin, its stdout comes out demultiplexed; ending stdin closes the process's.
 */
export async function execPipe(docker: Docker, nameOrId: string, cmd: string[]): Promise<ExecPipe> {
  const exec = await docker.getContainer(nameOrId).exec({ Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  return { stdin: stream, ...demuxed(docker, stream), stop: () => stream.destroy() };
}

/** A command with a terminal: input in, the terminal's output out, resizable. */
export async function execTerminal(docker: Docker, nameOrId: string, cmd: string[], size: { cols: number; rows: number }): Promise<TtySession> {
  const exec = await docker.getContainer(nameOrId).exec({ Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, ConsoleSize: [size.rows, size.cols] } as Docker.ExecCreateOptions);
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as NodeJS.ReadWriteStream;
  // Engines before API 1.42 ignore ConsoleSize on exec: size the terminal once it runs.
  await exec.resize({ w: size.cols, h: size.rows }).catch(() => undefined);
  const exit = new Promise<number>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      exec.inspect().then((i) => resolve(i.ExitCode ?? 0), () => resolve(0));
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
  return { stream, resize: async (cols, rows) => void (await exec.resize({ w: cols, h: rows }).catch(() => undefined)), exit };
}
