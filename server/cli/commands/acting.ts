// Acting on a running lab: its `console`, `probe`, `flows`, `fault`.
import type { Command } from 'commander';
import type { FaultRecord } from '../../store/faults.ts';
import type { FlowEvent } from '../../protocol/flow.ts';
import { CliError, print, printJson, table } from '../output.ts';
import { FlowCollector, retainedEvents } from '../../flow/collector.ts';
import { Prober } from '../../probe/prober.ts';
import { faultFromWords, Faults } from '../../fault/faults.ts';
import { intArg, withApp } from '../context.ts';

export function actingCommands(program: Command): void {
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
}

/** One flow event on one line, for people. */
function describeEvent(e: FlowEvent): string {
  const what =
    e.type === 'dns.query' || e.type === 'dns.forward' ? `${e.name} ${e.qtype}`
    : e.type === 'dns.answer' ? `${e.name} ${e.qtype} ${e.rcode} ${e.answers.join(' ')}`
    : e.type === 'tcp.connect' || e.type === 'udp.exchange' ? `:${e.dst_port} ${e.outcome}`
    : e.type === 'http.exchange' ? `${e.method} ${e.path} ${e.status ?? e.outcome}${e.served_by ? ` by ${e.served_by}` : ''}`
    : e.type === 'icmp.frag-needed' ? `mtu ${e.mtu} (${e.about})`
    : `code ${e.code} (${e.about})`;
  const across = e.crossed ? `  across ${e.crossed.from} -> ${e.crossed.to}${e.crossed.vni !== undefined ? ` (VXLAN ${e.crossed.vni})` : ''}` : '';
  return `${e.time}  ${e.type.padEnd(16)} ${e.src} -> ${e.dst}  ${what}${across}`;
}

function faultJson(f: FaultRecord) {
  return { fault: f.id, type: f.type, params: f.params, origin: f.origin, state: f.state, error: f.error, describe: f.describe };
}
