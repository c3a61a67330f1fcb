// Session shapes shared by the CLI's --json output, the HTTP API and the web app.
// The JSON field names are a contract (scripts depend on them).
import { z } from 'zod';
import { TOPIC_IDS } from './topics.ts';

export const SESSION_STATES = ['starting', 'ready', 'ended', 'failed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];
/**
 * A ready session its engine let down: `engine-lost` while the engine does not answer (it comes
 * back by itself when the engine does), `broken` when it could not be brought back after the
 * engine restarted (Restart starts it again). Shown as the session's state.
 */
export const SESSION_TROUBLES = ['engine-lost', 'broken'] as const;
export type SessionTrouble = (typeof SESSION_TROUBLES)[number];
/** What a session's `state` says in status, the API and the web app. */
export const SHOWN_STATES = [...SESSION_STATES, ...SESSION_TROUBLES] as const;

export const portBindingSchema = z.object({
  host_ip: z.string(),
  host_port: z.number().int(),
  container_port: z.number().int(),
  proto: z.enum(['tcp', 'udp']),
});

export const topologyServiceSchema = z.object({
  name: z.string(),
  /** The container (or, for a swarm service, the service) Docker knows it by. */
  container: z.string(),
  kind: z.enum(['container', 'swarm-service']),
  network_mode: z.string(),
  networks: z.record(z.string(), z.object({ ip: z.string(), aliases: z.array(z.string()) })),
  ports: z.array(portBindingSchema),
  replicas: z.number().int().optional(),
  /** In a lab with nodes: the nodes the lab places it on (a container's node; the nodes a swarm service's constraints allow), as designed. */
  nodes: z.array(z.string()).optional(),
  /** The service as the lab designs it (before any fault): what the graph shows until the learner looks. */
  designed: z
    .object({ network_mode: z.string(), networks: z.record(z.string(), z.array(z.string())), ports: z.array(portBindingSchema) })
    .optional(),
});

export const topologyNetworkSchema = z.object({
  name: z.string(),
  /** The Docker network's name (`fl-<session>-<name>`). */
  docker_name: z.string(),
  /** The gateway Docker gave the network (its first address unless the lab set one). */
  gateway: z.string(),
  driver: z.enum(['bridge', 'overlay']),
  subnet: z.string(),
  internal: z.boolean(),
  /** As the lab sets it (Docker's default otherwise: 1500 on a bridge, 1450 on an overlay). */
  mtu: z.number().int(),
});

/** What `flowlab up --json` prints and `POST /api/sessions` answers. */
export const topologySchema = z.object({
  session: z.string(),
  scenario: z.string(),
  seed: z.number().int(),
  /** The Docker engine the lab runs on (absent in sessions made before engines had names: local). */
  engine: z.string().optional(),
  services: z.array(topologyServiceSchema),
  networks: z.array(topologyNetworkSchema),
  resolver: z.object({ container: z.string(), ips: z.record(z.string(), z.string()) }).optional(),
  /**
   * A lab with nodes: its nodes as the lab designs them (names, roles, labels, underlay address).
   * Never their live state: a drained or relabelled node is for the learner to find.
   */
  nodes: z.array(z.object({ name: z.string(), role: z.enum(['manager', 'worker']), labels: z.record(z.string(), z.string()), address: z.string() })).optional(),
});

export type Topology = z.infer<typeof topologySchema>;
export type TopologyService = z.infer<typeof topologyServiceSchema>;
export type PortBinding = z.infer<typeof portBindingSchema>;

/** A session as `flowlab status --json` and `GET /api/sessions` show it: no ground truth. */
export const sessionSummarySchema = z.object({
  session: z.string(),
  scenario: z.string(),
  title: z.string(),
  /** starting, ready, ended, failed — or, for a ready one its engine let down, engine-lost or broken. */
  state: z.enum(SHOWN_STATES),
  seed: z.number().int(),
  owner: z.string(),
  /** The Docker engine the session lives on. */
  engine: z.string(),
  /** Why it is engine-lost or broken, since when, and what to do. */
  trouble: z.object({ kind: z.enum(SESSION_TROUBLES), reason: z.string(), since: z.string(), todo: z.string() }).nullable(),
  created_at: z.string(),
  ready_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  error: z.string().nullable(),
  topology: topologySchema.nullable(),
  /** Services whose live details the learner has seen (inspected, or all once graded): the graph shows them as they run. */
  revealed: z.array(z.string()),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

export const createSessionBodySchema = z.strictObject({
  scenario: z.string().min(1),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  learner: z.string().min(1).max(64).optional(),
  /** An engine of the pool by name (default: the one with the most room that can run it). */
  engine: z.string().min(1).max(31).optional(),
});

export const labSummarySchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  network: z.enum(['bridge', 'host', 'overlay']),
  level: z.enum(['beginner', 'intermediate', 'advanced']),
  minutes: z.number(),
  topic: z.enum(TOPIC_IDS),
  tags: z.array(z.string()),
  isolation: z.object({ default_bridge: z.boolean(), host_network: z.boolean() }),
  /** How many Docker nodes of its own the lab runs (0: the session's engine alone). */
  nodes: z.number().int().min(0).default(0),
});
export type LabSummary = z.infer<typeof labSummarySchema>;

/**
 * An action log entry: a request Flowlab sent ('change'), a docker command the learner typed in
 * the console ('command'), a shell they opened ('shell'), a service they looked at in the inspector ('look').
 */
export type ActionKind = 'change' | 'command' | 'shell' | 'look';

export interface ActionEntry {
  seq: number;
  at: string;
  command: string;
  reveals_fault: boolean;
}

/** What a learner may know of a lab before being graded: no variants, answers, faults or solution. */
export const labViewSchema = labSummarySchema.extend({
  objectives: z.array(z.string()),
  briefing: z.string(),
  diagnosis: z.object({ question: z.string(), causes: z.array(z.object({ id: z.string(), text: z.string() })) }).nullable(),
  hints: z.array(z.object({ cost: z.number() })),
  probes: z.array(z.object({ from: z.string(), to: z.string() })),
  grading: z.object({ pass_mark: z.number(), attempts: z.number(), weights: z.object({ cause: z.number(), culprit: z.number(), evidence: z.number(), fix: z.number() }) }),
});
export type LabView = z.infer<typeof labViewSchema>;
