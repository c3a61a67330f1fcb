// Diagnoses: `grade`, `hint`, `results`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, print, printJson, table } from '../output.ts';
import { Grader } from '../../grade/grader.ts';
import { ProgressStore } from '../../store/progress.ts';
import { csvFile } from '../../util/csv.ts';
import { diagnosisSchema } from '../../protocol/diagnosis.ts';
import { withApp } from '../context.ts';

export function gradingCommands(program: Command): void {
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
}
