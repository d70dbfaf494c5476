/**
 * The live alerts feed: one follower of the alerts stream per dashboard process, fanned out to every connected
 * browser as server-sent events (`event: alert`, `id:` the stream entry id, `data:` the alert as JSON). A client that
 * reconnects sends `Last-Event-ID` (browsers do this themselves), or `?after=<id>` on its first connection, and first
 * receives what it missed from the stream.
 */
import type { Request, Response } from 'express';
import { alertJson, type AlertEntry, type AlertStore } from '../../shared/store/alerts.js';
import type { Logger } from '../../shared/pipeline/log.js';

/** Comment lines keep idle connections open through proxies. */
const KEEPALIVE_MS = 15_000;
/** Entries a reconnecting client may catch up on. */
const CATCH_UP = 500;
const STREAM_ID = /^\d+-\d+$/;

export class AlertsFeed {
  private readonly clients = new Set<Response>();
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(private readonly alerts: Pick<AlertStore, 'follow' | 'read'>, private readonly log: Logger) {}

  /** Starts following the stream (from now on). */
  start(): void {
    this.loop = this.follow();
    this.keepalive = setInterval(() => this.clients.forEach((res) => res.write(': keepalive\n\n')), KEEPALIVE_MS).unref();
  }

  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        for await (const entry of this.alerts.follow({ signal: this.stop.signal })) this.broadcast(entry);
      } catch (error) {
        this.log.warn(`alerts feed: ${error instanceof Error ? error.message : String(error)}; following again in 1 s`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private broadcast(entry: AlertEntry): void {
    const event = format(entry);
    for (const res of this.clients) res.write(event);
  }

  /** The `GET /alerts/events` handler. */
  async handle(req: Request, res: Response): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const header = req.headers['last-event-id'];
    const after = typeof header === 'string' ? header : typeof req.query.after === 'string' ? req.query.after : undefined;
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
    if (after !== undefined && STREAM_ID.test(after)) {
      for (const entry of await this.alerts.read({ after, count: CATCH_UP })) res.write(format(entry));
    }
  }

  /** Ends every client's stream and stops following. */
  async close(): Promise<void> {
    clearInterval(this.keepalive);
    this.stop.abort();
    for (const res of this.clients) res.end();
    this.clients.clear();
    await this.loop;
  }
}

function format(entry: AlertEntry): string {
  return `id: ${entry.id}\nevent: alert\ndata: ${alertJson(entry.alert, entry.id)}\n\n`;
}

/** The browser side of the feed: prepends each new alert to the page's table (text only, never markup). */
export const ALERTS_CLIENT = `
'use strict';
const body = document.querySelector('#alerts tbody');
const status = document.getElementById('feed-status');
const seen = new Set(Array.from(body.querySelectorAll('tr[data-id]'), (row) => row.dataset.id));
const after = body.dataset.after;
const source = new EventSource('/alerts/events' + (after ? '?after=' + encodeURIComponent(after) : ''));
source.addEventListener('open', () => { status.textContent = 'live'; status.dataset.state = 'live'; });
source.addEventListener('error', () => { status.textContent = 'reconnecting'; status.dataset.state = 'reconnecting'; });
source.addEventListener('alert', (event) => {
  if (seen.has(event.lastEventId)) return;
  seen.add(event.lastEventId);
  const alert = JSON.parse(event.data);
  const row = document.createElement('tr');
  row.dataset.id = event.lastEventId;
  const features = (alert.features || []).map((f) => f.feature).join(', ');
  const attribution = (alert.attribution || []).map((f) => f.feature).join(', ');
  const pValue = typeof alert.pValue === 'number' ? alert.pValue.toPrecision(4) : '-';
  for (const [text, cls] of [[alert.at, ''], [alert.source, ''], [alert.record, ''], [alert.kind, ''], [alert.severity, 'sev-' + alert.severity],
    [Number(alert.score).toPrecision(4), 'num'], [pValue, 'num'], [Number(alert.threshold).toPrecision(4), 'num'], [alert.model + '@' + alert.version, ''], [features, ''], [attribution, '']]) {
    const cell = document.createElement('td');
    cell.textContent = String(text);
    if (cls) cell.className = cls;
    row.appendChild(cell);
  }
  body.prepend(row);
  while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
});
`;
