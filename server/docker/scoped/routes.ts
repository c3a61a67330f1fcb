// Every request a lab's console may make, and the request Flowlab sends the engine for it. Deny
// by default: a route not named here is refused. Each route reads its query and body strictly
// and builds what it forwards; a route that takes no body refuses one.
import { commandLine } from '../cli.ts';
import { LABEL, NAME_PREFIX, objectName } from '../labels.ts';
import { endpoint, rewriteCreate } from './create.ts';
import type { Forward } from './forward.ts';
import { filtersOf, readQuery, writeFilters, type Param, type Query } from './query.ts';
import { Refusal, notFound, refuse } from './refusal.ts';
import { bounded } from '../../util/lookup.ts';
import type { ConsoleRequest } from './request.ts';
import * as view from './responses.ts';
import type { Scope } from './scope.ts';
import { rewriteServiceUpdate } from './service-update.ts';
import { connectShape, createShape, disconnectShape, execShape, execStartShape, nodeSpecShape, readBody, readJsonBody } from './shapes.ts';

export interface RouteContext {
  scope: Scope;
  /** Exec instances this console created: the only ones it may start or inspect. */
  execs: Set<string>;
}

const LOGS: Record<string, Param> = { follow: 'bool', stdout: 'bool', stderr: 'bool', since: 'time', until: 'time', timestamps: 'bool', tail: 'text', details: 'bool' };
const ATTACH: Record<string, Param> = { stream: 'bool', stdin: 'bool', stdout: 'bool', stderr: 'bool', logs: 'bool', detachKeys: 'text' };
const RESIZE: Record<string, Param> = { h: 'int', w: 'int' };
const CHANGES: Record<string, Record<string, Param>> = { start: { detachKeys: 'text' }, stop: { t: 'int' }, restart: { t: 'int' }, kill: { signal: 'signal' }, pause: {}, unpause: {} };

function noBody(req: ConsoleRequest, what: string): void {
  if (req.body.length > 0) throw new Refusal(400, `${what} takes no body, and the console forwards none (found ${req.body.length} bytes)`);
}

/** `docker <verb>` in the action log, with the flags the forwarded query holds. */
function changeCommand(verb: string, name: string, q: Query): string {
  const flags = verb === 'kill' && q.signal && q.signal !== 'KILL' ? ['--signal', q.signal] : (verb === 'stop' || verb === 'restart') && q.t ? ['--time', q.t] : [];
  return commandLine(['docker', verb, ...flags, name]);
}

function withSessionLabel(scope: Scope, q: Query): Query {
  const f = filtersOf(q);
  f.label = [...(f.label ?? []), `${LABEL.session}=${scope.session}`];
  return { ...q, filters: writeFilters(f) };
}

export async function decide(ctx: RouteContext, req: ConsoleRequest): Promise<Forward> {
  const { scope } = ctx;
  const { method, segments: p } = req;
  const [a, b, c] = p;
  const is = (m: string, n: number) => method === m && p.length === n;
  const query = (allowed: Record<string, Param>, where = `${method} /${p.join('/')}`) => readQuery(req.query, allowed, where);
  const get = (path: string, q: Query = {}, extra: Partial<Forward> = {}): Forward => ({ method: 'GET', path, query: q, ...extra });
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') noBody(req, `${method} /${p.join('/')}`);

  if (a === '_ping' && p.length === 1 && (method === 'GET' || method === 'HEAD')) return { method, path: '/_ping', query: query({}) };
  if (is('GET', 1) && a === 'version') return get('/version', query({}));
  if (is('GET', 1) && a === 'info') return get('/info', query({}), { filter: view.info });

  if (a === 'containers') {
    if (is('GET', 2) && b === 'json') return get('/containers/json', withSessionLabel(scope, query({ all: 'bool', limit: 'int', size: 'bool', filters: 'filters' })));
    if (is('POST', 2) && b === 'create') {
      const q = query({ name: 'name' });
      return rewriteCreate(scope, q.name, readBody(createShape, req.body, 'the container config'));
    }
    if (b && p.length >= 2) {
      if (is('GET', 3) && (c === 'json' || c === 'logs' || c === 'top' || c === 'stats')) {
        const allowed: Record<string, Record<string, Param>> = { json: { size: 'bool' }, logs: LOGS, top: { ps_args: 'text' }, stats: { stream: 'bool', 'one-shot': 'bool' } };
        const q = query(allowed[c]!);
        return get(`/containers/${(await scope.container(b)).id}/${c}`, q);
      }
      if (is('POST', 3) && c && Object.hasOwn(CHANGES, c)) {
        noBody(req, `docker ${c}`);
        const q = query(CHANGES[c]!);
        const ct = await scope.changeable(b);
        return { method: 'POST', path: `/containers/${ct.id}/${c}`, query: q, record: changeCommand(c, ct.name, q), changed: true };
      }
      if (is('POST', 3) && (c === 'wait' || c === 'resize' || c === 'attach')) {
        noBody(req, `POST /containers/…/${c}`);
        const q = query(c === 'wait' ? { condition: ['', 'not-running', 'next-exit', 'removed'] } : c === 'resize' ? RESIZE : ATTACH);
        return { method: 'POST', path: `/containers/${(await scope.container(b)).id}/${c}`, query: q, hijack: c === 'attach' };
      }
      if (is('DELETE', 2)) {
        const q = query({ force: 'bool', v: 'bool' });
        const ct = await scope.changeable(b);
        return { method: 'DELETE', path: `/containers/${ct.id}`, query: q, record: commandLine(['docker', 'rm', ...(q.force === '1' ? ['--force'] : []), ct.name]), changed: true };
      }
      if (is('POST', 3) && c === 'exec') {
        query({});
        const ct = await scope.changeable(b);
        const ex = readBody(execShape, req.body, 'the exec config');
        const body = {
          ...(ex.User ? { User: ex.User } : {}),
          Privileged: false,
          Tty: ex.Tty ?? false,
          AttachStdin: ex.AttachStdin ?? false,
          AttachStdout: ex.AttachStdout ?? false,
          AttachStderr: ex.AttachStderr ?? false,
          ...(ex.DetachKeys ? { DetachKeys: ex.DetachKeys } : {}),
          Env: ex.Env ?? [],
          ...(ex.WorkingDir ? { WorkingDir: ex.WorkingDir } : {}),
          ...(ex.ConsoleSize ? { ConsoleSize: ex.ConsoleSize } : {}),
          Cmd: ex.Cmd,
        };
        return {
          method: 'POST',
          path: `/containers/${ct.id}/exec`,
          body,
          record: commandLine(['docker', 'exec', ...(ex.User ? ['--user', ex.User] : []), ...(ex.Tty ? ['-t'] : []), ct.name, ...ex.Cmd]),
          after: (out) => {
            const id = (JSON.parse(out.toString() || '{}') as { Id?: string }).Id;
            if (id) ctx.execs.add(id);
          },
        };
      }
    }
  }

  if (a === 'exec' && b && p.length === 3) {
    if (!ctx.execs.has(b)) throw notFound('exec instance', b);
    if (is('POST', 3) && c === 'start') {
      query({});
      const s = readBody(execStartShape, req.body, 'the exec start');
      return { method: 'POST', path: `/exec/${b}/start`, body: { Detach: s.Detach ?? false, Tty: s.Tty ?? false, ...(s.ConsoleSize ? { ConsoleSize: s.ConsoleSize } : {}) }, hijack: !s.Detach };
    }
    if (is('POST', 3) && c === 'resize') {
      noBody(req, 'exec resize');
      return { method: 'POST', path: `/exec/${b}/resize`, query: query(RESIZE) };
    }
    if (is('GET', 3) && c === 'json') return get(`/exec/${b}/json`, query({}));
  }

  if (a === 'networks') {
    if (is('GET', 1)) return get('/networks', query({ filters: 'filters' }), { filter: (out) => view.networks(scope, out) });
    if (is('GET', 2) && b) {
      const q = query({ verbose: 'bool', scope: ['', 'local', 'swarm', 'global'] });
      return get(`/networks/${(await scope.network(b)).id}`, q, { filter: (out) => view.network(scope, out) });
    }
    if (is('POST', 3) && b && c === 'connect') {
      query({});
      const n = await scope.joinable(b, 'container');
      const body = readBody(connectShape, req.body, 'network connect');
      const ct = await scope.changeable(body.Container);
      if (ct.networkMode.startsWith('container:') || ct.networkMode === 'host') throw refuse(`${ct.name} shares another namespace's network; it joins no network of its own`);
      const e = endpoint(scope, body.EndpointConfig);
      const ip = e.IPAMConfig?.IPv4Address;
      return {
        method: 'POST',
        path: `/networks/${n.id}/connect`,
        body: { Container: ct.id, EndpointConfig: e },
        record: commandLine(['docker', 'network', 'connect', ...e.Aliases.flatMap((x) => ['--alias', x]), ...(ip ? ['--ip', ip] : []), n.name, ct.name]),
        changed: true,
      };
    }
    if (is('POST', 3) && b && c === 'disconnect') {
      query({});
      const n = await scope.joinable(b, 'container');
      const body = readBody(disconnectShape, req.body, 'network disconnect');
      const ct = await scope.changeable(body.Container);
      return {
        method: 'POST',
        path: `/networks/${n.id}/disconnect`,
        body: { Container: ct.id, Force: body.Force ?? false },
        record: commandLine(['docker', 'network', 'disconnect', ...(body.Force ? ['--force'] : []), n.name, ct.name]),
        changed: true,
      };
    }
  }

  if (is('GET', 1) && a === 'events') return get('/events', withSessionLabel(scope, query({ since: 'time', until: 'time', filters: 'filters' })));

  if (a === 'services') {
    if (is('GET', 1)) return serviceList(scope, query({ filters: 'filters', status: 'bool' }));
    if (is('GET', 2) && b) {
      const q = query({ insertDefaults: 'bool' });
      return get(`/services/${(await scope.service(b)).id}`, q);
    }
    if (is('GET', 3) && b && c === 'logs') {
      const q = query(LOGS);
      return get(`/services/${(await scope.service(b)).id}/logs`, q);
    }
    if (is('POST', 3) && b && c === 'update') {
      const q = query({ version: 'int', registryAuthFrom: ['spec', 'previous-spec'], rollback: ['', 'previous'] });
      if (!q.version) throw new Refusal(400, 'a service update names the version it changes (?version=N, as docker service update sends)');
      return rewriteServiceUpdate(scope, b, q, readJsonBody(req.body, 'the service spec'));
    }
  }
  if (is('GET', 1) && a === 'tasks') return taskList(scope, query({ filters: 'filters' }));
  if (is('GET', 2) && a === 'tasks' && b) {
    query({});
    const ids = (await scope.services()).map((s) => s.id);
    return get(`/tasks/${b}`, {}, { filter: (out) => view.task(ids, b, out) });
  }
  if (scope.policy.ownNodes && a === 'nodes') return nodeRoute(scope, req, query);
  if (is('GET', 1) && a === 'nodes') return get('/nodes', query({ filters: 'filters' }), { filter: view.nodes });
  if (is('GET', 2) && a === 'nodes' && b) {
    query({});
    if (!/^[a-z0-9]{1,64}$/.test(b)) throw notFound('node', b);
    return get(`/nodes/${b}`, {}, { filter: view.node });
  }

  // `docker inspect <ref>` tries every kind of object in turn: what is not this lab's does not exist.
  if (method === 'GET' && p.length >= 3 && a === 'images' && p.at(-1) === 'json') {
    query({});
    const name = p.slice(1, -1).join('/');
    const ref = scope.image(name);
    if (ref) return get(`/images/${ref}/json`);
    throw notFound('image', name);
  }
  if (method === 'GET' && p.length === 2 && ['volumes', 'secrets', 'configs', 'plugins'].includes(a!)) throw new Refusal(404, `No such ${a!.slice(0, -1)}: ${bounded(b!)}`);
  if (method === 'GET' && p.length === 3 && a === 'plugins' && c === 'json') throw new Refusal(404, `No such plugin: ${bounded(b!)}`);

  if (a === 'images' && b === 'create') throw refuse('images cannot be pulled here; labs run the lab images only (toolbox)');
  if (a === 'build' || a === 'session') throw refuse('images cannot be built from the console');
  if (a === 'volumes') throw refuse('volumes reach outside the lab');
  if (a === 'swarm') throw refuse('swarm membership belongs to the Docker host');
  if (a === 'nodes') throw refuse("the swarm's nodes are the Docker host's; the console shows them, without changing them");
  if (['plugins', 'secrets', 'configs', 'distribution'].includes(a ?? '')) throw refuse(`${a} belong to the Docker host`);
  if (p.at(-1) === 'prune') throw refuse('prune would reach other labs');
  throw refuse(`${method} /${p.map((x) => bounded(x, 40)).join('/')} is not something the console offers`);
}


/**
 * The nodes of a lab's own swarm: listed and inspected as they are, and `docker node update`
 * with a new availability or labels. The role stays (promote and demote change the swarm's
 * quorum), and nodes are never removed or joined from the console.
 */
async function nodeRoute(scope: Scope, req: ConsoleRequest, query: (allowed: Record<string, Param>) => Query): Promise<Forward> {
  const { method, segments: p } = req;
  const [, b, c] = p;
  if (method === 'GET' && p.length === 1) return { method: 'GET', path: '/nodes', query: query({ filters: 'filters' }) };
  if (method === 'GET' && p.length === 2 && b) {
    query({});
    return { method: 'GET', path: `/nodes/${(await scope.node(b)).id}`, query: {} };
  }
  if (method === 'POST' && p.length === 3 && b && c === 'update') {
    const q = query({ version: 'int' });
    if (!q.version) throw new Refusal(400, 'a node update names the version it changes (?version=N, as docker node update sends)');
    const node = await scope.node(b);
    const spec = readBody(nodeSpecShape, req.body, 'the node spec');
    if (spec.Role !== node.role) throw refuse(`${node.hostname} stays a ${node.role}: promoting or demoting a node changes the swarm's quorum, which this lab does not offer (docker node update --availability and --label-add/--label-rm do)`);
    const labels = spec.Labels ?? {};
    const changes = [
      ...(spec.Availability !== node.availability ? ['--availability', spec.Availability] : []),
      ...Object.entries(labels).filter(([k, v]) => node.labels[k] !== v).flatMap(([k, v]) => ['--label-add', `${k}=${v}`]),
      ...Object.keys(node.labels).filter((k) => !(k in labels)).flatMap((k) => ['--label-rm', k]),
    ];
    return {
      method: 'POST',
      path: `/nodes/${node.id}/update`,
      query: { version: q.version },
      body: { ...(spec.Name ? { Name: spec.Name } : {}), Labels: labels, Role: node.role, Availability: spec.Availability },
      record: commandLine(['docker', 'node', 'update', ...changes, node.hostname]),
      changed: true,
    };
  }
  if (method === 'DELETE') throw refuse("the lab's nodes stay in its swarm: a node cannot be removed from the console");
  throw refuse(`${method} /${p.map((x) => bounded(x, 40)).join('/')} is not something the console offers for nodes`);
}

/**
 * `docker service ps web` looks the service up by exact name: a short name the learner types is
 * answered with the lab's service of that name (fl-<session>-web), shown under the short name.
 */
function serviceList(scope: Scope, q: Query): Forward {
  const withLabel = withSessionLabel(scope, q);
  const filters = filtersOf(withLabel);
  const short = (filters.name ?? []).filter((n) => !n.startsWith(NAME_PREFIX));
  if (short.length === 0) return { method: 'GET', path: '/services', query: withLabel };
  filters.name = [...new Set([...(filters.name ?? []), ...short.map((n) => objectName(scope.session, n))])];
  return { method: 'GET', path: '/services', query: { ...withLabel, filters: writeFilters(filters) }, filter: (out) => view.servicesNamed(scope, short, out) };
}

/** Tasks of this session's services; `service=web` means the lab's web. */
async function taskList(scope: Scope, q: Query): Promise<Forward> {
  const mine = await scope.services();
  const ids = mine.map((s) => s.id);
  const filters = filtersOf(q);
  if (filters.service) filters.service = filters.service.map((n) => mine.find((s) => s.name === objectName(scope.session, n))?.id ?? n);
  return { method: 'GET', path: '/tasks', query: Object.keys(filters).length > 0 ? { filters: writeFilters(filters) } : {}, filter: (out) => view.tasks(ids, out) };
}
