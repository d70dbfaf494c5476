/**
 * `latentflow demo` (`npm run demo`): the pipeline end to end on the shipped digits. Starts a private redis-server
 * (unless REDIS_URL is set) and the three services, imports data/digits.csv.gz with three rows replaced by noise,
 * runs train → encode → cluster → classify → detect with live progress, prints the summary and the top alerts (the
 * noise rows among them), then stops everything.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import seedrandom from 'seedrandom';
import { loadConfig } from '../../shared/config.js';
import type { Table } from '../../shared/data/table.js';
import { AlertStore, type AlertEntry } from '../../shared/store/alerts.js';
import { connect, disconnect, redactUrl, redisForSupervisor, type Connection } from '../connection.js';
import { saveDataset } from '../dataset-import.js';
import { formatNumber, formatRows } from '../output.js';
import { defaultDisplay, formatSummary, submit, waitForSummary } from '../run.js';
import { DEFAULT_SCALE, projectRoot, Supervisor } from '../supervisor.js';
import { readTable } from '../../shared/data/read-table.js';

const NAME = 'digits-demo';
const CORRUPTED = 3;

/** Replaces `count` seeded-random rows by uniform noise over the table's value range; returns their ids. */
export function corruptRows(table: Table, count: number, seed = 'latentflow-demo'): string[] {
  const random = seedrandom(seed);
  let lo = Infinity, hi = -Infinity;
  for (const v of table.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const rows = new Set<number>();
  while (rows.size < Math.min(count, table.rows)) rows.add(Math.floor(random() * table.rows));
  for (const r of rows) {
    for (let j = 0; j < table.width; j++) table.values[r * table.width + j] = Math.round(lo + random() * (hi - lo));
  }
  return [...rows].sort((a, b) => a - b).map((r) => table.ids[r]);
}

async function topAlerts(connection: Connection, model: string, version: number, dataset: string): Promise<AlertEntry[]> {
  const store = new AlertStore(connection.redis, connection.keys, connection.config.alertsMaxLen);
  const entries = await store.read({ count: 10_000 });
  return entries.filter(({ alert }) => alert.model === model && alert.version === version && alert.source === dataset)
    .sort((a, b) => b.alert.score - a.alert.score);
}

async function tail(file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('the pipeline end to end on data/digits.csv.gz with 3 injected noise rows: private Redis (unless REDIS_URL), the three services, a run with live progress, summary and top alerts; stops everything afterwards')
    .action(async () => {
      const config = loadConfig();
      const say = (line: string) => console.log(line);
      const logFile = path.join(tmpdir(), `latentflow-demo-${process.pid}.log`);
      const logStream = createWriteStream(logFile);
      const controller = new AbortController();
      let interrupted = false;
      const onSignal = () => {
        interrupted = true;
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);

      const redis = await redisForSupervisor(config);
      say(redis.private ? `▸ started a private redis-server at ${redis.url} (REDIS_URL is unset; it stops at the end)` : `▸ using REDIS_URL ${redactUrl(redis.url)} (key prefix ${config.prefix})`);
      const supervisor = new Supervisor({
        scale: DEFAULT_SCALE,
        env: { ...process.env, REDIS_URL: redis.url },
        output: logStream,
        log: (m) => logStream.write(`[demo] ${m}\n`),
      });
      let connection: Connection | undefined;
      let ok = false;
      try {
        supervisor.start();
        say(`▸ started the services: ${supervisor.children.map((c) => `${c.label} (pid ${c.pid})`).join(', ')}; their logs: ${logFile}`);
        connection = await connect({ config: { ...config, redisUrl: redis.url }, name: 'latentflow-demo' });

        const file = path.join(projectRoot, 'data', 'digits.csv.gz');
        const table = await readTable(file, { idColumn: 'id', labelColumn: 'label' });
        const injected = corruptRows(table, CORRUPTED);
        const meta = await saveDataset(connection, NAME, table);
        say(`▸ imported ${path.relative(process.cwd(), file) || file} as dataset ${NAME}: ${meta.rows} × ${meta.width}, labels ${meta.labelSet.join(' ')}`);
        say(`  with ${CORRUPTED} rows replaced by noise: ids ${injected.join(', ')}`);

        const submitted = await submit(connection, { model: NAME, dataset: NAME });
        say(`▸ submitted run ${submitted.run} (default model options: trains up to 200 epochs, ~15–30 s on the wasm backend)`);
        const summary = await waitForSummary(connection, submitted, defaultDisplay(), controller.signal);
        say('');
        say(formatSummary(summary));

        const alerts = await topAlerts(connection, summary.model, summary.version, NAME);
        const caught = injected.filter((id) => alerts.some((a) => a.alert.record === id));
        say('');
        say(`▸ top alerts (${alerts.length} records above the threshold ${formatNumber(summary.anomalies?.threshold ?? NaN)}):`);
        say(formatRows(['rank', 'record', 'error', 'severity', 'top features', ''], alerts.slice(0, 10).map((a, i) => [
          i + 1, a.alert.record, a.alert.score, a.alert.severity, a.alert.features.map((f) => f.feature).join(' '),
          injected.includes(a.alert.record) ? '← injected' : '',
        ])).split('\n').map((l) => `  ${l}`).join('\n'));
        const ranks = caught.map((id) => alerts.findIndex((a) => a.alert.record === id) + 1).sort((a, b) => a - b);
        say(`  caught ${caught.length} of ${injected.length} injected rows${caught.length > 0 ? ` (alert ranks ${ranks.join(', ')})` : ''}`);

        say('');
        say('▸ where to look next');
        const dataset = redis.private ? 'digits' : NAME;
        const next: [string, string][] = [];
        if (redis.private) {
          say('  this demo\'s Redis was private and stops now; to keep a pipeline running:');
          next.push(
            ['latentflow up', 'prints REDIS_URL; then, in another shell: export REDIS_URL=...'],
            ['latentflow dataset import data/digits.csv.gz --id id --label label', ''],
            ['latentflow run digits --wait', 'or: latentflow run data/wine.csv --id id --label label --wait'],
          );
        } else {
          say(`  everything stays in your Redis under the key prefix ${config.prefix}:`);
        }
        next.push(
          ['latentflow models list', 'versions, aliases, training figures'],
          [`latentflow models promote ${dataset} 1`, 'point the production alias at a version'],
          [`latentflow jobs ${redis.private ? '<run id>' : submitted.run}`, 'each stage\'s state, result or error'],
          [`latentflow embeddings export ${dataset} --format csv --out ${dataset}-codes.csv`, 'codes, errors, clusters, predictions'],
          ['latentflow alerts tail --follow', 'alerts as they arrive'],
        );
        const width = Math.max(...next.map(([c]) => c.length));
        for (const [command, comment] of next) say(`    ${comment ? `${command.padEnd(width)}  # ${comment}` : command}`);
        ok = true;
      } catch (error) {
        if (interrupted) say('\n▸ interrupted: stopping the services');
        else {
          const recent = await tail(logFile, 15);
          if (recent) console.error(`latest service log lines (${logFile}):\n${recent}`);
          throw error;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (connection) await disconnect(connection);
        await supervisor.stop();
        await redis.stop();
        logStream.end();
        await once(logStream, 'finish');
      }
      say(ok ? '▸ stopped the services and Redis' : '▸ stopped');
      process.exit(ok ? 0 : 130);
    });
}
