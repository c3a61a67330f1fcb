// The one reply shape of every HTTP answer and socket acknowledgement: `{ ok: true, ...data }`,
// or `{ ok: false, error }` where the error says what was expected, what was found and where.

export type Ok<T extends object = object> = { ok: true } & T;
export type Failed = { ok: false; error: string };
export type Reply<T extends object = object> = Ok<T> | Failed;

export const ok = <T extends object>(data: T = {} as T): Ok<T> => ({ ok: true, ...data });
export const failed = (error: string): Failed => ({ ok: false, error });
