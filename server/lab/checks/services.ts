// A lab's services: images, network attachments and addresses, aliases, dependencies (and their
// cycles), ports, capabilities, swarm deployment, healthchecks, DNS servers that stay inside.
import { contains, hostAt } from '../ipv4.ts';
import { labImage } from '../lab-images.ts';
import { dependencyCycle } from '../model.ts';
import { didYouMean, type YamlPath } from '../problems.ts';
import { ALLOWED_CAPS } from '../schema.ts';
import { has, own } from '../../util/lookup.ts';
import type { ValidateContext } from '../validate.ts';
import { isLabLocal, type LabChecks } from './context.ts';

export function checkServices(c: LabChecks): void {
  const { lab, ctx, error, warn, models, serviceNames, networkNames, byName, subnets } = c;
  const subnetOf = (network: string) => subnets.find((s) => s.name === network)?.cidr;
  // Services.
  const aliasOwners = new Map<string, string>();
  const fixedHostPorts = new Map<string, string>();
  for (const m of models) {
    const sp: YamlPath = ['services', m.name];
    const def = m.def;
    checkImage(def.image, ctx, (msg, sev) => (sev === 'error' ? error : warn)([...sp, 'image'], msg));

    if (def.network_mode && def.networks) error(sp, `"network_mode: ${def.network_mode}" and "networks" cannot both be set (Docker refuses it); expected one of them`, 'networks');
    const a = m.attachment;
    if (a.kind === 'service') {
      if (a.service === m.name) error([...sp, 'network_mode'], 'a service cannot share its own network namespace');
      else if (!byName.has(a.service)) error([...sp, 'network_mode'], `unknown service "${a.service}"${didYouMean(a.service, serviceNames)}; expected one of: ${serviceNames.join(', ')}`);
    }
    if (a.kind === 'networks') {
      a.networks.forEach((n, i) => {
        const np: YamlPath = Array.isArray(def.networks) ? [...sp, 'networks', i] : [...sp, 'networks'];
        if (!has(lab.networks, n.network)) {
          const msg = `unknown network "${n.network}"${didYouMean(n.network, networkNames)}; expected one of the lab's networks: ${networkNames.join(', ') || '(none defined: add it under networks:)'}`;
          if (Array.isArray(def.networks)) error(np, msg);
          else error(np, msg, n.network);
          return;
        }
        if (n.ipv4Address) {
          const cidr = subnetOf(n.network);
          const ap = [...sp, 'networks', n.network, 'ipv4_address'];
          if (!cidr) error(ap, `a fixed ipv4_address needs a fixed subnet: add ipam.config[0].subnet to network "${n.network}"`);
          else if (!contains(cidr, n.ipv4Address)) error(ap, `${n.ipv4Address} is outside network "${n.network}"'s subnet`);
          else if ([hostAt(cidr, 0), hostAt(cidr, 1), hostAt(cidr, -1), hostAt(cidr, -2)].includes(n.ipv4Address)) {
            error(ap, `${n.ipv4Address} is reserved (network, gateway, broadcast or the lab resolver, which takes ${hostAt(cidr, -2)}); expected another address`);
          }
        }
        for (const alias of n.aliases) {
          const key = `${n.network}/${alias}`;
          const owner = aliasOwners.get(key);
          if (owner && owner !== m.name) warn([...sp, 'networks', n.network, 'aliases'], `alias "${alias}" is also claimed by "${owner}" on network "${n.network}": Docker answers with both addresses in random order`);
          aliasOwners.set(key, m.name);
        }
      });
    }

    (def.depends_on && Array.isArray(def.depends_on) ? def.depends_on : Object.keys(def.depends_on ?? {})).forEach((dep, i) => {
      const dp: YamlPath = Array.isArray(def.depends_on) ? [...sp, 'depends_on', i] : [...sp, 'depends_on'];
      if (dep === m.name) error(dp, `"${m.name}" cannot depend on itself`, Array.isArray(def.depends_on) ? undefined : dep);
      else if (!byName.has(dep)) error(dp, `unknown service "${dep}"${didYouMean(dep, serviceNames)}; expected one of: ${serviceNames.join(', ')}`, Array.isArray(def.depends_on) ? undefined : dep);
    });

    m.ports.forEach((p, i) => {
      const pp: YamlPath = [...sp, 'ports', i];
      if (p.containerPort < 1 || p.containerPort > 65535) error(pp, `expected a container port from 1 to 65535, found ${p.containerPort}`);
      if (p.hostPort !== 'auto') {
        if (p.hostPort < 1 || p.hostPort > 65535) error(pp, `expected a host port from 1 to 65535 or auto, found ${p.hostPort}`);
        const key = `${p.hostIp}:${p.hostPort}/${p.proto}`;
        const other = fixedHostPorts.get(key);
        if (other) error(pp, `host port ${p.hostPort}/${p.proto} is already published by "${other}"; expected each host port once (or auto)`);
        fixedHostPorts.set(key, m.name);
        if (a.kind !== 'host') warn(pp, `fixed host port ${p.hostPort}: two sessions of this lab cannot run at once; "auto:${p.containerPort}" picks a free port per session`);
      }
      if (p.hostIp !== '127.0.0.1' && !p.hostIp.startsWith('127.')) warn(pp, `published on ${p.hostIp}: reachable from outside this machine; labs publish on 127.0.0.1`);
    });
    (def.expose ?? []).forEach((e, i) => {
      const n = Number(String(e).split('/')[0]);
      if (n < 1 || n > 65535) error([...sp, 'expose', i], `expected a port from 1 to 65535, found ${n}`);
    });
    if (a.kind === 'host' && m.ports.length > 0) {
      warn([...sp, 'ports'], 'published ports are discarded in host network mode (Docker ignores them): the service binds the host\'s ports directly');
    }
    if ((a.kind === 'host' || a.kind === 'none') && def.dns) warn([...sp, 'dns'], `dns is ignored with network_mode ${a.kind}`);

    (def.cap_add ?? []).forEach((cap, i) => {
      const c = cap.toUpperCase().replace(/^CAP_/, '');
      const cp: YamlPath = [...sp, 'cap_add', i];
      if (a.kind === 'host') error(cp, `a host-network service gets no capabilities (it would act on the host's own network); found cap_add ${cap}`);
      else if (!(ALLOWED_CAPS as readonly string[]).includes(c)) {
        error(cp, `capability ${cap} is not allowed in a lab${c === 'ALL' || c.startsWith('SYS_') || c.startsWith('MAC_') || c === 'BPF' ? ' (it reaches outside the container)' : ''}; expected one of: ${ALLOWED_CAPS.join(', ')}${didYouMean(c, ALLOWED_CAPS)}`);
      }
    });

    if (def.deploy) {
      if (lab.network !== 'overlay') error([...sp, 'deploy'], `deploy makes a swarm service, which needs an overlay lab; expected network: overlay at the top, found network: ${lab.network}`);
      if (a.kind !== 'networks') error([...sp, 'deploy'], 'a swarm service needs networks: (overlay networks), not network_mode');
      else for (const n of a.networks) {
        if (own(lab.networks, n.network) && own(lab.networks, n.network)?.driver !== 'overlay') error([...sp, 'networks'], `swarm service on network "${n.network}", which is not an overlay network; expected driver: overlay`);
      }
      if (def.healthcheck?.test !== undefined) warn([...sp, 'healthcheck'], 'swarm services are waited for until their tasks run; the healthcheck is passed to the tasks');
    } else if (a.kind === 'networks') {
      for (const n of a.networks) {
        const nd = own(lab.networks, n.network);
        if (nd?.driver === 'overlay' && nd.attachable !== true) {
          error([...sp, 'networks'], `container "${m.name}" joins overlay network "${n.network}", which is not attachable; expected attachable: true on the network (or deploy: to make it a swarm service)`);
        }
      }
    }
    if (def.healthcheck && !def.healthcheck.disable) {
      const t = def.healthcheck.test;
      if (Array.isArray(t) && !['CMD', 'CMD-SHELL', 'NONE'].includes(t[0]!)) {
        error([...sp, 'healthcheck', 'test', 0], `expected "CMD", "CMD-SHELL" or "NONE" first, found "${t[0]}"`);
      }
    }
    for (const [i, server] of (Array.isArray(def.dns) ? def.dns : def.dns ? [def.dns] : []).entries()) {
      const dp: YamlPath = Array.isArray(def.dns) ? [...sp, 'dns', i] : [...sp, 'dns'];
      if (!isLabLocal(server, subnets)) error(dp, `dns server ${server} is outside the lab: queries would leave this machine; expected an address inside one of the lab's fixed subnets or 127.0.0.0/8`);
    }
  }

  const cycle = dependencyCycle(models);
  if (cycle) error(['services', cycle[0]!], `dependency cycle: ${cycle.join(' -> ')}; expected services that can start in some order`, 'depends_on');
}

function checkImage(image: string, ctx: ValidateContext, report: (msg: string, severity: 'error' | 'warning') => void): void {
  if (labImage(image)) return;
  if (ctx.localImages === undefined) {
    report(`cannot check image "${image}": Docker is not reachable; expected a lab image (toolbox) or an image present locally`, 'warning');
    return;
  }
  const ref = image.includes(':') || image.includes('@') ? image : `${image}:latest`;
  if (!ctx.localImages.has(ref) && !ctx.localImages.has(image)) {
    report(`image "${image}" is neither a lab image (toolbox) nor present locally (no registry can be reached to pull it); expected toolbox or a local image`, 'error');
  }
}
