/**
 * The dashboard's HTTP application: pages for runs, models, datasets, sources, schedules and live alerts; run reports;
 * bull-board under `/queues`; Prometheus text at `/metrics`; `/healthz` (the process answers) and `/readyz` (Redis
 * answers). Reads Redis only; its actions (promote, rollback, retry a run) go through the same stores and flows as
 * the CLI's. Who may do what: see auth.ts.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { LatentflowError } from '../../shared/contracts/errors.js';
import type { Keyspace } from '../../shared/contracts/keys.js';
import { QUEUES } from '../../shared/contracts/queues.js';
import { makeFlowProducer, submitRun } from '../../shared/pipeline/flow.js';
import type { Logger } from '../../shared/pipeline/log.js';
import { makeQueue } from '../../shared/pipeline/queues.js';
import { listSchedules } from '../../shared/pipeline/schedules.js';
import { buildReport } from '../../shared/report/index.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { DatasetStore } from '../../shared/store/datasets.js';
import { ModelRegistry } from '../../shared/store/models.js';
import type { RedisClient } from '../../shared/store/redis.js';
import { SourceStore } from '../../shared/store/sources.js';
import { ALERTS_CLIENT, AlertsFeed } from './alerts-feed.js';
import { checkActionToken, createAuth } from './auth.js';
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
  log: Logger;
}

export interface Dashboard {
  app: express.Express;
  /** Stops the alerts feed, the metrics' listeners and the queues (not the Redis connection, which the caller owns). */
  close(): Promise<void>;
}

/** For pages that do not name one (reports): browsers ask for /favicon.ico. */
const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1d2330"/></svg>';

/** Alerts shown when the alerts page opens. */
const RECENT_ALERTS = 100;

/** Our own pages: same-origin scripts only, no plugins, not framed. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export async function createDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const { redis, keys, token, log } = deps;
  const auth = createAuth(token);
  const queues = Object.fromEntries(QUEUES.map((q) => [q, makeQueue(q, redis, keys)])) as { [Q in (typeof QUEUES)[number]]: ReturnType<typeof makeQueue<Q>> };
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

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff').set('referrer-policy', 'same-origin');
    next();
  });
  app.get('/favicon.ico', (_req, res) => void res.type('image/svg+xml').set('cache-control', 'max-age=86400').send(FAVICON));
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok'));
  app.get('/readyz', async (_req, res) => {
    try {
      await redis.ping();
      res.type('text/plain').send('ready');
    } catch (error) {
      res.status(503).type('text/plain').send(`redis: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  app.use(auth.middleware);
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.get('/metrics', async (_req, res) => void res.type(metrics.contentType).send(await metrics.render()));
  app.use('/queues', withoutExternalLinks, board.getRouter() as express.Router);

  const send = (res: Response, body: string) => void res.set('content-security-policy', CSP).type('html').send(body);
  const flash = (req: Request) => {
    const q = req.query;
    if (typeof q.promoted === 'string') return `production now points at version ${q.promoted}`;
    if (typeof q.rolledback === 'string') return `production rolled back to version ${q.rolledback}`;
    if (typeof q.retried === 'string') return `submitted again as run ${q.retried}`;
    return undefined;
  };

  app.get('/', (_req, res) => res.redirect(303, '/runs'));
  app.get('/runs', async (req, res) => send(res, runsPage(await listRuns(runQueues), auth.actionToken, flash(req))));
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

  app.get('/models', async (_req, res) => send(res, modelsPage(await models.list())));
  app.get('/models/:name', async (req, res) => {
    const model = await models.describe(param(req, 'name'));
    if (!model) return notFound(res, `no model "${param(req, 'name')}"`);
    const asked = Number(req.query.version);
    const shown = Number.isInteger(asked) && model.versions.some((v) => v.version === asked) ? asked : model.aliases.production ?? model.versions.at(-1)?.version ?? 0;
    send(res, await modelPage(model, shown, auth.actionToken, flash(req)));
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
    const message = error instanceof Error ? error.message : String(error);
    res.status(known ? 400 : 500).set('content-security-policy', CSP).type('html')
      .send(page({ title: known ? 'Not possible' : 'Error', section: 'runs', body: html`<p>${message}</p>` }));
  });

  function requireAction(req: Request, res: Response, next: NextFunction): void {
    if (checkActionToken(req, auth, token)) return next();
    res.status(403).type('text/plain').send('this action needs the form it came from (or Authorization: Bearer <token>)');
  }

  feed.start();
  return {
    app,
    async close() {
      await feed.close();
      await metrics.close();
      await Promise.all(Object.values(queues).map((q) => q.close()));
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
  res.status(404).set('content-security-policy', CSP).type('html').send(page({ title: 'Not found', section: 'runs', body: html`<p>${message}</p>` }));
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
