/** `latentflow alerts tail [--follow] [--count N]`: anomaly alerts from the alerts stream, one line each. */
import { Command } from 'commander';
import { AlertStore, type Alert } from '../../shared/store/alerts.js';
import { withConnection } from '../connection.js';
import { formatNumber, terminalJson, terminalSafe } from '../output.js';
import { positiveInteger } from '../arg-parsers.js';

function time(at: unknown): string {
  const date = new Date(typeof at === 'string' && /^\d+$/.test(at) ? Number(at) : (at as string | number));
  return Number.isNaN(date.getTime()) ? String(at) : date.toISOString();
}

/** A score or threshold: `-` when the entry held no number. */
function figure(value: number): string {
  return Number.isNaN(value) ? '-' : formatNumber(value);
}

/**
 * `2024-05-01T10:00:00.000Z  high  wine/wine@1  record 17  error 0.412 / 0.083  proline:0.31 magnesium:0.05`; control
 * characters in any field (written by any client) are shown escaped, never sent to the terminal.
 */
export function formatAlert(alert: Alert, top = 3): string {
  const features = (alert.features ?? []).slice(0, top).map((f) => `${f.feature}:${figure(f.error)}`).join(' ');
  return terminalSafe([
    time(alert.at), alert.severity.padEnd(8), `${alert.source}/${alert.model}@${alert.version}`, `record ${alert.record}`,
    `error ${figure(alert.score)} / ${figure(alert.threshold)}`, features,
  ].join('  ').trimEnd());
}

export function alertsCommand(): Command {
  const tail = new Command('tail')
    .description('print the latest alerts (time, severity, source/model@version, record, error / threshold, top features)')
    .option('--count <n>', 'how many of the latest alerts to print', positiveInteger, 20)
    .option('--follow', 'then wait for new alerts until Ctrl-C')
    .option('--json', 'one JSON object per line ({id, ...alert}; control characters \\u-escaped)')
    .action(async (opts: { count: number; follow?: boolean; json?: boolean }) => {
      const print = ({ id, alert }: { id: string; alert: Alert }) => console.log(opts.json === true ? terminalJson({ id, ...alert }) : formatAlert(alert));
      await withConnection(async ({ redis, keys, config }) => {
        const store = new AlertStore(redis, keys, config.alertsMaxLen);
        const latest = await store.read({ count: opts.count });
        for (const entry of latest) print(entry);
        if (opts.follow !== true) {
          if (latest.length === 0) console.error('no alerts yet');
          return;
        }
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          for await (const entry of store.follow({ after: latest.at(-1)?.id ?? '$', signal: controller.signal })) print(entry);
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }, { name: 'latentflow-alerts' });
    });
  return new Command('alerts').description('anomaly alerts: tail').addCommand(tail);
}
