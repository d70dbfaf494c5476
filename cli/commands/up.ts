/** `latentflow up [--scale encoder=2,downstream=1]`: the three services as child processes, until SIGINT/SIGTERM. */
import { Command } from 'commander';
import { loadConfig } from '../../shared/config.js';
import { redactUrl, redisForSupervisor } from '../connection.js';
import { parseScale, type Scale, Supervisor } from '../supervisor.js';

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

export function upCommand(): Command {
  return new Command('up')
    .description('run the trainer, encoder and downstream services as child processes (and a private redis-server when REDIS_URL is unset) until Ctrl-C')
    .option('--scale <counts>', 'processes per service, e.g. encoder=2,downstream=1 (default 1 each)', (text: string, previous: Scale) => parseScale(text, previous),
      { trainer: 1, encoder: 1, downstream: 1 } satisfies Scale)
    .action(async (opts: { scale: Scale }) => {
      const config = loadConfig();
      const log = (message: string) => console.error(`latentflow up: ${message}`);
      const redis = await redisForSupervisor(config);
      if (redis.private) {
        log(`started a private redis-server (nothing is persisted; it stops with this command)`);
        console.log(`REDIS_URL=${redis.url}`);
        log(`use it from another shell: export REDIS_URL=${redis.url}${config.prefix !== 'lf' ? ` LATENTFLOW_PREFIX=${config.prefix}` : ''}`);
      } else {
        log(`using REDIS_URL ${redactUrl(redis.url)}`);
      }
      const supervisor = new Supervisor({
        scale: opts.scale,
        env: { ...process.env, REDIS_URL: redis.url },
        output: process.stderr,
        log,
      });
      const signal = untilSignal(() => {
        log('second signal: killing the services');
        supervisor.kill();
      });
      try {
        supervisor.start();
        log(`running ${supervisor.children.map((c) => c.label).join(', ')} (key prefix ${config.prefix}); Ctrl-C to stop`);
        const received = await signal;
        log(`${received}: stopping the services`);
        await supervisor.stop();
      } finally {
        supervisor.kill();
        await redis.stop();
      }
      log('stopped');
      process.exit(0);
    });
}
