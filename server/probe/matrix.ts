// The probe matrix a topology implies: every service towards every other service's names
// (its own and its aliases) and ports, and the Docker host towards every published port.
import { servicesOf } from '../lab/model.ts';
import type { Lab } from '../lab/schema.ts';
import type { Topology } from '../protocol/session.ts';
import type { ProbeSpec } from '../protocol/probe.ts';

export function deriveMatrix(lab: Lab, topology: Topology): ProbeSpec[] {
  const models = servicesOf(lab);
  const out: ProbeSpec[] = [];
  const onHostNetwork = (name: string, kind: string) => kind === 'host' || topology.services.find((s) => s.name === name)?.network_mode === 'host';
  for (const from of models) {
    if (from.attachment.kind === 'none') continue;
    if (onHostNetwork(from.name, from.attachment.kind)) {
      // On the host's network a name goes to the host's resolver, off this machine: a
      // host-network service reaches the others through 127.0.0.1 only.
      for (const to of topology.services) {
        if (to.name === from.name) continue;
        for (const p of to.ports) out.push({ from: from.name, to: `tcp:127.0.0.1:${p.host_port}` });
      }
      for (const to of models) if (to.name !== from.name && onHostNetwork(to.name, to.attachment.kind)) for (const l of to.listens) out.push({ from: from.name, to: `${l.proto}:127.0.0.1:${l.port}` });
      continue;
    }
    for (const to of models) {
      if (to.name === from.name) continue;
      const aliases = to.attachment.kind === 'networks' ? to.attachment.networks.flatMap((n) => n.aliases) : [];
      for (const name of new Set([to.name, ...aliases])) out.push({ from: from.name, to: `dns:${name}` });
      for (const l of to.listens) out.push({ from: from.name, to: `${l.proto}:${to.name}:${l.port}` });
    }
  }
  for (const s of topology.services) {
    for (const p of s.ports) out.push({ from: 'host', to: `tcp:${p.host_ip === '0.0.0.0' ? '127.0.0.1' : p.host_ip}:${p.host_port}` });
  }
  return out;
}
