// The workshop as it changes: the server pushes `workshop:view` on every change; GET /api/workshop
// every 5 s covers a socket that is down. Unchanged views are not handed on, so pages redraw only
// when something changed.
import type { LearnerView, TrainerView } from '../protocol.ts';
import { api, sock } from '../api.ts';

const POLL_MS = 5000;

export interface WorkshopEvents<V> {
  view(v: V | null): void;
  message?(m: { text: string; at: string }): void;
  ended?(): void;
  /** A poll failed (the server is down, or the sign-in is gone); null when one succeeds again. */
  problem?(e: Error | null): void;
}

export function followWorkshop<V extends LearnerView | TrainerView>(role: V['role'], on: WorkshopEvents<V>): { refresh(): Promise<void>; stop(): void } {
  let last = '';
  let stopped = false;
  const take = (v: V | null) => {
    if (stopped || (v !== null && v.role !== role)) return;
    const json = JSON.stringify(v);
    if (json === last) return;
    last = json;
    on.view(v);
  };
  const refresh = async () => {
    try {
      const { view } = await api<{ view: V | null }>('GET', '/api/workshop');
      if (!stopped) on.problem?.(null);
      take(view);
    } catch (e) {
      if (!stopped) on.problem?.(e as Error);
    }
  };
  const onView = (v: V) => take(v);
  const onMessage = (m: { text: string; at: string }) => on.message?.(m);
  const onEnded = () => {
    on.ended?.();
    void refresh();
  };
  const s = sock();
  s.on('workshop:view', onView);
  s.on('workshop:message', onMessage);
  s.on('workshop:ended', onEnded);
  s.on('connect', refresh);
  const timer = setInterval(() => void refresh(), POLL_MS);
  void refresh();
  return {
    refresh,
    stop() {
      stopped = true;
      clearInterval(timer);
      s.off('workshop:view', onView);
      s.off('workshop:message', onMessage);
      s.off('workshop:ended', onEnded);
      s.off('connect', refresh);
    },
  };
}
