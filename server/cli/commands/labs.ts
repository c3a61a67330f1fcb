// The lab catalogue and lab files: `list`, `validate`, `check`.
import type { Command } from 'commander';
import { CliError, print, printJson, table } from '../output.ts';
import { DockerRuntime } from '../../docker/runtime.ts';
import { checkFiles } from '../../lab/catalogue.ts';
import { checkLab } from '../../check/check.ts';
import { formatProblem } from '../../lab/problems.ts';
import { labCatalogue, validateContext } from '../../app/app.ts';
import { labFor } from '../../app/labs.ts';
import { withApp } from '../context.ts';
import { loadSettings } from '../../config.ts';

export function labsCommands(program: Command): void {
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
    .description('the labs that ship, and those of FLOWLAB_LABS')
    .option('--json', 'print as JSON')
    .option('--markdown', 'print the catalogue as a Markdown table')
    .action((opts: { json?: boolean; markdown?: boolean }) => {
      const labs = labCatalogue(loadSettings().labDirs);
      if (opts.json) printJson(labs);
      else if (opts.markdown) {
        print('# Labs that ship\n');
        print('Generated from the lab files with `flowlab list --markdown > docs/labs.md`. Labs marked');
        print('"uses default bridge" or "uses host network" cannot be isolated from other sessions on the');
        print('same host. Labs marked "N nodes" run a swarm of their own per session (docs/scenario-format.md).\n');
        print('| Lab | Title | Network | Level | Minutes | Variants | Tags |');
        print('|---|---|---|---|---|---|---|');
        for (const l of labs) {
          const marks = [l.isolation.default_bridge ? 'default bridge' : '', l.isolation.host_network ? 'host network' : ''].filter(Boolean);
          const nodes = l.nodes > 0 ? ` (${l.nodes} nodes)` : '';
          print(`| \`${l.id}\` | ${l.title}${marks.length ? ` (uses ${marks.join(', ')})` : ''}${nodes} | ${l.network} | ${l.level} | ${l.minutes} | ${l.variants} | ${l.tags.join(', ')} |`);
        }
      } else print(table([['ID', 'NETWORK', 'LEVEL', 'MIN', 'VARIANTS', 'TITLE'], ...labs.map((l) => [l.id, l.network, l.level, String(l.minutes), String(l.variants), l.title])]));
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
}
