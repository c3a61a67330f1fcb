// Workshop mode's wire format: one trainer, many learners, each in their own labs. Shared by the
// server, the web app and the workshop bench.
//
// HTTP (every reply is { ok, error?, ...data }; in workshop mode everything but /api/health,
// POST /api/auth/trainer and POST /api/workshop/join needs the auth cookie or
// `Authorization: Bearer <token>`; 401 without it, 403 for another learner's session):
//   POST /api/auth/trainer { token }                 -> { role: 'trainer' }  (sets the cookie)
//   POST /api/workshop/join { code, name }           -> { token, learner, workshop }  (sets the cookie)
//   GET  /api/me                                     -> Me
//   POST /api/auth/logout                            -> {}
//   POST /api/workshops  CreateWorkshop  (trainer)   -> { workshop: WorkshopInfo }  201
//   GET  /api/workshop                               -> { view: TrainerView | LearnerView | null }
//   POST /api/workshop/labs/:lab/start   (learner)   -> { slot: LabSlot }  202
//   POST /api/workshop/broadcast { message } (trainer) -> {}
//   POST /api/workshop/learners/:learner/labs/:lab/reset (trainer) -> { slot: LabSlot }
//   POST /api/workshop/labs/:lab/reset   (trainer)   -> { reset: number }  (every learner's lab of that lab)
//   GET  /api/workshop/learners/:learner/actions (trainer) -> { actions: LearnerAction[] }
//   GET  /api/workshop/export.csv        (trainer)   -> text/csv (the running workshop, or the newest one ended)
//   POST /api/workshop/end               (trainer)   -> { removed: number }
//   POST /api/workshop/prepare { learners, plan_only? } (trainer) -> { plan: PreparePlan, progress: PrepareProgress | null }
//   DELETE /api/workshop/prepare         (trainer)   -> { prepared: false }  (its warm labs not yet claimed end)
// The session routes (/api/sessions/:id/...) are the same as without workshop mode; a learner
// reaches only their own sessions. POST /api/sessions/:id/restart on a workshop lab answers
// { session: SessionSummary | null, slot: LabSlot, replaces } — 201 with the new session, or 202
// with session null when the server is at its capacity and the restart waits in the queue.
//
// socket.io (the same cookie, or `auth: { token }` in the handshake; a browser's Origin must be
// this server's): `workshop:view` TrainerView | LearnerView whenever it changes,
// `workshop:message` { text, at } when the trainer broadcasts, `workshop:ended` {}.
import { z } from 'zod';
import type { ActionKind, LabSummary } from './session.ts';
import { LAB_ID_RE, LAB_ID_WORDS } from './lab-id.ts';
import type { PreparePlan, PrepareProgress } from './warm.ts';

export const AUTH_COOKIE = 'flowlab_auth';

const labId = z.string().regex(LAB_ID_RE, LAB_ID_WORDS);
/** What learners type: letters, digits, spaces and . _ - (no markup). */
export const displayName = z
  .string()
  .trim()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,39}$/u, 'a display name of 1-40 letters, digits, spaces, . _ - (starting with a letter or digit)');
export const joinCode = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(/^[A-Z0-9]{4,12}$/, 'a join code of 4-12 letters and digits'));

export const trainerLoginSchema = z.strictObject({ token: z.string().min(10).max(400) });
export const joinSchema = z.strictObject({ code: joinCode, name: displayName });
export const createWorkshopSchema = z.strictObject({
  name: z.string().trim().min(1).max(80),
  labs: z.array(labId).min(1).max(40),
  /** Chosen by the server when left out. */
  code: joinCode.optional(),
  /** A time limit: once it is reached, learners can no longer start labs or submit diagnoses. */
  minutes: z.number().int().min(5).max(24 * 60).optional(),
  /** Labs on Docker's default bridge or the host's network cannot be isolated between learners; the trainer opts in knowingly. */
  allow_shared: z.boolean().optional(),
});
export const broadcastSchema = z.strictObject({ message: z.string().trim().min(1).max(500) });

export type CreateWorkshop = z.infer<typeof createWorkshopSchema>;

export type Role = 'trainer' | 'learner' | 'local';

export interface Me {
  role: Role;
  learner?: { id: string; name: string };
  workshop?: { id: string; name: string } | null;
}

/** `ending` from the trainer's "End workshop" until every lab is gone; then `ended`. */
export type WorkshopState = 'open' | 'ending' | 'ended';

export interface WorkshopInfo {
  id: string;
  name: string;
  state: WorkshopState;
  /** Only the trainer sees the code. */
  code?: string;
  labs: LabSummary[];
  minutes: number | null;
  allow_shared: boolean;
  started_at: string;
  ends_at: string | null;
  ended_at: string | null;
  message: { text: string; at: string } | null;
}

/**
 * One learner's place in one lab. `not-started` until they start it; `queued` while the server
 * is at its cap (with their `position`, 1 = next); `starting`, `ready`, `failed`; `expired` after
 * no activity for the idle time (the lab is gone; starting it again makes a new one); `ended`
 * when the workshop ended.
 */
export type LabSlotState = 'not-started' | 'queued' | 'starting' | 'ready' | 'failed' | 'expired' | 'ended';

/** How far a starting lab has come: its networks made, its services up one by one, its faults. */
export interface StartProgress {
  stage: 'preparing' | 'networks' | 'services' | 'faults' | 'ready';
  networks: number;
  services_ready: number;
  services_total: number;
}

/** Why a learner's earlier session of a lab ended. */
export type EndedBy = 'reset' | 'restart' | 'idle' | 'workshop' | 'learner';

export interface LabSlot {
  lab: string;
  state: LabSlotState;
  session: string | null;
  /** Places in the queue: 1 = next. */
  position: number | null;
  /** While starting (or queued), how far it has come. */
  progress: StartProgress | null;
  /** The learner's latest session of this lab that has ended (the one a reset or restart replaced), and why. */
  previous: { session: string; by: EndedBy; at: string } | null;
  /** Best score so far, and whether any attempt passed. */
  score: number | null;
  passed: boolean;
  hints: number;
  attempts: number;
  /** Seconds the learner worked on this lab (active time: pauses of over IDLE_GAP do not count), since the last reset. */
  seconds: number | null;
  error: string | null;
  /** A running lab its engine let down: which engine, why, and what to do. */
  trouble: { kind: 'engine-lost' | 'broken'; engine: string; reason: string; todo: string } | null;
}

/** What the trainer sees of a learner's lab besides their own view of it. */
export interface TrainerSlot extends LabSlot {
  /** The engine the running lab is on (null when none runs). */
  engine: string | null;
  variant: string | null;
  seed: number | null;
  /** The cause of their latest diagnosis (its id and text). */
  cause: { id: string; text: string } | null;
  last_activity: string | null;
  /** No activity for IDLE_FLAG_MINUTES while the lab runs. */
  idle: boolean;
  /** Working on it for long without passing: over the lab's minutes, or two failed attempts. */
  stuck: boolean;
  /** Trainer resets of this lab so far (the counters above count since the last one). */
  resets: number;
}

export interface JoinAddress {
  url: string;
  /** Reachable from this machine only (loopback). */
  local: boolean;
}

/** What happens in the room, newest first. */
export interface FeedEvent {
  at: string;
  kind: 'start-failed' | 'start-slow' | 'expired' | 'queue' | 'engine' | 'reset' | 'passed' | 'prepare';
  text: string;
  learner: string | null;
  lab: string | null;
}

export interface LearnerView {
  role: 'learner';
  workshop: WorkshopInfo;
  me: { id: string; name: string };
  labs: LabSlot[];
}

export interface TrainerLearner {
  id: string;
  name: string;
  joined_at: string;
  labs: TrainerSlot[];
  /** How many docker commands they ran in their consoles (reads and changes). */
  console_actions: number;
}

export interface TrainerView {
  role: 'trainer';
  workshop: WorkshopInfo;
  learners: TrainerLearner[];
  capacity: { max_labs: number; running: number; queued: number; idle_minutes: number };
  /** Where learners open the workshop: the public URL when one is set, then the server's own addresses. */
  join: JoinAddress[];
  /** Per lab with variants: how many learners drew each (workshops spread them). */
  variants: Record<string, Record<string, number>>;
  events: FeedEvent[];
  /** The trainer's Prepare: the plan it was made from and how far it has come (null: not prepared). */
  prepare: { plan: PreparePlan; progress: PrepareProgress } | null;
}

export interface LearnerAction {
  lab: string;
  session: string;
  at: string;
  command: string;
  /** `command`: typed in the docker console (`changed` when it changed the lab); `change`: what was sent for it; `shell`: a shell opened; `look`: a service seen in the inspector. */
  kind: ActionKind;
  changed: boolean;
}
