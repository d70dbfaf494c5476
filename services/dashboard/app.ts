/**
 * The dashboard's HTTP application: pages for runs, models, datasets, sources, schedules and live alerts; run reports;
 * bull-board under `/queues`; Prometheus text at `/metrics`; `/healthz` (the process answers) and `/readyz` (Redis
 * answers). Reads Redis only; its actions (promote, rollback, retry a run) go through the same stores and flows as
 * the CLI's. Who may do what: see auth.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { LatentflowError } from '../../shared/contracts/errors.js';
import type { Keyspace } from '../../shared/contracts/keys.js';
import { QUEUES } from '../../shared/contracts/queues.js';
import { cancelJobs } from '../../shared/pipeline/cancellation.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import type { Logger } from '../../shared/pipeline/log.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { listSchedules } from '../../shared/pipeline/schedules.js';
import { buildReport } from '../../shared/report/index.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { ModelRegistry } from '../../shared/store/models.js';
import { redact, type RedisClient } from '../../shared/store/redis.js';
import { SourceStore } from '../../shared/store/sources.js';
import { ALERTS_CLIENT, AlertsFeed } from './alerts-feed.js';
import { actionTokenOf, checkActionToken, createAuth, offerXsrfCookie } from './auth.js';
import { html } from '../../shared/report/markup.js';
import { page } from './layout.js';
import { createDashboardMetrics } from './metrics.js';
import { alertsPage } from './pages/alerts.js';
import { modelPage, modelsPage } from './pages/models.js';
import { runsPage } from './pages/runs.js';
import { datasetsPage, schedulesPage, sourcesPage } from './pages/tables.js';
import { getRun, listRuns, requestOf, type RunQueues } from './runs.js';

export interface DashboardDeps {
  redis: RedisClient;
  keys: Keyspace;
  /** LATENTFLOW_DASHBOARD_TOKEN; undefined only when listening on loopback. */
  token: string | undefined;
  /** Lifetime of a browser session opened with `?token=`, in ms (LATENTFLOW_DASHBOARD_SESSION_MS). Default 12 h. */
  sessionMs?: number;
  log: Logger;
}

export interface Dashboard {
  app: express.Express;
  /** Stops the alerts feed, the metrics' listeners and the queues (not the Redis connection, which the caller owns). */
  close(): Promise<void>;
}

/** For pages that do not name one (reports): browsers ask for /favicon.ico. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1d2330"/></svg>';

/** How long `close` waits for the feed, the metrics and the queues to close. */
const CLOSE_MS = 5000;

/** Alerts shown when the alerts page opens. */
const RECENT_ALERTS = 100;

/**
 * Every response, bull-board's included: same-origin scripts only (bull-board's page has no inline script, only a JSON
 * block and inline styles), no plugins, not framed.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** How long /readyz waits for Redis's PING. */
const READY_TIMEOUT_MS = 2000;
/** How long a cancel request waits for the run's running stage to stop before the page reloads. */
const CANCEL_WAIT_MS = 3000;

const SESSION_MS = 12 * 3_600_000;

export async function createDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const { redis, keys, token, log } = deps;
  const auth = createAuth({ token, redis, keys, sessionMs: deps.sessionMs ?? SESSION_MS });
  const queues = Object.fromEntries(QUEUES.map((q) => [q, makeQueue(q, redis, keys)])) as { [Q in (typeof QUEUES)[number]]: ReturnType<typeof makeQueue<Q>> };
  // The connection reports its own errors (redacted, throttled); a queue nobody listens to would print each one.
  for (const q of Object.values(queues)) q.on('error', () => {});
  const runQueues: RunQueues = queues;
  const models = new ModelRegistry(redis, keys);
  const datasets = new DatasetStore(redis, keys);
  const sources = new SourceStore(redis, keys);
  const alerts = new AlertStore(redis, keys);
  const feed = new AlertsFeed(alerts, log);
  const metrics = await createDashboardMetrics({ redis, keys });

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({ queues: QUEUES.map((q) => new BullMQAdapter(queues[q])), serverAdapter: board, options: { uiConfig: { boardTitle: 'latentflow' } } });
  const boardApp = board.getRouter() as express.Express;
  boardApp.disable('x-powered-by'); // its own express app, with express's defaults

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff').set('referrer-policy', 'same-origin')
      .set('content-security-policy', CSP).set('x-frame-options', 'DENY');
    next();
  });
  app.get('/favicon.ico', (_req, res) => void res.type('image/svg+xml').set('cache-control', 'max-age=86400').send(FAVICON));
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok'));
  app.get('/readyz', async (_req, res) => {
    if (await answers(redis, READY_TIMEOUT_MS)) return void res.type('text/plain').send('ready');
    // Open to anyone: the reason (host names, addresses) goes to the log, which the connection writes (redacted).
    res.status(503).type('text/plain').send('redis does not answer');
  });
  app.use(auth);
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.get('/metrics', async (_req, res) => void res.type(metrics.contentType).send(await metrics.render()));
  app.use('/queues', queuesGuard, withoutExternalLinks, boardApp);

  const send = (res: Response, body: string) => void res.type('html').send(body);
  const flash = (req: Request) => {
    const q = req.query;
    if (typeof q.promoted === 'string') return `production now points at version ${q.promoted}`;
    if (typeof q.rolledback === 'string') return `production rolled back to version ${q.rolledback}`;
    if (typeof q.retried === 'string') return `submitted again as run ${q.retried}`;
    if (typeof q.cancelled === 'string') return `run ${q.cancelled} cancelled`;
    return undefined;
  };

  app.get('/', (_req, res) => res.redirect(303, '/runs'));
  app.get('/runs', async (req, res) => send(res, runsPage(await listRuns(runQueues), actionTokenOf(res), flash(req))));
  app.get('/runs/:id/report', async (req, res) => send(res, await buildReport(redis, keys, { run: param(req, 'id') })));
  app.post('/runs/:id/retry', requireAction, async (req, res) => {
    const run = await getRun(runQueues, param(req, 'id'));
    if (!run) return notFound(res, `no run "${param(req, 'id')}"`);
    const request = await requestOf(runQueues, run.id);
    const flows = makeFlowProducer(redis, keys);
    try {
      const submitted = await submitRun(flows, keys, { ...request, run: `${run.id.slice(0, 100)}-retry-${Date.now()}` });
      res.redirect(303, `/runs?retried=${encodeURIComponent(submitted.run)}`);
    } finally {
      await flows.close();
    }
  });

  app.post('/runs/:id/cancel', requireAction, async (req, res) => {
    const run = await getRun(runQueues, param(req, 'id'));
    if (!run) return notFound(res, `no run "${param(req, 'id')}"`);
    await cancelJobs(redis, keys, Object.values(queues), run.id, CANCEL_WAIT_MS);
    res.redirect(303, `/runs?cancelled=${encodeURIComponent(run.id)}`);
  });

  app.get('/models', async (_req, res) => send(res, modelsPage(await models.list())));
  app.get('/models/:name', async (req, res) => {
    const model = await models.describe(param(req, 'name'));
    if (!model) return notFound(res, `no model "${param(req, 'name')}"`);
    const asked = Number(req.query.version);
    const shown = Number.isInteger(asked) && model.versions.some((v) => v.version === asked) ? asked : model.aliases.production ?? model.versions.at(-1)?.version ?? 0;
    send(res, await modelPage(model, shown, actionTokenOf(res), flash(req)));
  });
  app.post('/models/:name/promote', requireAction, async (req, res) => {
    const version = await models.promote(param(req, 'name'), formField(req, 'version'));
    res.redirect(303, `/models/${encodeURIComponent(param(req, 'name'))}?promoted=${version}`);
  });
  app.post('/models/:name/rollback', requireAction, async (req, res) => {
    const { to } = await models.rollback(param(req, 'name'));
    res.redirect(303, `/models/${encodeURIComponent(param(req, 'name'))}?rolledback=${to}`);
  });

  app.get('/datasets', async (_req, res) => send(res, datasetsPage(await datasets.list())));
  app.get('/sources', async (_req, res) => {
    const list = await sources.list();
    send(res, sourcesPage(await Promise.all(list.map(async (s) => ({ ...s, stats: await sources.stats(s.source) })))));
  });
  app.get('/schedules', async (_req, res) => send(res, schedulesPage(await listSchedules(queues.schedule))));
  app.get('/alerts', async (_req, res) => send(res, alertsPage(await alerts.read({ count: RECENT_ALERTS }))));
  app.get('/alerts/events', (req, res) => feed.handle(req, res));
  app.get('/assets/alerts.js', (_req, res) => void res.type('application/javascript').set('cache-control', 'no-cache').send(ALERTS_CLIENT));

  app.use((_req, res) => notFound(res, 'no such page'));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = error instanceof LatentflowError && !error.retryable;
    if (!known) log.error(`dashboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    const message = redact(error instanceof Error ? error.message : String(error));
    res.status(known ? 400 : 500).type('html')
      .send(page({ title: known ? 'Not possible' : 'Error', section: 'runs', body: html`<p>${message}</p>` }));
  });

  function requireAction(req: Request, res: Response, next: NextFunction): void {
    if (checkActionToken(req, res)) return next();
    res.status(403).type('text/plain').send('this action needs the form it came from (or Authorization: Bearer <token>)');
  }

  /** bull-board's page and reads are open to whoever may see the dashboard; everything else is an action. */
  function queuesGuard(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return requireAction(req, res, next);
    offerXsrfCookie(req, res);
    next();
  }

  feed.start();
  return {
    app,
    async close() {
      const closing = (async () => {
        await feed.close();
        await metrics.close();
        await Promise.all(Object.values(queues).map((q) => q.close()));
      })();
      // BullMQ's close waits for a working connection: a Redis that is gone must not keep the dashboard from stopping.
      const done = await Promise.race([closing.then(() => true), delay(CLOSE_MS, false, { ref: false })]);
      if (!done) log.warn(`dashboard: not closed within ${CLOSE_MS / 1000} s (is Redis reachable?); stopping anyway`);
    },
  };
}

/** A field of a urlencoded form ('' when absent). */
function formField(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** A route parameter (express 5 types them loosely). */
function param(req: Request, name: string): string {
  return String(req.params[name]);
}

function notFound(res: Response, message: string): void {
  res.status(404).type('html').send(page({ title: 'Not found', section: 'runs', body: html`<p>${message}</p>` }));
}

/** True when Redis answers PING within `ms`. */
async function answers(redis: RedisClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([redis.ping().then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * bull-board's page links a web font from fonts.googleapis.com; the dashboard must work offline (and a closed network
 * logs the failed request as a console error), so that link is dropped from its HTML and the UI falls back to the
 * system font.
 */
function withoutExternalLinks(_req: Request, res: Response, next: NextFunction): void {
  const render = res.render.bind(res) as (view: string, options: object, callback: (error: Error | null, markup?: string) => void) => void;
  res.render = ((view: string, options?: object) => {
    render(view, options ?? {}, (error, markup) => {
      if (error) return next(error);
      res.type('html').send((markup ?? '').replace(/<link[^>]+href="https?:\/\/[^"]*"[^>]*>/g, ''));
    });
  });
  next();
}
