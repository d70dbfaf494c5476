/** `latentflow dashboard [--port 8080] [--host 127.0.0.1]`: the dashboard service alone, until Ctrl-C. */
import { Command } from 'commander';
import { positiveInteger } from '../arg-parsers.js';
import { superviseUntilSignal } from './up.js';

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description('serve the dashboard (runs, models, datasets, sources, schedules, live alerts, queues, /metrics) for the Redis of REDIS_URL (a private, empty redis-server when unset); Ctrl-C to stop')
    .option('--port <port>', 'port (default LATENTFLOW_DASHBOARD_PORT, else 8080)', positiveInteger)
    .option('--host <address>', 'address to listen on (default LATENTFLOW_DASHBOARD_HOST, else 127.0.0.1); anything but localhost needs LATENTFLOW_DASHBOARD_TOKEN')
    .action(async (opts: { port?: number; host?: string }) => {
      const env: NodeJS.ProcessEnv = {};
      if (opts.port !== undefined) env.LATENTFLOW_DASHBOARD_PORT = String(opts.port);
      if (opts.host !== undefined) env.LATENTFLOW_DASHBOARD_HOST = opts.host;
      await superviseUntilSignal({ trainer: 0, encoder: 0, downstream: 0, dashboard: 1 }, env, 'dashboard');
    });
}
