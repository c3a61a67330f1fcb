// The server, from the browser: JSON over HTTP (every reply is { ok, error?, ... }) and one
// socket.io connection for live flows and terminals.
import { io, type Socket } from 'socket.io-client';
import type { Reply } from '../../server/protocol/reply.ts';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function api<T extends object>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new ApiError('the Flowlab server does not answer; is `npm start` still running?', 0);
  }
  let data: Reply<T>;
  try {
    data = (await res.json()) as typeof data;
  } catch {
    throw new ApiError(`the server answered ${res.status} without JSON`, res.status);
  }
  if (!data.ok) throw new ApiError(data.error || `the server answered ${res.status}`, res.status);
  return data;
}

let socket: Socket | undefined;
export function sock(): Socket {
  socket ??= io({ transports: ['websocket'] });
  return socket;
}

/** After signing in or out: the next sock() connects again, with the new auth cookie. */
export function resetSocket(): void {
  socket?.disconnect();
  socket = undefined;
}

/** An emit with an acknowledgement, as a promise of the reply's data (or its error). */
export function ask<T extends object>(event: string, payload: unknown, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    sock()
      .timeout(timeoutMs)
      .emit(event, payload, (err: Error | null, reply: Reply<T>) => {
        if (err) return reject(new Error(`the server did not answer ${event} in time`));
        if (!reply.ok) return reject(new Error(reply.error || `${event} failed`));
        resolve(reply);
      });
  });
}

export const learnerName = {
  get: (): string => localStorage.getItem('flowlab.learner') ?? '',
  set: (v: string) => localStorage.setItem('flowlab.learner', v),
};
