// A lab's networks: reserved names, driver options, fixed subnets that do not overlap, gateways
// inside their subnet, the kind of network the lab teaches, resolver records that stay inside.
import { contains, overlaps, parseCidr } from '../ipv4.ts';
import { describeValue, didYouMean, type YamlPath } from '../problems.ts';
import { KNOWN_DRIVER_OPTS } from '../schema.ts';
import { isLabLocal, type LabChecks } from './context.ts';

/** Names Flowlab or Docker use themselves. */
const RESERVED_SERVICE_NAMES = ['host', 'gateway', 'docker-dns', 'lab-dns', 'unknown'];
const RESERVED_NETWORK_NAMES = ['bridge', 'host', 'none', 'default', 'ingress', 'docker-gwbridge'];

export function checkNetworks(c: LabChecks): void {
  const { lab, error, warn, models, serviceNames, networkNames, subnets } = c;
  for (const name of serviceNames) {
    if (RESERVED_SERVICE_NAMES.includes(name)) error(['services'], `service name "${name}" is reserved (it names ${name === 'host' ? 'the Docker host in probes' : 'a part of every lab'}); choose another`, name);
  }
  for (const name of networkNames) {
    if (RESERVED_NETWORK_NAMES.includes(name)) error(['networks'], `network name "${name}" is reserved by Docker; choose another`, name);
  }
  // Subnets: each network's own, and no two overlapping.
  for (const [name, def] of Object.entries(lab.networks)) {
    const opts = def?.driver_opts ?? {};
    for (const [key, value] of Object.entries(opts)) {
      const path: YamlPath = ['networks', name, 'driver_opts'];
      if (!(KNOWN_DRIVER_OPTS as readonly string[]).includes(key)) {
        error(path, `unknown driver option "${key}"${didYouMean(key, KNOWN_DRIVER_OPTS)}; expected one of: ${KNOWN_DRIVER_OPTS.join(', ')}`, key);
      } else if (key.endsWith('.mtu') && !(Number.isInteger(Number(value)) && Number(value) >= 68 && Number(value) <= 9000)) {
        error([...path, key], `expected an MTU from 68 to 9000, found ${describeValue(value)}`);
      } else if ((key.endsWith('enable_icc') || key.endsWith('enable_ip_masquerade')) && !['true', 'false'].includes(String(value))) {
        error([...path, key], `expected "true" or "false", found ${describeValue(value)}`);
      }
    }
    if (def?.driver === 'overlay' && opts['com.docker.network.bridge.enable_icc'] !== undefined) {
      error(['networks', name, 'driver_opts'], 'enable_icc is a bridge option; an overlay network ignores it');
    }
    const subnet = def?.ipam?.config[0]?.subnet;
    if (!subnet) continue;
    const cidr = parseCidr(subnet);
    const path: YamlPath = ['networks', name, 'ipam', 'config', 0, 'subnet'];
    if (cidr.prefix > 29) error(path, `expected a subnet of /29 or larger (room for the lab's containers and resolver), found /${cidr.prefix}`);
    const clash = subnets.find((s) => overlaps(s.cidr, cidr));
    if (clash) error(path, `subnet ${subnet} overlaps network "${clash.name}"'s subnet; expected subnets that do not overlap`);
    subnets.push({ name, cidr });
    const gw = def.ipam?.config[0]?.gateway;
    if (gw && !contains(cidr, gw)) error(['networks', name, 'ipam', 'config', 0, 'gateway'], `gateway ${gw} is outside subnet ${subnet}`);
  }
  // Network kinds the lab teaches.
  const drivers = Object.values(lab.networks).map((n) => n?.driver ?? 'bridge');
  if (lab.network === 'overlay' && !drivers.includes('overlay')) error(['network'], 'an overlay lab needs at least one network with driver: overlay');
  if (lab.network === 'host' && !models.some((m) => m.attachment.kind === 'host')) warn(['network'], 'a host lab usually has a service with network_mode: host');

  for (const [name, value] of Object.entries(lab.resolver?.records ?? {})) {
    for (const ip of Array.isArray(value) ? value : [value]) {
      if (!isLabLocal(ip, subnets)) warn(['resolver', 'records', name], `${name} answers ${ip}, outside the lab's fixed subnets: probes to it would leave this machine`);
    }
  }
}
