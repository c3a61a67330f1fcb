// Probe targets as a lab file and the CLI write them, and `${...}` references to session facts.

export type ProbeTarget =
  | { kind: 'dns'; name: string; qtype: 'A' | 'AAAA' | 'SRV' | 'PTR' }
  | { kind: 'tcp' | 'udp'; host: string; port: number }
  | { kind: 'http'; host: string; port: number; path: string }
  /** SPREAD_REQUESTS HTTP requests, each resolving the name again: how many backends answer. */
  | { kind: 'spread'; host: string; port: number; path: string }
  | { kind: 'icmp'; host: string }
  | { kind: 'mtu'; host: string; size: number };

/** Every form a probe target takes, as error messages name them. */
export const TARGET_FORMS = 'dns:<name>[/A|AAAA|SRV|PTR], tcp:<host>:<port>, udp:<host>:<port>, http://<host>:<port>/<path>, spread:http://<host>:<port>/<path>, icmp:<host> or mtu:<host>:<size>';

/** How many requests a spread probe makes. */
export const SPREAD_REQUESTS = 12;

const HOST = '[A-Za-z0-9_.:\\[\\]-]+?';
const PATTERNS: [RegExp, (m: RegExpExecArray) => ProbeTarget | undefined][] = [
  [/^dns:([A-Za-z0-9_.-]+)(?:\/(A|AAAA|SRV|PTR))?$/, (m) => ({ kind: 'dns', name: m[1]!, qtype: (m[2] ?? 'A') as 'A' }),],
  [new RegExp(`^(tcp|udp):(${HOST}):(\\d{1,5})$`), (m) => withPort({ kind: m[1] as 'tcp', host: m[2]!, port: Number(m[3]) })],
  [
    new RegExp(`^http://(${HOST})(?::(\\d{1,5}))?(/[^\\s]*)?$`),
    (m) => withPort({ kind: 'http' as const, host: m[1]!, port: m[2] ? Number(m[2]) : 80, path: m[3] ?? '/' }),
  ],
  [
    new RegExp(`^spread:http://(${HOST})(?::(\\d{1,5}))?(/[^\\s]*)?$`),
    (m) => withPort({ kind: 'spread' as const, host: m[1]!, port: m[2] ? Number(m[2]) : 80, path: m[3] ?? '/' }),
  ],
  [new RegExp(`^icmp:(${HOST})$`), (m) => ({ kind: 'icmp', host: m[1]! })],
  [
    new RegExp(`^mtu:(${HOST}):(\\d{2,5})$`),
    (m) => {
      const size = Number(m[2]);
      return size >= 28 && size <= 65507 ? { kind: 'mtu', host: m[1]!, size } : undefined;
    },
  ],
];

function withPort<T extends { port: number }>(t: T): T | undefined {
  return t.port >= 1 && t.port <= 65535 ? t : undefined;
}

/** Parses a target whose `${...}` references have already been resolved. */
export function parseProbeTarget(target: string): ProbeTarget | undefined {
  for (const [re, build] of PATTERNS) {
    const m = re.exec(target);
    if (m) return build(m);
  }
  return undefined;
}

const REF_RE = /\$\{([^}]*)\}/g;

/** True when the target is well formed once its references are filled in. */
export function isProbeTarget(target: string): boolean {
  return parseProbeTarget(target.replace(REF_RE, (_, ref: string) => (/\.ports\./.test(ref) ? '1' : 'x'))) !== undefined;
}

/** A `${...}` reference: `${svc.ports.8080}`, `${svc.ports.53/udp}`, `${svc.ip}` or `${svc.ips.<network>}`. */
export type Reference =
  | { kind: 'port'; service: string; containerPort: number; proto: 'tcp' | 'udp' }
  | { kind: 'ip'; service: string; network?: string };

export function parseReference(ref: string): Reference | undefined {
  let m = /^([a-z][a-z0-9-]*)\.ports\.(\d{1,5})(?:\/(tcp|udp))?$/.exec(ref);
  if (m) return { kind: 'port', service: m[1]!, containerPort: Number(m[2]), proto: (m[3] ?? 'tcp') as 'tcp' };
  m = /^([a-z][a-z0-9-]*)\.ip$/.exec(ref);
  if (m) return { kind: 'ip', service: m[1]! };
  m = /^([a-z][a-z0-9-]*)\.ips\.([a-z][a-z0-9-]*)$/.exec(ref);
  if (m) return { kind: 'ip', service: m[1]!, network: m[2]! };
  return undefined;
}

export function referencesIn(text: string): string[] {
  return [...text.matchAll(REF_RE)].map((m) => m[1]!);
}

/** Fills in `${...}` references; `resolve` returns undefined for one it cannot answer. */
export function interpolate(text: string, resolve: (ref: Reference) => string | undefined): string {
  return text.replace(REF_RE, (whole, raw: string) => {
    const ref = parseReference(raw);
    const value = ref && resolve(ref);
    if (value === undefined) throw new Error(`cannot resolve ${whole}: expected ${'${<service>.ports.<port>}'}, ${'${<service>.ip}'} or ${'${<service>.ips.<network>}'} naming a service of this session`);
    return value;
  });
}
