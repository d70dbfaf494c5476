/**
 * The dashboard service: web pages, bull-board, `/metrics`, health checks on LATENTFLOW_DASHBOARD_HOST:PORT.
 * Wiring only; see app.ts. Reports are built on request, so it starts a TensorFlow.js backend like the workers.
 */
import { startTracing } from '../../shared/pipeline/tracing.js';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { checkDashboardAccess, loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/contracts/errors.js';
import { keyspace } from '../../shared/contracts/keys.js';
import { initBackend } from '../../shared/ml/backend.js';
import { startHeartbeat } from '../../shared/pipeline/heartbeat.js';
import { createLogger, describeError } from '../../shared/pipeline/log.js';
import { onShutdown } from '../../shared/pipeline/shutdown.js';
import { closeRedis, createRedis } from '../../shared/store/redis.js';
import { createDashboard } from './app.js';

async function run(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('dashboard', config.logLevel, undefined, config.logFormat);
  const stopTracing = startTracing('dashboard');
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL is not set: the dashboard shows what is in Redis');
  checkDashboardAccess(config.dashboard);
  await initBackend(config.backend, (m) => log.info(m), { blasThreads: config.blasThreads });
  const redis = createRedis(config.redisUrl, { name: `${config.prefix}:dashboard`, cluster: config.redisCluster });
  const keys = keyspace(config.prefix);
  const dashboard = await createDashboard({ redis, keys, token: config.dashboard.token, sessionMs: config.dashboard.sessionMs, log });
  const server = createServer(dashboard.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.dashboard.port, config.dashboard.host, resolve);
  });
  const heartbeat = startHeartbeat(redis, keys, { service: 'dashboard', log });
  onShutdown(async () => {
    await heartbeat.stop();
    server.closeIdleConnections();
    await dashboard.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeRedis(redis);
    await stopTracing();
  }, { log, connection: redis });
  const { address, port } = server.address() as AddressInfo;
  const shown = address.includes(':') ? `[${address}]` : address;
  log.info(`ready: http://${shown}:${port}/ (prefix ${config.prefix}${config.dashboard.token ? ', token required' : ', localhost only'})`);
}

run().catch((error: unknown) => {
  console.error(describeError(error));
  process.exit(1);
});
