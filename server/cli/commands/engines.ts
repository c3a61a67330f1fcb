// The engine pool: `engines add`, `ls`, `rm`, `drain`, `undrain`.
import type { Command } from 'commander';
import { removeEngine } from '../../app/labs.ts';
import { listEngines } from '../../app/placement.ts';
import type { EngineStatus } from '../../protocol/engines.ts';
import { withApp } from '../context.ts';
import { print, printJson, table } from '../output.ts';

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function engineRows(list: EngineStatus[]): string[][] {
  return list.map((e) => [
    e.name,
    e.url,
    e.state === 'up' ? (e.drained ? 'drained' : 'up') : `down: ${e.error ?? ''}`,
    e.facts?.version ?? '—',
    e.facts ? String(e.facts.cpus) : '—',
    e.facts ? gib(e.facts.memoryBytes) : '—',
    String(e.sessions),
    e.facts ? String(e.facts.managed) : '—',
    capabilities(e),
  ]);
}

/** swarm, netem, ipvs: what it has; `netem?` where its kernel cannot be asked yet (no lab there so far). */
function capabilities(e: EngineStatus): string {
  if (!e.facts) return '—';
  const f = e.features;
  const said = [e.facts.swarm ? 'swarm' : '', ...(['netem', 'ipvs'] as const).map((k) => (f?.[k] === true ? k : f?.[k] === false ? '' : `${k}?`))].filter(Boolean);
  return said.join(' ') || '—';
}

export function enginesCommands(program: Command): void {
  const engines = program.command('engines').description('the Docker engines labs run on: local, and the ones you add');

  engines
    .command('add')
    .description('add an engine: tcp://host:2376 with --tls-dir, ssh://user@host, or unix:///path')
    .argument('<name>', 'a short name (node-2)')
    .argument('<url>', 'where the engine listens')
    .option('--tls-dir <dir>', 'for tcp://: the folder holding ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH)')
    .option('--json', 'print the engine as JSON')
    .action(async (name: string, url: string, opts: { tlsDir?: string; json?: boolean }) => {
      await withApp(async (app) => {
        const e = await app.engines.add(name, url, opts.tlsDir);
        if (opts.json) printJson(e);
        else print(`engine ${e.name} added: Docker ${e.facts!.version} (API ${e.facts!.api}), ${e.facts!.cpus} CPUs, ${gib(e.facts!.memoryBytes)}`);
      });
    });

  engines
    .command('ls')
    .description('every engine: state, Docker version, CPUs, memory, sessions, Flowlab containers, capabilities (swarm, netem, ipvs)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withApp(async (app) => {
        const list = await listEngines(app);
        if (opts.json) printJson(list);
        else print(table([['NAME', 'URL', 'STATE', 'DOCKER', 'CPUS', 'MEMORY', 'SESSIONS', 'CONTAINERS', 'CAPABILITIES'], ...engineRows(list)]));
      });
    });

  engines
    .command('rm')
    .description('remove an engine from the pool (refused while it holds sessions)')
    .argument('<name>')
    .option('--force', 'end its sessions first')
    .action(async (name: string, opts: { force?: boolean }) => {
      await withApp(async (app) => {
        await removeEngine(app, name, { force: !!opts.force });
        print(`engine ${name} removed`);
      });
    });

  for (const [cmd, drained] of [['drain', true], ['undrain', false]] as const) {
    engines
      .command(cmd)
      .description(drained ? 'keep the engine’s running labs, place no new ones on it' : 'place new labs on the engine again')
      .argument('<name>')
      .action(async (name: string) => {
        await withApp(async (app) => {
          app.engines.drain(name, drained);
          print(`engine ${name} ${drained ? 'drained: it keeps its labs and takes no new ones' : 'takes new labs again'}`);
        });
      });
  }
}
