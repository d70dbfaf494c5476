/** The dashboard's express app on a free loopback port over a tracked connection, closed when the test ends. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import { silentLogger } from '../../shared/pipeline/log.js';
import { closeRedis } from '../../shared/store/redis.js';
import { createDashboard } from '../../services/dashboard/app.js';
import { trackedRedis, type RedisFixture } from './redis.js';

export interface RunningDashboard {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  keys: Keyspace;
  /** fetch of a path, redirects not followed. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

export async function startDashboard(
  t: TestContext, fixture: RedisFixture, options: { keys?: Keyspace; token?: string; sessionMs?: number } = {},
): Promise<RunningDashboard> {
  const keys = options.keys ?? keyspace(fixture.prefix());
  const redis = trackedRedis(fixture.url(), { name: 'dashboard' });
  const dashboard = await createDashboard({ redis, keys, token: options.token, sessionMs: options.sessionMs, log: silentLogger });
  const server: Server = createServer(dashboard.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await dashboard.close();
    await closeRedis(redis);
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, keys, request: (path, init = {}) => fetch(base + path, { redirect: 'manual', ...init }) };
}
