// Setting Flowlab up and serving it: `serve`, `doctor`, `images build`.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, print, printJson, progress, useLogFormat } from '../output.ts';
import { DockerRuntime } from '../../docker/runtime.ts';
import { doctor } from '../../app/doctor.ts';
import { ensureLabImages } from '../../images/build.ts';
import { intArg, serving } from '../context.ts';
import { loadSettings, parseDuration, parseWarmSpec } from '../../config.ts';
import { startServer } from '../../http/server.ts';

export function setupCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the web UI and API (builds lab images in the background on first run)')
    .option('--port <port>', 'port to listen on', intArg('--port'), 7420)
    .option('--host <host>', 'address to bind (127.0.0.1 keeps it on this machine; 0.0.0.0 for a workshop on a network)', '127.0.0.1')
    .option('--workshop', 'workshop mode: learners join with a code, each in their own labs; every call is authenticated')
    .option('--max-labs <n>', 'workshop mode: learner labs running at once (default: summed over the engines, from each one\'s memory)', intArg('--max-labs'))
    .option('--idle-minutes <n>', 'workshop mode: tear down a lab after this long without activity', intArg('--idle-minutes'), 30)
    .option('--warm <lab=n,...>', 'keep n sessions of each lab warm (up, healthy, not yet broken): a start claims one in a blink')
    .option('--warm-ttl <duration>', 'end a warm session nobody claimed after this long (like 45m or 2h; default 2h)')
    .action(async (opts: { port: number; host: string; workshop?: boolean; maxLabs?: number; idleMinutes: number; warm?: string; warmTtl?: string }) => {
      if (!opts.workshop && (opts.maxLabs !== undefined || opts.idleMinutes !== 30)) throw new CliError('--max-labs and --idle-minutes only apply with --workshop');
      if (opts.maxLabs !== undefined && opts.maxLabs < 1) throw new CliError(`--max-labs must be at least 1, found ${opts.maxLabs}`);
      if (opts.idleMinutes < 1) throw new CliError(`--idle-minutes must be at least 1, found ${opts.idleMinutes}`);
      const warm = opts.warm !== undefined ? parseWarmSpec(opts.warm, '--warm') : undefined;
      const warmTtlMs = opts.warmTtl !== undefined ? parseDuration(opts.warmTtl, '--warm-ttl') : undefined;
      useLogFormat(process.env.FLOWLAB_LOG_FORMAT);
      // Inside a container 0.0.0.0 is the container's own interface; where it is published decides.
      if (!opts.workshop && !['127.0.0.1', 'localhost', '::1'].includes(opts.host) && !existsSync('/.dockerenv')) {
        progress(`warning: without --workshop the API has no sign-in; anyone who reaches ${opts.host}:${opts.port} controls labs on this Docker host`);
      }
      const running = await startServer({
        port: opts.port,
        host: opts.host,
        progress,
        ...(warm ? { warm } : {}),
        ...(warmTtlMs !== undefined ? { settings: { warmTtlMs } } : {}),
        ...(opts.workshop ? { workshop: { idleMinutes: opts.idleMinutes, ...(opts.maxLabs !== undefined ? { maxLabs: opts.maxLabs } : {}) } } : {}),
      });
      if (running.trainerToken && running.workshops) {
        const base = running.url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:');
        progress(`workshop mode: up to ${running.workshops.maxLabs} learner labs at once${opts.maxLabs === undefined ? ' (the engines\' room, summed)' : ''}, idle labs torn down after ${opts.idleMinutes} min`);
        progress(`trainer link (keep it secret; it signs you in as the trainer): ${base}/#trainer=${running.trainerToken}`);
        const reachable = running.join.filter((a) => !a.local);
        if (reachable.length > 0) progress(`learners open ${reachable.map((a) => a.url).join(' or ')} and join with the code the dashboard shows`);
        else progress(`learners can open ${running.join.map((a) => a.url).join(' ')} from this machine only; for a room, serve with --host 0.0.0.0 (or set FLOWLAB_PUBLIC_URL to the address a proxy gives it)`);
      }
      serving();
    });

  program
    .command('doctor')
    .description('check that labs can run here; --fix installs and starts what is missing (as root with apt)')
    .option('--fix', 'install Docker, start dockerd, init swarm and build lab images as needed')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { fix?: boolean; json?: boolean }) => {
      const report = await doctor(loadSettings(), { fix: !!opts.fix, progress });
      if (opts.json) printJson(report);
      else {
        for (const c of report.checks) print(`${c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL'}  ${c.name.padEnd(10)} ${c.detail}${c.fix ? `\n      ${c.status === 'ok' ? 'did' : 'fix'}: ${c.fix}` : ''}`);
        print(report.ok ? 'labs can run here' : 'labs cannot run here yet');
      }
      if (!report.ok) process.exitCode = 1;
    });

  const images = program.command('images').description('lab images');
  images
    .command('build')
    .description('build the lab images (a no-op when nothing changed)')
    .option('--force', 'rebuild even when up to date')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { force?: boolean; json?: boolean }) => {
      const result = await ensureLabImages(new DockerRuntime(), progress, { force: !!opts.force, nodes: true });
      if (opts.json) printJson(result.map((i) => ({ name: i.name, ref: i.ref, size_bytes: i.sizeBytes ?? null })));
      else for (const i of result) print(`${i.ref}  ${((i.sizeBytes ?? 0) / 1e6).toFixed(0)} MB`);
    });
}
