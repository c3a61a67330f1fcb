// The lab file format v1: the one schema for lab files. Types are derived from it, the JSON
// Schema in scenarios/schema.json is generated from it, and `validate` and `up` both use it.
import { z } from 'zod';
import { FAULT_SCHEMAS } from './fault-schema.ts';
import { isProbeTarget, TARGET_FORMS } from './targets.ts';
import { LAB_ID_RE } from '../protocol/lab-id.ts';
import { TOPIC_IDS } from '../protocol/topics.ts';

export const NAME_RE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$/;
const name = (what: string) =>
  z.string().regex(NAME_RE, `a ${what} name: lowercase letters, digits and "-", starting with a letter, at most 32 characters`);
export const serviceName = name('service');
export const networkName = name('network');
export const nodeName = name('node');
/** How many nodes a lab may have: each is a whole Docker engine on the session's engine. */
export const MAX_NODES = 5;
/** `node.hostname == worker-1`, `node.role != manager`, `node.labels.zone == b`: what placement reads. */
export const CONSTRAINT_RE = /^\s*node\.(hostname|role|labels\.([A-Za-z0-9][A-Za-z0-9._-]*))\s*(==|!=)\s*(\S+)\s*$/;
const NODE_LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const idString = z.string().regex(LAB_ID_RE, 'a kebab-case id like "bridge-basics"');
const text = z.string().min(1, 'a non-empty text');
const stringList = z.array(z.string());
const stringOrList = z.union([z.string(), stringList]);

export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ipv4 = z.string().regex(IPV4_RE, 'an IPv4 address like 10.88.3.7');
const IPV6_RE = /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/;
/** What an extra_hosts entry may point at. */
const hostAddress = (v: string) => IPV4_RE.test(v) || IPV6_RE.test(v) || v === 'host-gateway';
const ipAddress = z.union([ipv4, z.string().regex(/^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/, 'an IPv6 address')]);
const OCTET = '(25[0-5]|2[0-4]\\d|1?\\d?\\d)';
const cidr = z.string().regex(new RegExp(`^${OCTET}(\\.${OCTET}){3}\\/(3[0-2]|[12]?\\d)$`), 'an IPv4 subnet in CIDR form like 10.88.3.0/24 (four numbers up to 255, a prefix up to 32)');
const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration like 500ms, 2s or 1m');

/** A lab file's duration (`500ms`, `2s`, `1m`) in milliseconds. */
export function durationMs(d: string): number;
export function durationMs(d: string | undefined): number | undefined;
export function durationMs(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`expected a duration like 500ms, 2s or 1m; found "${d}"`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000));
}
const port = z.number().int('a whole port number').min(1, 'a port from 1 to 65535').max(65535, 'a port from 1 to 65535');

export const PROBE_STATUS_RE = /^(ok|refused|timeout|reset|empty-reply|not-http|nxdomain|servfail|no-route|too-big|one-backend|http-[1-5]\d\d)$/;
export const probeStatus = z
  .string()
  .regex(PROBE_STATUS_RE, 'a probe status: ok, refused, timeout, reset, empty-reply, not-http, nxdomain, servfail, no-route, too-big, one-backend or http-<code>');

/** `[host_ip:][host_port|auto:]container_port[/tcp|udp]`, or a bare container port. */
export const PORT_SHORT_RE =
  /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(auto|\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/;
const portShort = z
  .string()
  .regex(PORT_SHORT_RE, 'a port mapping like "auto:8080", "8080:80", "127.0.0.1:8080:80" or "53/udp"')
  .refine((v) => {
    const hostIp = PORT_SHORT_RE.exec(v)?.[1];
    return hostIp === undefined || IPV4_RE.test(hostIp);
  }, 'a port mapping whose host address is an IPv4 address like 127.0.0.1 (four numbers up to 255)');
const portLong = z.strictObject({
  target: port,
  published: z.union([port, z.literal('auto')]).optional(),
  host_ip: ipv4.optional(),
  protocol: z.enum(['tcp', 'udp']).optional(),
});

const healthcheck = z.strictObject({
  test: z.union([z.string(), stringList.min(1)]),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(1).max(100).optional(),
  start_period: duration.optional(),
  disable: z.boolean().optional(),
});

/** Capabilities a lab may add; anything else could reach outside the lab. */
export const ALLOWED_CAPS = [
  'NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID',
  'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'AUDIT_WRITE', 'SYS_CHROOT',
] as const;

export const NETWORK_MODE_RE = /^(host|none|bridge|service:[a-z][a-z0-9-]*)$/;

export const serviceSchema = z.strictObject({
  image: text,
  command: stringOrList.optional(),
  environment: z.union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])), stringList]).optional(),
  networks: z
    .union([
      z.array(networkName),
      z.record(
        networkName,
        z.union([
          z.null(),
          z.strictObject({ aliases: z.array(z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'a DNS name')).optional(), ipv4_address: ipv4.optional() }),
        ]),
      ),
    ])
    .optional(),
  network_mode: z.string().regex(NETWORK_MODE_RE, 'host, none, bridge or service:<name>').optional(),
  ports: z.array(z.union([portShort, port, portLong])).optional(),
  expose: z.array(z.union([port, z.string().regex(/^\d{1,5}(\/(tcp|udp))?$/, 'a port like "8080" or "53/udp"')])).optional(),
  dns: z.union([ipAddress, z.array(ipAddress)]).optional(),
  dns_search: stringOrList.optional(),
  dns_opt: stringList.optional(),
  extra_hosts: z.union([z.array(z.string().regex(/^[^:\s]+[:=]\S+$/, 'an entry like "name:10.0.0.5" or "host.docker.internal:host-gateway"').refine((v) => hostAddress(v.split(/[:=]/).slice(1).join(':')), 'an entry whose address is an IPv4 or IPv6 address or host-gateway, like "name:10.0.0.5"')), z.record(z.string(), z.string().refine(hostAddress, 'an IPv4 or IPv6 address, or host-gateway'))]).optional(),
  healthcheck: healthcheck.optional(),
  depends_on: z
    .union([z.array(serviceName), z.record(serviceName, z.strictObject({ condition: z.enum(['service_started', 'service_healthy']) }))])
    .optional(),
  cap_add: stringList.optional(),
  read_only: z.boolean().optional(),
  deploy: z
    .strictObject({
      replicas: z.number().int().min(0).max(10).optional(),
      endpoint_mode: z.enum(['vip', 'dnsrr']).optional(),
      placement: z
        .strictObject({
          constraints: z.array(z.string().regex(CONSTRAINT_RE, 'a placement constraint like "node.hostname == worker-1", "node.role == worker" or "node.labels.zone == b" (== or !=)')).optional(),
        })
        .optional(),
    })
    .optional(),
  /** The node a plain container runs on, in a lab with nodes (a swarm service places itself). */
  node: nodeName.optional(),
});

export const nodeSchema = z.strictObject({
  role: z.enum(['manager', 'worker']).optional(),
  labels: z.record(z.string().regex(NODE_LABEL_KEY, 'a node label key: letters, digits, ".", "_" and "-"'), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export const KNOWN_DRIVER_OPTS = [
  'com.docker.network.driver.mtu',
  'com.docker.network.bridge.enable_icc',
  'com.docker.network.bridge.enable_ip_masquerade',
  'com.docker.network.bridge.host_binding_ipv4',
] as const;

export const networkSchema = z.strictObject({
  driver: z.enum(['bridge', 'overlay']).optional(),
  internal: z.boolean().optional(),
  attachable: z.boolean().optional(),
  driver_opts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  ipam: z
    .strictObject({
      config: z.array(z.strictObject({ subnet: cidr, gateway: ipv4.optional() })).max(1, 'at most one subnet per network'),
    })
    .optional(),
});

const faultSchema = z.discriminatedUnion('type', FAULT_SCHEMAS);

const answerSchema = z.strictObject({
  cause: idString,
  culprit: z.string().min(1),
});

const probeTarget = z.string().refine(isProbeTarget, {
  message: `a probe target: ${TARGET_FORMS}`,
});
const probeFrom = z.string().min(1);

export const probeSchema = z.strictObject({
  id: idString.optional(),
  from: probeFrom,
  to: probeTarget,
  expect: z.union([probeStatus, z.array(probeStatus)]).optional(),
});

const fixExpect = z.strictObject({ from: probeFrom, to: probeTarget, status: probeStatus });

/** The shortest interval a lab's traffic may repeat at. */
export const MIN_TRAFFIC_EVERY_MS = 500;

/** A call a lab's app makes by itself, again and again: a probe target, from a service's own namespace. */
export const trafficSchema = z.strictObject({
  id: idString.optional(),
  from: probeFrom,
  to: probeTarget,
  every: duration.default('2s'),
  /** Each call comes up to this much later than `every` says, at random. */
  jitter: duration.optional(),
  /** What a working lab shows (default ok). */
  expect: z.union([probeStatus, z.array(probeStatus)]).optional(),
});

export const FORBID_NAMES = ['host-network', 'new-published-port', 'hosts-file', 'new-alias', 'extra-network', 'privileged'] as const;

const variantRef = z.union([idString, z.array(idString)]);
const solutionStep = z.union([
  z.strictObject({ variant: variantRef.optional(), exec: z.strictObject({ service: serviceName, run: text }) }),
  z.strictObject({ variant: variantRef.optional(), console: text }),
  z.strictObject({ variant: variantRef.optional(), recreate: serviceSchema.partial().extend({ service: serviceName }) }),
  z.strictObject({
    variant: variantRef.optional(),
    connect: z.strictObject({ service: serviceName, network: networkName, aliases: stringList.optional() }),
  }),
  z.strictObject({ variant: variantRef.optional(), disconnect: z.strictObject({ service: serviceName, network: networkName }) }),
]);

export const labSchema = z.strictObject({
  id: idString,
  title: text,
  summary: text,
  level: z.enum(['beginner', 'intermediate', 'advanced']),
  network: z.enum(['bridge', 'host', 'overlay']),
  minutes: z.number().int().min(1).max(480),
  /** What the lab is about (the catalogue groups by it): one of TOPICS. */
  topic: z.enum(TOPIC_IDS).default('other'),
  tags: z.array(idString).default([]),
  objectives: z.array(text).default([]),
  briefing: text,
  explanation: z.string().default(''),
  capture: z.boolean().default(true),
  grading: z
    .strictObject({
      weights: z
        .strictObject({
          cause: z.number().min(0).optional(),
          culprit: z.number().min(0).optional(),
          evidence: z.number().min(0).optional(),
          fix: z.number().min(0).optional(),
        })
        .optional(),
      pass_mark: z.number().min(0).max(100).optional(),
      attempts: z.number().int().min(1).max(100).optional(),
    })
    .optional(),
  resolver: z
    .strictObject({
      records: z.record(z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/, 'a DNS name'), z.union([ipAddress, z.array(ipAddress).min(1)])).optional(),
    })
    .optional(),
  services: z.record(serviceName, serviceSchema).refine((s) => Object.keys(s).length > 0, 'at least one service'),
  networks: z.record(networkName, z.union([networkSchema, z.null()])).default({}),
  /** The lab's own Docker nodes (a swarm of nested engines per session); none: the session's engine alone. */
  nodes: z
    .record(nodeName, z.union([nodeSchema, z.null()]))
    .refine((n) => Object.keys(n).length <= MAX_NODES, `at most ${MAX_NODES} nodes`)
    .refine((n) => Object.keys(n).length >= 2, 'at least two nodes (one node is what a lab without nodes: already runs on)')
    .optional(),
  faults: z.array(faultSchema).default([]),
  answer: answerSchema.optional(),
  variants: z
    .array(
      z.strictObject({
        id: idString,
        weight: z.number().positive().optional(),
        faults: z.array(faultSchema).default([]),
        answer: answerSchema,
      }),
    )
    .default([]),
  probes: z.array(probeSchema).default([]),
  traffic: z.array(trafficSchema).default([]),
  diagnosis: z
    .strictObject({
      question: text,
      causes: z.array(z.strictObject({ id: idString, text })).min(2, 'at least two causes to choose from'),
    })
    .optional(),
  fix: z
    .strictObject({
      expect: z.array(fixExpect).default([]),
      forbid: z.array(z.enum(FORBID_NAMES)).default([]),
    })
    .optional(),
  hints: z.array(z.strictObject({ text, cost: z.number().int().min(0).max(100) })).default([]),
  solution: z.array(solutionStep).default([]),
});

export type Lab = z.output<typeof labSchema>;
export type LabInput = z.input<typeof labSchema>;
export type ServiceDef = z.output<typeof serviceSchema>;
export type NetworkDef = z.output<typeof networkSchema>;
export type NodeDef = z.output<typeof nodeSchema>;
export type Fault = z.output<typeof faultSchema>;
export type Probe = z.output<typeof probeSchema>;
export type Traffic = z.output<typeof trafficSchema>;
export type Variant = Lab['variants'][number];
export type SolutionStep = Lab['solution'][number];

/** Every key a lab file may have at each level, for did-you-mean suggestions. */
export const KNOWN_KEYS = {
  lab: Object.keys(labSchema.shape),
  service: Object.keys(serviceSchema.shape),
  network: Object.keys(networkSchema.shape),
  node: Object.keys(nodeSchema.shape),
};
