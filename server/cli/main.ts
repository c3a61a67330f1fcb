// The `flowlab` command. Each command is thin: parse, call the core, print.
// Command names, flags and JSON shapes are a contract that scripts depend on.
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { labCatalogue, openApp, validateContext, type App } from '../app/app.ts';
import { DockerRuntime } from '../docker/runtime.ts';
import { doctor } from '../app/doctor.ts';
import { ensureLabImages } from '../images/build.ts';
import { checkFiles } from '../lab/catalogue.ts';
import { formatProblem } from '../lab/problems.ts';
import { loadSettings } from '../config.ts';
import { startServer } from '../http/server.ts';
import { Prober } from '../probe/prober.ts';
import { FlowCollector, retainedEvents } from '../flow/collector.ts';
import type { FlowEvent } from '../protocol/flow.ts';
import { faultFromWords, Faults } from '../fault/faults.ts';
import type { FaultRecord } from '../store/faults.ts';
import { Grader } from '../grade/grader.ts';
import { diagnosisSchema } from '../protocol/diagnosis.ts';
import { ProgressStore } from '../store/progress.ts';
import { checkLab } from '../check/check.ts';
import { CliError, print, printJson, progress, reportError, table, useLogFormat } from './output.ts';
import { csvFile } from '../util/csv.ts';
import { labFor, startLab } from '../app/labs.ts';

const program = new Command('flowlab')
  .description('Container networking labs on your own Docker daemon: real faults, live flows, graded diagnoses.')
  .showSuggestionAfterError(true)
  .exitOverride();

const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number, found "${v}"`, 2);
  return n;
};

async function withApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const app = openApp();
  try {
    return await fn(app);
  } finally {
    // What a command set going in the background (a capture starting, the topology following a
    // change made from the console) finishes before the process exits.
    await app.engine.settled().catch(() => undefined);
    app.close();
  }
}

program
  .command('serve')
  .description('serve the web UI and API (builds lab images in the background on first run)')
  .option('--port <port>', 'port to listen on', intArg('--port'), 7420)
  .option('--host <host>', 'address to bind (127.0.0.1 keeps it on this machine; 0.0.0.0 for a workshop on a network)', '127.0.0.1')
  .option('--workshop', 'workshop mode: learners join with a code, each in their own labs; every call is authenticated')
  .option('--max-labs <n>', 'workshop mode: learner labs running at once (default from the memory)', intArg('--max-labs'))
  .option('--idle-minutes <n>', 'workshop mode: tear down a lab after this long without activity', intArg('--idle-minutes'), 30)
  .action(async (opts: { port: number; host: string; workshop?: boolean; maxLabs?: number; idleMinutes: number }) => {
    if (!opts.workshop && (opts.maxLabs !== undefined || opts.idleMinutes !== 30)) throw new CliError('--max-labs and --idle-minutes only apply with --workshop');
    if (opts.maxLabs !== undefined && opts.maxLabs < 1) throw new CliError(`--max-labs must be at least 1, found ${opts.maxLabs}`);
    if (opts.idleMinutes < 1) throw new CliError(`--idle-minutes must be at least 1, found ${opts.idleMinutes}`);
    useLogFormat(process.env.FLOWLAB_LOG_FORMAT);
    // Inside a container 0.0.0.0 is the container's own interface; where it is published decides.
    if (!opts.workshop && !['127.0.0.1', 'localhost', '::1'].includes(opts.host) && !existsSync('/.dockerenv')) {
      progress(`warning: without --workshop the API has no sign-in; anyone who reaches ${opts.host}:${opts.port} controls labs on this Docker host`);
    }
    const running = await startServer({
      port: opts.port,
      host: opts.host,
      progress,
      ...(opts.workshop ? { workshop: { idleMinutes: opts.idleMinutes, ...(opts.maxLabs !== undefined ? { maxLabs: opts.maxLabs } : {}) } } : {}),
    });
    if (running.trainerToken && running.workshops) {
      const base = running.url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:');
      progress(`workshop mode: up to ${running.workshops.opts.maxLabs} learner labs at once, idle labs torn down after ${opts.idleMinutes} min`);
      progress(`trainer link (keep it secret; it signs you in as the trainer): ${base}/#trainer=${running.trainerToken}`);
      progress(`learners open ${opts.host === '0.0.0.0' ? 'http://<this machine>:' + opts.port : base}/ and join with the code you set in the dashboard`);
    }
    keepRunning = true;
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
    const result = await ensureLabImages(new DockerRuntime(), progress, { force: !!opts.force });
    if (opts.json) printJson(result.map((i) => ({ name: i.name, ref: i.ref, size_bytes: i.sizeBytes ?? null })));
    else for (const i of result) print(`${i.ref}  ${((i.sizeBytes ?? 0) / 1e6).toFixed(0)} MB`);
  });

program
  .command('validate')
  .description('check lab files: every problem with file:line:column, the YAML path and what was expected')
  .argument('<paths...>', 'lab files or folders')
  .option('--json', 'print problems as JSON')
  .action(async (paths: string[], opts: { json?: boolean }) => {
    const ctx = await validateContext(new DockerRuntime());
    const checks = checkFiles(paths, ctx);
    const problems = checks.flatMap((c) => c.problems);
    const errors = problems.filter((p) => p.severity === 'error').length;
    if (opts.json) printJson({ ok: errors === 0, files: checks.map((c) => ({ file: c.file, id: c.lab?.id ?? null, problems: c.problems })) });
    else {
      for (const p of problems) print(formatProblem(p));
      print(`${checks.length} file(s), ${errors} error(s), ${problems.length - errors} warning(s)`);
    }
    if (errors > 0) process.exitCode = 1;
  });

program
  .command('list')
  .description('the labs that ship')
  .option('--json', 'print as JSON')
  .option('--markdown', 'print the catalogue as a Markdown table')
  .action((opts: { json?: boolean; markdown?: boolean }) => {
    const labs = labCatalogue();
    if (opts.json) printJson(labs);
    else if (opts.markdown) {
      print('# Labs that ship\n');
      print('Generated from the lab files with `flowlab list --markdown > docs/labs.md`. Labs marked');
      print('"uses default bridge" or "uses host network" cannot be isolated from other sessions on the');
      print('same host.\n');
      print('| Lab | Title | Network | Level | Minutes | Variants | Tags |');
      print('|---|---|---|---|---|---|---|');
      for (const l of labs) {
        const marks = [l.isolation.default_bridge ? 'default bridge' : '', l.isolation.host_network ? 'host network' : ''].filter(Boolean);
        print(`| \`${l.id}\` | ${l.title}${marks.length ? ` (uses ${marks.join(', ')})` : ''} | ${l.network} | ${l.level} | ${l.minutes} | ${l.variants} | ${l.tags.join(', ')} |`);
      }
    } else print(table([['ID', 'NETWORK', 'LEVEL', 'MIN', 'VARIANTS', 'TITLE'], ...labs.map((l) => [l.id, l.network, l.level, String(l.minutes), String(l.variants), l.title])]));
  });

program
  .command('up')
  .description('bring a lab up on the Docker daemon')
  .argument('<lab>', 'a lab id (see flowlab list) or a lab file')
  .option('--seed <n>', 'seed for the variant draw (reproduces a session)', intArg('--seed'))
  .option('--init-swarm', 'initialise swarm mode if an overlay lab needs it')
  .option('--learner <name>', "the learner's display name (progress is kept per name)")
  .option('--json', 'print the session as JSON')
  .option('--verbose', 'print every Docker action as a docker CLI command')
  .action(async (labArg: string, opts: { seed?: number; initSwarm?: boolean; learner?: string; json?: boolean; verbose?: boolean }) => {
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
          initSwarm: !!opts.initSwarm || app.settings.initSwarm,
          progress,
          signal: abort.signal,
          detached: true,
        });
        if (opts.json) printJson(topo);
        else {
          print(`session ${topo.session} (${topo.scenario}, seed ${topo.seed}) is up in ${((Date.now() - started) / 1000).toFixed(2)} s`);
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
      const reports = opts.all ? await app.engine.downAll() : [await app.engine.down(session!)];
      if (opts.json) printJson(reports);
      else for (const r of reports) print(`session ${r.session}: removed ${r.removed.containers} container(s), ${r.removed.services} swarm service(s), ${r.removed.networks} network(s)`);
    });
  });

program
  .command('console')
  .description("open a session's docker console: a shell whose docker CLI sees and changes that lab only")
  .argument('<session>', 'a session id')
  .argument('[command...]', 'run this in the console instead of a shell (e.g. -- docker ps)')
  .option('--json', 'print where the console is (container, DOCKER_HOST) as JSON, and keep serving it')
  .action(async (session: string, command: string[], opts: { json?: boolean }) => {
    await withApp(async (app) => {
      if (!app.engine.store.get(session)) throw new CliError(`unknown session "${session}"; see flowlab status`, 2);
      const info = await app.consoles.ensure(session);
      if (opts.json) {
        printJson(info);
        if (info.served_here) await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        return;
      }
      if (command.length > 0) {
        const r = await app.docker.exec(info.container, command);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.exitCode;
        return;
      }
      if (!process.stdin.isTTY) throw new CliError('an interactive console needs a terminal; pass a command instead: flowlab console <session> -- docker ps', 2);
      const tty = await app.docker.execTty(info.container, ['bash', '-l'], { cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 });
      process.stdin.setRawMode(true);
      process.stdin.pipe(tty.stream);
      tty.stream.pipe(process.stdout);
      const onResize = () => void tty.resize(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
      process.stdout.on('resize', onResize);
      process.exitCode = await tty.exit;
      process.stdout.off('resize', onResize);
      process.stdin.setRawMode(false);
      process.stdin.unpipe(tty.stream);
      process.stdin.pause();
    });
  });

program
  .command('check')
  .description('prove a lab on the real daemon, variant by variant: symptom, evidence, grading, solution, fix, traffic rule, clean teardown')
  .argument('<lab>', 'a lab id from the catalogue, or a lab file')
  .option('--variant <id>', 'only this variant')
  .option('--json', 'print the steps as JSON')
  .action(async (labRef: string, opts: { variant?: string; json?: boolean }) => {
    await withApp(async (app) => {
      const entry = await labFor(app, labRef);
      const results = await checkLab(app, entry, { ...(opts.variant ? { variant: opts.variant } : {}), progress: opts.json ? () => {} : print });
      if (opts.json) printJson(results);
      const failed = results.find((r) => !r.ok);
      if (failed) {
        const step = failed.steps.find((s) => !s.ok);
        throw new CliError(`check failed: ${failed.lab}${failed.variant ? ` [${failed.variant}]` : ''}: ${step?.step}: ${step?.detail}`, 1);
      }
      if (!opts.json) print(`${entry.lab.id}: ${results.length} variant(s) proven`);
    });
  });

program
  .command('status')
  .description('live sessions, or one session in detail')
  .argument('[session]', 'a session id')
  .option('--json', 'print as JSON')
  .action(async (session: string | undefined, opts: { json?: boolean }) => {
    await withApp(async (app) => {
      const list = app.engine.status(session);
      if (opts.json) printJson(session ? list[0] : list);
      else if (list.length === 0) print('no live sessions');
      else {
        print(table([['SESSION', 'LAB', 'STATE', 'SEED', 'SINCE'], ...list.map((s) => [s.session, s.scenario, s.state, String(s.seed), s.created_at])]));
        if (session && list[0]?.error) print(`error: ${list[0].error}`);
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
  .command('probe')
  .description('ask, from a service or the Docker host, whether a name resolves or a port answers')
  .argument('<session>', 'a session id')
  .argument('[from]', 'a service, or host')
  .argument('[target]', 'dns:<name>[/A|AAAA|SRV|PTR], tcp:<host>:<port>, udp:<host>:<port>, http://<host>:<port>/<path>, icmp:<host>, mtu:<host>:<size>')
  .option('--matrix', "the lab's probes plus every service towards every other service's names and ports")
  .option('--timeout <ms>', 'how long each probe may take', intArg('--timeout'))
  .option('--json', 'print as JSON')
  .action(async (session: string, from: string | undefined, target: string | undefined, opts: { matrix?: boolean; timeout?: number; json?: boolean }) => {
    if (!opts.matrix && (!from || !target)) throw new CliError('expected <from> and <target>, or --matrix (see flowlab probe --help)', 2);
    await withApp(async (app) => {
      const prober = new Prober(app.engine.live(session));
      const o = opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {};
      const results = opts.matrix ? await prober.matrix(o) : await prober.run([{ from: from!, to: target! }], o);
      if (opts.json) printJson(opts.matrix ? { results } : results[0]);
      else print(table([['FROM', 'TARGET', 'STATUS', 'MS', 'SEE IT WITH'], ...results.map((r) => [r.from, r.target, r.status, String(r.latency_ms), r.command])]));
    });
  });

program
  .command('flows')
  .description('the DNS questions and answers and TCP/UDP/ICMP exchanges the lab captured (JSON lines with --json)')
  .argument('<session>', 'a session id')
  .option('--follow', 'keep printing new events as they happen (Ctrl-C to stop)')
  .option('--json', 'one JSON event per line')
  .action(async (session: string, opts: { follow?: boolean; json?: boolean }) => {
    await withApp(async (app) => {
      const live = app.engine.live(session);
      const show = (e: FlowEvent) => print(opts.json ? JSON.stringify(e) : describeEvent(e));
      const printed = new Set<string>();
      const collector = opts.follow ? new FlowCollector(live) : undefined;
      // Follow first, then read what the captures kept: nothing falls between the two.
      await collector?.start();
      for (const e of await retainedEvents(live)) {
        printed.add(e.id);
        show(e);
      }
      if (!collector) return;
      collector.subscribe((events) => {
        for (const e of events) if (!printed.has(e.id)) show(e);
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      collector.stop();
    });
  });

program
  .command('fault')
  .description("break a running lab by hand, or undo it (a trainer's tool; list shows the ground truth)")
  .usage('<session> apply <type> [key=value...] | <session> revert <fault> | <session> list')
  .argument('<session>', 'a session id')
  .argument('<action>', 'apply, revert or list')
  .argument('[args...]', 'for apply: a fault type and key=value parameters named as in lab files; for revert: the fault id')
  .option('--json', 'print as JSON')
  .action(async (session: string, action: string, args: string[], opts: { json?: boolean }) => {
    await withApp(async (app) => {
      const faults = new Faults(app.engine.live(session));
      if (action === 'apply') {
        const [type, ...params] = args;
        if (!type) throw new CliError('expected a fault type: flowlab fault <session> apply <type> key=value ...', 2);
        const rec = await faults.apply(faultFromWords(type, params), 'manual');
        if (opts.json) printJson(faultJson(rec));
        else print(`applied ${rec.type} as ${rec.id}: ${rec.describe.summary}\nundo with: flowlab fault ${session} revert ${rec.id}`);
      } else if (action === 'revert') {
        if (args.length !== 1) throw new CliError('expected one fault id: flowlab fault <session> revert <fault>', 2);
        const rec = await faults.revert(args[0]!);
        if (opts.json) printJson(faultJson(rec));
        else print(`reverted ${rec.type} (${rec.id})`);
      } else if (action === 'list') {
        const list = faults.list();
        if (opts.json) printJson(list.map(faultJson));
        else print(table([['FAULT', 'TYPE', 'STATE', 'ORIGIN', 'WHAT'], ...list.map((f) => [f.id, f.type, f.state, f.origin, (f.describe as { summary?: string } | null)?.summary ?? ''])]));
      } else {
        throw new CliError(`unknown fault action "${action}"; expected apply, revert or list`, 2);
      }
    });
  });

program
  .command('grade')
  .description('grade a diagnosis against the fault the session really got')
  .argument('<session>', 'a session id')
  .requiredOption('--answer <file>', 'the diagnosis as JSON: { "cause", "culprit", "evidence": [ids], "note"?, "fixed"? } ("-" reads standard input)')
  .option('--json', 'print {score, passed, breakdown, feedback} as JSON')
  .action(async (session: string, opts: { answer: string; json?: boolean }) => {
    const text = opts.answer === '-' ? readFileSync(0, 'utf8') : readFileSync(opts.answer, 'utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new CliError(`expected the answer as JSON, found: ${(e as Error).message}`);
    }
    const parsed = diagnosisSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CliError(`invalid answer at ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected { "cause", "culprit", "evidence": [ids], "note"?, "fixed"? }`);
    }
    await withApp(async (app) => {
      const r = await new Grader(app.engine.live(session)).grade(parsed.data);
      if (opts.json) printJson({ score: r.score, passed: r.passed, breakdown: r.breakdown, feedback: r.feedback, attempt: r.attempt, attempts_left: r.attempts_left, pass_mark: r.pass_mark });
      else {
        print(`${r.passed ? 'PASSED' : 'not passed'}: ${r.score}/100 (pass mark ${r.pass_mark}), attempt ${r.attempt}, ${r.attempts_left} left`);
        for (const [k, v] of Object.entries(r.breakdown)) print(`  ${k.padEnd(16)} ${'earned' in v ? `${v.earned}/${v.of}  ${v.why}` : `-${v.cost}`}`);
        for (const l of r.feedback.right) print(`  + ${l}`);
        for (const l of r.feedback.missed) print(`  - ${l}`);
        for (const l of r.feedback.what_was_broken ?? []) print(`  broken: ${l}`);
      }
    });
  });

program
  .command('hint')
  .description('reveal the next hint (it costs points; the cost is shown first with --cost)')
  .argument('<session>', 'a session id')
  .option('--cost', 'only show what the next hint would cost')
  .option('--json', 'print as JSON')
  .action(async (session: string, opts: { cost?: boolean; json?: boolean }) => {
    await withApp(async (app) => {
      const grader = new Grader(app.engine.live(session));
      if (opts.cost) {
        const { next } = grader.hints();
        if (opts.json) printJson({ next });
        else print(next ? `the next hint costs ${next.cost} points (flowlab hint ${session} reveals it)` : 'no hint left');
        return;
      }
      const hint = grader.takeHint();
      if (opts.json) printJson({ hint, next: grader.hints().next });
      else print(`hint ${hint.index + 1} (-${hint.cost}): ${hint.text}`);
    });
  });

program
  .command('results')
  .description('every graded attempt: learner, lab, variant, score, time (for trainers)')
  .option('--csv', 'print as CSV')
  .option('--json', 'print as JSON')
  .action(async (opts: { csv?: boolean; json?: boolean }) => {
    await withApp(async (app) => {
      const rows = new ProgressStore(app.engine.db).results();
      if (opts.json) printJson(rows);
      else if (opts.csv) {
        const cols = ['learner', 'lab', 'variant', 'seed', 'session', 'attempt', 'score', 'passed', 'hints', 'seconds', 'started_at', 'graded_at'] as const;
        process.stdout.write(csvFile(cols, rows.map((r) => cols.map((c) => r[c]))));
      } else print(table([['LEARNER', 'LAB', 'VARIANT', 'ATTEMPT', 'SCORE', 'PASSED', 'TIME'], ...rows.map((r) => [r.learner, r.lab, r.variant ?? '-', String(r.attempt), String(r.score), r.passed ? 'yes' : 'no', `${r.seconds}s`])]));
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

let keepRunning = false;

/** Runs a command; resolves to its exit code, or undefined when it keeps serving. */
function describeEvent(e: FlowEvent): string {
  const what =
    e.type === 'dns.query' || e.type === 'dns.forward' ? `${e.name} ${e.qtype}`
    : e.type === 'dns.answer' ? `${e.name} ${e.qtype} ${e.rcode} ${e.answers.join(' ')}`
    : e.type === 'tcp.connect' || e.type === 'udp.exchange' ? `:${e.dst_port} ${e.outcome}`
    : e.type === 'icmp.frag-needed' ? `mtu ${e.mtu} (${e.about})`
    : `code ${e.code} (${e.about})`;
  return `${e.time}  ${e.type.padEnd(16)} ${e.src} -> ${e.dst}  ${what}`;
}

function faultJson(f: FaultRecord) {
  return { fault: f.id, type: f.type, params: f.params, origin: f.origin, state: f.state, error: f.error, describe: f.describe };
}

export async function main(argv: string[]): Promise<number | undefined> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (keepRunning) return undefined;
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (process.env.FLOWLAB_DEBUG === '1') console.error(e);
    reportError((e as Error).message);
    return e instanceof CliError ? e.exitCode : 1;
  }
}
