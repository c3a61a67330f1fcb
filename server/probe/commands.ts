// What runs for each probe target: the command Flowlab runs inside the source's network
// namespace (tuned to be classified exactly), and the simpler one a learner would type.
import { commandLine, shellQuote } from '../docker/cli.ts';
import { SPREAD_REQUESTS, type ProbeTarget } from '../lab/targets.ts';
import { TRAFFIC_PORTS } from '../protocol/flow.ts';

/** The payload a UDP probe sends; lab-serve's echo sends it back. */
export const UDP_PAYLOAD = 'flowlab-probe';

const secs = (ms: number) => (ms / 1000).toFixed(1);
const wholeSecs = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

/**
 * A shell command for lab-probe (or lab-traffic); its exit code and output are classified by
 * classify.ts. `traffic`: it is the lab's own traffic, sent from TRAFFIC_PORTS so the captures
 * tell it from the learner's.
 */
export function probeCommand(t: ProbeTarget, timeoutMs: number, opts: { traffic?: boolean } = {}): string {
  const T = secs(timeoutMs);
  const port = `$((${TRAFFIC_PORTS.low} + RANDOM % ${TRAFFIC_PORTS.high - TRAFFIC_PORTS.low + 1}))`;
  const from = opts.traffic ? { dig: ` -b 0.0.0.0#${port}`, socat: `,sourceport=${port},reuseaddr`, curl: ` --local-port ${TRAFFIC_PORTS.low}-${TRAFFIC_PORTS.high}` } : { dig: '', socat: '', curl: '' };
  switch (t.kind) {
    case 'dns':
      return t.qtype === 'PTR'
        ? `dig${from.dig} +time=${wholeSecs(timeoutMs)} +tries=1 +noall +comments +answer +stats -x ${shellQuote(t.name)}`
        : `dig${from.dig} +time=${wholeSecs(timeoutMs)} +tries=1 +noall +comments +answer +stats ${shellQuote(t.name)} ${t.qtype}`;
    case 'tcp':
      // -t 0: done as soon as the connection is made; the server need not answer.
      return `socat -t 0 -T ${T} /dev/null TCP:${shellQuote(t.host)}:${t.port},connect-timeout=${T}${from.socat}`;
    case 'udp':
      return `printf ${UDP_PAYLOAD} | socat -T ${T} - UDP:${shellQuote(t.host)}:${t.port}${from.socat}`;
    case 'http':
      return `curl${from.curl} -sS -o /dev/null -w '%{http_code} %{time_total}' -m ${T} ${shellQuote(`http://${t.host}:${t.port}${t.path}`)}`;
    case 'spread':
      // One line per request: its status, the address that answered and who served it (lab-serve
      // names itself in X-Served-By; behind a virtual IP the address alone would be the VIP's).
      // Stops at the first failure, keeping curl's exit code and message.
      return `rc=0; for _ in $(seq ${SPREAD_REQUESTS}); do curl${from.curl} -sS -o /dev/null -w '%{http_code} %{remote_ip} %header{x-served-by}\\n' -m ${T} ${shellQuote(`http://${t.host}:${t.port}${t.path}`)} || { rc=$?; break; }; done; (exit $rc)`;
    case 'icmp':
      return `ping -n -c 1 -W ${T} ${shellQuote(t.host)}`;
    case 'mtu':
      // -s is the ICMP payload: the packet on the wire is 28 bytes more, the size a learner thinks in.
      return `ping -n -c 1 -M do -s ${t.size - 28} -W ${T} ${shellQuote(t.host)}`;
  }
}

/** The command a learner would type to see the same thing. */
function learnerArgs(t: ProbeTarget, timeoutMs: number): string[] {
  const T = wholeSecs(timeoutMs);
  switch (t.kind) {
    case 'dns':
      return t.qtype === 'PTR' ? ['dig', '+short', '-x', t.name] : t.qtype === 'A' ? ['dig', '+short', t.name] : ['dig', '+short', t.name, t.qtype];
    case 'tcp':
      return ['nc', '-vz', '-w', T, t.host, String(t.port)];
    case 'udp':
      return ['sh', '-c', `echo ping | socat -T ${T} - UDP:${t.host}:${t.port}`];
    case 'http':
      return ['curl', '-sS', '-m', T, `http://${t.host}:${t.port}${t.path}`];
    case 'spread':
      return ['sh', '-c', `for i in $(seq ${SPREAD_REQUESTS}); do curl -sS -m ${T} http://${t.host}:${t.port}${t.path}; done`];
    case 'icmp':
      return ['ping', '-c', '1', '-W', T, t.host];
    case 'mtu':
      return ['ping', '-c', '1', '-M', 'do', '-s', String(t.size - 28), t.host];
  }
}

export type ProbeVia = { kind: 'exec'; container: string } | { kind: 'sidecar'; container: string; image: string } | { kind: 'host' };

export function learnerCommand(t: ProbeTarget, via: ProbeVia, timeoutMs: number): string {
  const args = learnerArgs(t, timeoutMs);
  switch (via.kind) {
    case 'exec':
      return commandLine(['docker', 'exec', via.container, ...args]);
    case 'sidecar':
      return commandLine(['docker', 'run', '--rm', '--network', `container:${via.container}`, via.image, ...args]);
    case 'host':
      return commandLine(args);
  }
}
