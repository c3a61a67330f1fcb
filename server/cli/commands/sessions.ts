// Sessions: `up`, `down`, `status`, `actions`, `sweep`.
import type { Command } from 'commander';
import { CliError, print, printJson, progress, table } from '../output.ts';
import { intArg, withApp } from '../context.ts';
import { endAllLabs, endLab, labFor, startLab } from '../../app/labs.ts';
import { WarmPools } from '../../app/warm.ts';
import type { App } from '../../app/app.ts';

export function sessionsCommands(program: Command): void {
  program
    .command('up')
    .description('bring a lab up on the Docker daemon')
    .argument('<lab>', 'a lab id (see flowlab list) or a lab file')
    .option('--seed <n>', 'seed for the variant draw (reproduces a session)', intArg('--seed'))
    .option('--init-swarm', 'initialise swarm mode if an overlay lab needs it')
    .option('--learner <name>', "the learner's display name (progress is kept per name)")
    .option('--engine <name>', 'the engine of the pool to run it on (flowlab engines ls; default: the one with the most room that can run it)')
    .option('--json', 'print the session as JSON')
    .option('--verbose', 'print every Docker action as a docker CLI command')
    .action(async (labArg: string, opts: { seed?: number; initSwarm?: boolean; learner?: string; engine?: string; json?: boolean; verbose?: boolean }) => {
      await withApp(async (app) => {
        const entry = await labFor(app, labArg);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        if (opts.verbose) app.engine.onAction = (_, a) => progress(`$ ${a.command}`);
        try {
          const started = Date.now();
          const topo = await startLab(app, entry, {
            ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
            ...(opts.learner !== undefined ? { learner: opts.learner } : {}),
            ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
            initSwarm: !!opts.initSwarm || app.settings.initSwarm,
            progress,
            signal: abort.signal,
            detached: true,
          });
          if (opts.json) printJson(topo);
          else {
            print(`session ${topo.session} (${topo.scenario}, seed ${topo.seed}, engine ${topo.engine ?? 'local'}) is up in ${((Date.now() - started) / 1000).toFixed(2)} s`);
            for (const s of topo.services) {
              const nets = Object.entries(s.networks).map(([n, e]) => `${n}=${e.ip || 'vip'}${e.aliases.length ? ` (${e.aliases.join(', ')})` : ''}`);
              const ports = s.ports.map((p) => `${p.host_ip}:${p.host_port}->${p.container_port}/${p.proto}`);
              print(`  ${s.name.padEnd(12)} ${s.container}  ${[s.network_mode === 'networks' ? '' : s.network_mode, ...nets, ...ports].filter(Boolean).join('  ')}`);
            }
            print(`tear it down with: flowlab down ${topo.session}`);
          }
          await app.engine.settled(topo.session);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        if (abort.signal.aborted) process.exitCode = 130;
      });
    });

  program
    .command('down')
    .description('tear a session down: everything labelled with it is removed')
    .argument('[session]', 'the session id')
    .option('--all', 'every live session of this data directory')
    .option('--json', 'print what was removed as JSON')
    .action(async (session: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      if (!session && !opts.all) throw new CliError('expected a session id or --all (see flowlab status)', 2);
      await withApp(async (app) => {
        const reports = opts.all ? await endAllLabs(app) : [await endLab(app, session!)];
        if (opts.json) printJson(reports);
        else for (const r of reports) print(`session ${r.session}: removed ${r.removed.containers} container(s), ${r.removed.services} swarm service(s), ${r.removed.networks} network(s)`);
      });
    });

  program
    .command('status')
    .description('live sessions, or one session in detail')
    .argument('[session]', 'a session id')
    .option('--json', 'print as JSON')
    .action(async (session: string | undefined, opts: { json?: boolean }) => {
      await withApp(async (app) => {
        // Each engine asked first, so a session never says ready over an engine that is gone or
        // containers its engine's restart stopped (a running server brings those back).
        await app.health.check({ recover: false });
        const list = app.engine.status(session);
        // Warm sessions wait for no one yet: listed apart (flowlab warm says more).
        const warm = session ? [] : warmPools(app).status().sessions;
        if (opts.json) printJson(session ? list[0] : list);
        else {
          if (list.length === 0) print('no live sessions');
          else {
            print(table([['SESSION', 'LAB', 'STATE', 'SEED', 'ENGINE', 'SINCE'], ...list.map((s) => [s.session, s.scenario, s.state, String(s.seed), s.engine, s.created_at])]));
            if (session && list[0]?.error) print(`error: ${list[0].error}`);
            for (const s of list) if (s.trouble) print(`${s.session}: ${s.state}: ${s.trouble.reason}; ${s.trouble.todo}`);
          }
          if (warm.length > 0) {
            print(`\nwarm, waiting to be claimed (${warm.length}):`);
            print(table([['SESSION', 'LAB', 'STATE', 'ENGINE', 'SINCE', 'EXPIRES'], ...warm.map((w) => [w.session, w.lab, w.state, w.engine, w.since, w.expires_at])]));
          }
        }
      });
    });

  program
    .command('warm')
    .description('warm pools: labs kept up and healthy, each broken only when a start claims it')
    .argument('[lab]', 'a lab id, to set its pool')
    .argument('[size]', 'warm sessions of it to keep (0 removes the pool); a running server refills it')
    .option('--json', 'print as JSON')
    .action(async (lab: string | undefined, size: string | undefined, opts: { json?: boolean }) => {
      await withApp(async (app) => {
        const pools = warmPools(app);
        if (lab !== undefined) {
          if (size === undefined || !/^\d+$/.test(size)) throw new CliError(`expected a number of warm sessions after the lab, like: flowlab warm ${lab} 10; found ${size === undefined ? 'nothing' : `"${size}"`}`);
          const set = await pools.setSize(lab, Number(size));
          if (!opts.json) print(`${set.lab}: ${set.size === 0 ? 'no warm pool' : `${set.size} kept warm`} (a running flowlab serve refills it within seconds)`);
        }
        const status = pools.status();
        if (opts.json) printJson(status);
        else if (status.pools.length === 0) print('no warm pools (set one: flowlab warm <lab> <n>, or flowlab serve --warm <lab>=<n>)');
        else {
          print(table([['LAB', 'WANTED', 'WARM', 'STARTING', 'LOST', 'ENGINES'], ...status.pools.map((p) => [p.lab, String(p.wanted), String(p.warm), String(p.starting), String(p.lost), Object.entries(p.engines).map(([e, n]) => `${e}:${n}`).join(' ') || '-'])]));
          for (const p of status.pools) {
            if (p.refused) print(`${p.lab}: never kept warm: ${p.refused}`);
            else if (p.last_error) print(`${p.lab}: the last refill failed (${p.last_error.at}): ${p.last_error.message}`);
          }
          print(`unclaimed warm sessions end after ${status.ttl_minutes} min`);
        }
      });
    });

  program
    .command('actions')
    .description('what Docker did for a session, as docker CLI commands')
    .argument('<session>', 'a session id')
    .option('--json', 'print as JSON')
    .option('--reveal', 'include the actions that show the injected fault (for trainers)')
    .action(async (session: string, opts: { json?: boolean; reveal?: boolean }) => {
      await withApp(async (app) => {
        if (!app.engine.store.get(session)) throw new CliError(`unknown session "${session}"`);
        const actions = app.engine.store.actions(session, { includeRevealing: !!opts.reveal });
        if (opts.json) printJson(actions);
        else for (const a of actions) print(a.command);
      });
    });

  program
    .command('sweep')
    .description('remove what dead sessions left on the daemon (never a live session)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withApp(async (app) => {
        const report = await app.engine.sweep();
        if (opts.json) printJson(report);
        else {
          for (const r of report.removed) print(`swept ${r.session}: ${r.removed.containers} container(s), ${r.removed.services} swarm service(s), ${r.removed.networks} network(s)`);
          for (const f of report.failed) print(`not yet: ${f.session}: ${f.error}`);
          print(`${report.removed.length} dead session(s) swept, ${report.kept.length} live session(s) kept${report.failed.length ? `, ${report.failed.length} not removable yet (run sweep again later)` : ''}`);
        }
      });
    });
}

/** The pools as this data directory records them (a CLI reads and sets them; a server refills them). */
function warmPools(app: App): WarmPools {
  return app.warm ?? new WarmPools(app, { ttlMs: app.settings.warmTtlMs, tickMs: 0 });
}
