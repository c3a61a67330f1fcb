// What the engine answers, cut down to what a lab's console may see: the engine's version but
// not what else runs on it, Docker's own networks with only this session's members, tasks of
// this session's services, and nodes without their names, addresses or engine details.
import { objectPrefix, shortName } from '../labels.ts';
import { Refusal } from './refusal.ts';
import { CONTEXT_NETWORKS, type Scope } from './scope.ts';

const json = (out: Buffer): unknown => JSON.parse(out.toString('utf8'));
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

/** `docker info` shows the engine, not what else runs on it, nor the host's name. */
export function info(out: Buffer): Buffer {
  const i = json(out) as Record<string, unknown> & { Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } };
  const keep = ['ID', 'ServerVersion', 'OperatingSystem', 'OSType', 'OSVersion', 'Architecture', 'KernelVersion', 'NCPU', 'MemTotal', 'Driver', 'CgroupDriver', 'CgroupVersion', 'DefaultRuntime', 'IndexServerAddress'];
  const trimmed: Record<string, unknown> = Object.fromEntries(keep.filter((k) => k in i).map((k) => [k, i[k]]));
  trimmed.Name = 'docker-host'; // the host's own name stays the host's
  trimmed.Swarm = { LocalNodeState: i.Swarm?.LocalNodeState ?? 'inactive', NodeID: i.Swarm?.NodeID ?? '', ControlAvailable: i.Swarm?.ControlAvailable ?? false };
  trimmed.Warnings = ["this lab's console shows only the engine's version and this lab's objects"];
  return bytes(trimmed);
}

type NetworkView = { Name: string; Labels?: Record<string, string>; Containers?: Record<string, { Name?: string }> };

/** Docker's own networks are shown as context, with only this session's containers in them. */
function trimMembers<T extends NetworkView>(scope: Scope, n: T): T {
  if (!n.Containers) return n;
  const prefix = objectPrefix(scope.session);
  return { ...n, Containers: Object.fromEntries(Object.entries(n.Containers).filter(([, c]) => (c.Name ?? '').startsWith(prefix))) };
}

export function networks(scope: Scope, out: Buffer): Buffer {
  const nets = json(out) as NetworkView[];
  return bytes(nets.filter((n) => (scope.owns(n.Labels) && n.Name !== scope.policy.consoleNetwork) || CONTEXT_NETWORKS.includes(n.Name)).map((n) => trimMembers(scope, n)));
}

export function network(scope: Scope, out: Buffer): Buffer {
  return bytes(trimMembers(scope, json(out) as NetworkView));
}

/** Tasks of this session's services only. */
export function tasks(serviceIds: string[], out: Buffer): Buffer {
  return bytes((json(out) as { ServiceID?: string }[]).filter((t) => serviceIds.includes(t.ServiceID ?? '')));
}

export function task(serviceIds: string[], ref: string, out: Buffer): Buffer {
  const t = json(out) as { ServiceID?: string };
  if (!serviceIds.includes(t.ServiceID ?? '')) throw new Refusal(404, `No such task: ${ref}`);
  return out;
}

/** `docker service ps web` looked the service up by its short name: it is shown under that name. */
export function servicesNamed(scope: Scope, short: string[], out: Buffer): Buffer {
  const list = json(out) as { Spec?: { Name?: string } }[];
  for (const s of list) {
    const name = s.Spec?.Name ? shortName(scope.session, s.Spec.Name) : undefined;
    if (s.Spec && name !== undefined && short.includes(name)) s.Spec.Name = name;
  }
  return bytes(list);
}

type Node = { ID?: string; Version?: unknown; CreatedAt?: string; UpdatedAt?: string; Spec?: { Role?: string; Availability?: string }; Status?: { State?: string }; ManagerStatus?: { Leader?: boolean; Reachability?: string } };

/**
 * The swarm is the Docker host's, not the lab's: a node is shown with what `docker service`
 * needs to follow its tasks (its id, role, availability and state), never its host name,
 * address, engine or resources.
 */
function redactNode(n: Node): Node {
  return {
    ID: n.ID ?? '',
    Version: n.Version ?? {},
    ...(n.CreatedAt ? { CreatedAt: n.CreatedAt } : {}),
    ...(n.UpdatedAt ? { UpdatedAt: n.UpdatedAt } : {}),
    Spec: { Role: n.Spec?.Role ?? '', Availability: n.Spec?.Availability ?? '' },
    Description: { Hostname: 'docker-host (shared by every lab)' },
    Status: { State: n.Status?.State ?? '' },
    ...(n.ManagerStatus ? { ManagerStatus: { Leader: !!n.ManagerStatus.Leader, Reachability: n.ManagerStatus.Reachability ?? '' } } : {}),
  } as Node;
}

export function nodes(out: Buffer): Buffer {
  return bytes((json(out) as Node[]).map(redactNode));
}

export function node(out: Buffer): Buffer {
  return bytes(redactNode(json(out) as Node));
}
