/**
 * `npm run bench`: runs every suite, prints its table and writes its JSON to
 * bench/results/. `node dist/bench/run.js actors` runs only the named suites. The batching
 * suite also takes BENCH_BATCHING (sections), BENCH_STORES (contenders) and
 * BENCH_LAG_CONVERSATIONS (see bench/README.md).
 * Benchmarks are not tests: nothing here fails on a missed target; the exit code is
 * non-zero only when a measure could not be taken.
 */
import { actorSuite } from './actors/suite.js';
import { alertsSuite } from './alerts/suite.js';
import { bookingSuite } from './booking/suite.js';
import { opsSuite } from './ops/suite.js';
import { dashboardSuite } from './dashboard/suite.js';
import { batchingSuite } from './batching/suite.js';
import { whatsappSuite } from './whatsapp/suite.js';
import { machineInfo } from './support/machine.js';
import { writeReport, type SuiteReport } from './support/results.js';
import type { Suite } from './support/suite.js';
import { formatTarget, renderTable } from './support/table.js';

/** Add a suite here. */
const SUITES: readonly Suite[] = [actorSuite, batchingSuite, alertsSuite, bookingSuite, opsSuite, dashboardSuite, whatsappSuite];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const selected = wanted.length === 0 ? SUITES : SUITES.filter((suite) => wanted.includes(suite.name));
  const machine = machineInfo();
  process.stdout.write(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ${machine.platform}\n`);
  let failed = 0;
  for (const suite of selected) {
    process.stdout.write(`\n== ${suite.title} ==\n`);
    const startedAt = new Date();
    const started = performance.now();
    const result = await suite.run();
    const report: SuiteReport = {
      suite: suite.name,
      title: suite.title,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      machine,
      ...result,
    };
    process.stdout.write(`\n${renderTable(result.rows)}\n\n`);
    for (const note of result.notes) process.stdout.write(`  ${note}\n`);
    const missed = result.rows.filter((row) => row.met === false);
    process.stdout.write(
      `\n  targets met: ${result.rows.filter((row) => row.met === true).length}/${result.rows.filter((row) => row.target).length}` +
        (missed.length > 0 ? `; missed: ${missed.map((row) => `${row.measure} (${formatTarget(row.target)})`).join(', ')}` : '') +
        `; suite took ${(report.durationMs / 1000).toFixed(1)} s\n`,
    );
    for (const path of writeReport(report)) process.stdout.write(`  wrote ${path}\n`);
    failed += result.rows.filter((row) => row.ours.kind === 'failed' || row.yardsticks.some((y) => y.figure.kind === 'failed')).length;
  }
  if (failed > 0) process.stderr.write(`\n${failed} row(s) have a measure that could not be taken; see FAILED above\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
// Everything a suite starts (workers, PM2, pools) it also stops; if the process still does
// not exit, say what holds it instead of hanging silently.
setTimeout(() => {
  process.stderr.write(`bench: still alive 5 s after the last suite; open handles: ${process.getActiveResourcesInfo().join(', ')}\n`);
  process.exit(1);
}, 5_000).unref();
