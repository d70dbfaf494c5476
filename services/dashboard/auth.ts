/**
 * Who may see and change what, on the dashboard.
 *
 * - With a token (required off localhost): every route but `/healthz` and `/readyz` needs it, as
 *   `Authorization: Bearer <token>` (scrapers, scripts) or a browser session. Opening any page with `?token=<token>`
 *   starts one: a random session id in Redis (`keys.dashboardSession`, keyed by the id's SHA-256, expiring after
 *   `sessionMs`) and a cookie carrying only that id (HttpOnly, SameSite=Strict, Max-Age, Secure over TLS).
 * - Without a token (loopback only): pages are open, but the Host header must name a loopback host, so that a web
 *   page elsewhere cannot reach the dashboard through DNS rebinding.
 * - State changes (promote, rollback, retry, and every bull-board action) are anything but GET/HEAD; a browser's
 *   cross-origin request is refused (Origin check), and each needs the action token ({@link checkActionToken}): a
 *   random one per session (without a token: per process), which our forms carry in a hidden field and bull-board's
 *   UI sends as `X-XSRF-TOKEN` (its HTTP client copies the `XSRF-TOKEN` cookie set on `/queues`), or the bearer token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import { isLoopback } from '../../shared/config.js';
import type { Keyspace } from '../../shared/contracts/keys.js';
import type { RedisClient } from '../../shared/store/redis.js';

export const COOKIE = 'latentflow_dashboard';
/** The cookie bull-board's HTTP client (axios) reads and sends back as the `X-XSRF-TOKEN` header. */
export const XSRF_COOKIE = 'XSRF-TOKEN';
const OPEN_PATHS = new Set(['/healthz', '/readyz']);
const SAFE_METHODS = new Set(['GET', 'HEAD']);

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  return hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * True when the browser reached us over TLS: our own socket, or the TLS proxy in front says so
 * (`X-Forwarded-Proto: https`). The header is believed from anyone: it can only add `Secure`, and a client that
 * lies gets a cookie its own plain-HTTP browser will not send back.
 */
export function overTls(req: Request): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim().toLowerCase();
  return (req.socket as Partial<TLSSocket>).encrypted === true || first === 'https';
}

export interface AuthOptions {
  /** LATENTFLOW_DASHBOARD_TOKEN; undefined only when listening on loopback. */
  token: string | undefined;
  redis: RedisClient;
  keys: Keyspace;
  /** Lifetime of a browser session, in ms (LATENTFLOW_DASHBOARD_SESSION_MS). */
  sessionMs: number;
}

/** Express middleware enforcing the rules above; it leaves the request's action token for {@link actionTokenOf}. */
export function createAuth(o: AuthOptions): RequestHandler {
  const processToken = randomBytes(24).toString('hex');
  const sessionKey = (id: string) => o.keys.dashboardSession(createHash('sha256').update(id).digest('hex'));

  async function startSession(req: Request, res: Response): Promise<void> {
    const id = randomBytes(32).toString('base64url');
    await o.redis.set(sessionKey(id), JSON.stringify({ action: randomBytes(24).toString('hex') }), 'PX', o.sessionMs);
    const options: CookieOptions = { httpOnly: true, sameSite: 'strict', path: '/', maxAge: o.sessionMs, secure: overTls(req) };
    res.cookie(COOKIE, id, options);
    const url = new URL(req.originalUrl, 'http://dashboard');
    url.searchParams.delete('token');
    res.redirect(303, url.pathname + url.search);
  }

  async function sessionAction(req: Request): Promise<string | undefined> {
    const id = cookieValue(req, COOKIE);
    if (id === undefined || id.length > 100) return undefined;
    const stored = await o.redis.get(sessionKey(id));
    const action = stored === null ? undefined : (JSON.parse(stored) as { action?: unknown }).action;
    return typeof action === 'string' ? action : undefined;
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    if (OPEN_PATHS.has(req.path)) return next();
    if (!SAFE_METHODS.has(req.method) && req.method !== 'OPTIONS') {
      const origin = req.headers.origin;
      if (origin !== undefined && originHost(origin) !== req.headers.host) {
        res.status(403).type('text/plain').send('cross-origin requests cannot change state');
        return;
      }
    }
    if (o.token === undefined) {
      if (!isLoopback(hostName(req.headers.host))) {
        res.status(403).type('text/plain').send('this dashboard has no token and answers only to localhost');
        return;
      }
      res.locals.actionToken = processToken;
      return next();
    }
    const query = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (query !== undefined && req.method === 'GET' && sameSecret(query, o.token)) return startSession(req, res);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && sameSecret(bearer, o.token)) {
      res.locals.bearer = true;
      return next();
    }
    const action = await sessionAction(req);
    if (action !== undefined) {
      res.locals.actionToken = action;
      return next();
    }
    res.status(401).set('WWW-Authenticate', 'Bearer realm="latentflow"').type('text/plain')
      .send('this dashboard needs its token: open it once with ?token=<LATENTFLOW_DASHBOARD_TOKEN> (a session lasts LATENTFLOW_DASHBOARD_SESSION_MS), or send Authorization: Bearer <token>');
  };
}

/** The action token of this request's session ('' for a bearer request, which needs none). */
export function actionTokenOf(res: Response): string {
  return typeof res.locals.actionToken === 'string' ? res.locals.actionToken : '';
}

/**
 * True when the request carries its session's action token (form field `action`, or header `X-XSRF-TOKEN` /
 * `X-Latentflow-Action`), or came with the dashboard token as a bearer.
 */
export function checkActionToken(req: Request, res: Response): boolean {
  if (res.locals.bearer === true) return true;
  const expected = actionTokenOf(res);
  const body = req.body as Record<string, unknown> | undefined;
  const presented = typeof body?.action === 'string' ? body.action : req.headers['x-xsrf-token'] ?? req.headers['x-latentflow-action'];
  return expected !== '' && typeof presented === 'string' && sameSecret(presented, expected);
}

/**
 * Hands bull-board's UI its action token: on every GET under `/queues`, the `XSRF-TOKEN` cookie (path `/queues`,
 * SameSite=Strict, readable by the page's script, which is the point), which its HTTP client sends back as
 * `X-XSRF-TOKEN` on its own same-origin requests.
 */
export function offerXsrfCookie(req: Request, res: Response): void {
  const action = actionTokenOf(res);
  if (action === '' || cookieValue(req, XSRF_COOKIE) === action) return;
  res.cookie(XSRF_COOKIE, action, { sameSite: 'strict', path: '/queues', secure: overTls(req) });
}
