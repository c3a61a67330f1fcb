// Workshop mode's live views over socket.io: each trainer and learner socket gets
// `workshop:view` (their TrainerView or LearnerView) whenever it changes, `workshop:message` when
// the trainer broadcasts, and `workshop:ended` when the workshop ends. Views are computed at most
// every VIEW_INTERVAL_MS, and only sent when they differ from what that socket last got; a
// learner whose lab became ready is sent theirs at once.
import type { Server, Socket } from 'socket.io';
import type { Principal } from '../workshop/tokens.ts';
import type { Gate } from './auth.ts';

export const VIEW_INTERVAL_MS = 500;

export function attachWorkshopSockets(io: Server, gate: Gate): { close(): void } {
  const { workshops } = gate;
  const last = new Map<Socket, string>();
  let rev = -1;
  let lastMessage: string | undefined = workshops.current()?.message_at?.toString();

  const viewFor = (p: Principal) => (p.role === 'trainer' ? workshops.trainerView() : workshops.learnerView(p.learner));
  const send = (socket: Socket, force = false) => {
    const p = socket.data.principal as Principal | undefined;
    if (!p) return;
    const view = viewFor(p);
    const json = JSON.stringify(view);
    if (!force && last.get(socket) === json) return;
    last.set(socket, json);
    socket.emit('workshop:view', view);
  };

  io.on('connection', (socket: Socket) => {
    last.delete(socket);
    send(socket, true);
    socket.on('disconnect', () => last.delete(socket));
  });

  // Views carry times (a learner's seconds in a lab): a tick every few seconds even when nothing changed.
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    if (workshops.rev === rev && ticks % 10 !== 0) return;
    rev = workshops.rev;
    const w = workshops.current();
    const at = w?.message_at?.toString();
    if (w && at && at !== lastMessage) io.emit('workshop:message', { text: w.message, at: new Date(w.message_at!).toISOString() });
    lastMessage = at;
    for (const socket of io.sockets.sockets.values()) send(socket);
  }, VIEW_INTERVAL_MS);
  timer.unref();

  workshops.on((event, learner) => {
    if (event === 'ended') io.emit('workshop:ended', {});
    // A lab became ready: its learner sees it now, not at the next look (a warm claim takes less).
    if (event !== 'ready') return;
    for (const socket of io.sockets.sockets.values()) {
      const p = socket.data.principal as Principal | undefined;
      if (p?.role === 'learner' && p.learner === learner) send(socket);
    }
  });

  return {
    close: () => {
      clearInterval(timer);
      last.clear();
    },
  };
}
