/** `latentflow up [--scale encoder=2,downstream=1] [--dashboard]`: the services as child processes, until SIGINT/SIGTERM. */
import { Command } from 'commander';
import { checkDashboardAccess, loadConfig } from '../../shared/config.js';
import { redactUrl, redisForSupervisor } from '../connection.js';
import { DEFAULT_SCALE, parseScale, type Scale, Supervisor } from '../supervisor.js';

/**
 * Resolves on the first SIGINT or SIGTERM; a second one at least a second later calls `again` (one sooner is the
 * same signal delivered twice, as `timeout` or a process-group kill do).
 */
export function untilSignal(again: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (first !== undefined) {
        if (Date.now() - first >= 1000) again();
        return;
      }
      first = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/**
 * Runs the services of `scale` under a supervisor, with a private redis-server when REDIS_URL is unset, until
 * SIGINT/SIGTERM; `env` is added to the children's environment.
 */
export async function superviseUntilSignal(scale: Scale, env: NodeJS.ProcessEnv = {}, name = 'up'): Promise<never> {
  const config = loadConfig({ ...process.env, ...env });
  if (scale.dashboard > 0) checkDashboardAccess(config.dashboard);
  const log = (message: string) => console.error(`latentflow ${name}: ${message}`);
  const redis = await redisForSupervisor(config);
  if (redis.private) {
    log(`started a private redis-server (nothing is persisted; it stops with this command)`);
    console.log(`REDIS_URL=${redis.url}`);
    log(`use it from another shell: export REDIS_URL=${redis.url}${config.prefix !== 'lf' ? ` LATENTFLOW_PREFIX=${config.prefix}` : ''}`);
  } else {
    log(`using REDIS_URL ${redactUrl(redis.url)}`);
  }
  const supervisor = new Supervisor({ scale, env: { ...process.env, ...env, REDIS_URL: redis.url }, output: process.stderr, log });
  const signal = untilSignal(() => {
    log('second signal: killing the services');
    supervisor.kill();
  });
  try {
    supervisor.start();
    log(`running ${supervisor.children.map((c) => c.label).join(', ')} (key prefix ${config.prefix}); Ctrl-C to stop`);
    if (scale.dashboard > 0) log(`dashboard: http://${config.dashboard.host.includes(':') ? `[${config.dashboard.host}]` : config.dashboard.host}:${config.dashboard.port}/`);
    const received = await signal;
    log(`${received}: stopping the services`);
    await supervisor.stop();
  } finally {
    supervisor.kill();
    await redis.stop();
  }
  log('stopped');
  process.exit(0);
}

export function upCommand(): Command {
  return new Command('up')
    .description('run the trainer, encoder and downstream services (and with --dashboard the dashboard) as child processes, with a private redis-server when REDIS_URL is unset, until Ctrl-C')
    .option('--scale <counts>', 'processes per service, e.g. encoder=2,downstream=1 (default 1 each, dashboard 0)', (text: string, previous: Scale) => parseScale(text, previous), DEFAULT_SCALE)
    .option('--dashboard', 'also run the dashboard (LATENTFLOW_DASHBOARD_HOST:PORT, default 127.0.0.1:8080)')
    .action(async (opts: { scale: Scale; dashboard?: boolean }) => {
      await superviseUntilSignal(opts.dashboard === true ? { ...opts.scale, dashboard: 1 } : opts.scale);
    });
}
