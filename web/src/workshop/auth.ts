// Who the browser is to the server. Without workshop mode everyone is `local`; in workshop mode
// the trainer signs in with the link `flowlab serve --workshop` prints, learners with a join code.
// Either way the server sets an HttpOnly cookie: this code never sees or keeps a token.
import type { Me } from '../protocol.ts';
import { api, ApiError, resetSocket } from '../api.ts';

/** The signed-in role, or null when workshop mode wants a sign-in first. */
export async function whoAmI(): Promise<Me | null> {
  try {
    return await api<Me>('GET', '/api/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    // A server without workshop mode's routes: the plain catalogue, as before.
    if (e instanceof ApiError && e.status === 404) return { role: 'local' };
    throw e;
  }
}

/** `#trainer=<token>`, taken out of the address (and so out of the history) before it is used. */
export function takeTrainerToken(): string | null {
  const m = /^#trainer=([^&]+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return decodeURIComponent(m[1]!);
}

export async function signInTrainer(token: string): Promise<void> {
  try {
    await api('POST', '/api/auth/trainer', { token });
  } catch (e) {
    throw new Error(`the trainer link was not accepted: ${(e as Error).message}`, { cause: e });
  }
  resetSocket();
}

export async function join(code: string, name: string): Promise<void> {
  await api('POST', '/api/workshop/join', { code, name });
  resetSocket();
}
