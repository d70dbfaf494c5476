/**
 * Who may see and change what, on the dashboard.
 *
 * - With a token (required off localhost): every route but `/healthz` and `/readyz` needs it, as
 *   `Authorization: Bearer <token>` (scrapers, scripts) or the session cookie a browser gets by opening any page once
 *   with `?token=<token>`.
 * - Without a token (loopback only): pages are open, but the Host header must name a loopback host, so that a web
 *   page elsewhere cannot reach the dashboard through DNS rebinding.
 * - State changes (promote, rollback, retry, and bull-board's actions) are POST/PUT/DELETE; a browser's cross-origin
 *   request is refused (Origin check), and our own forms carry an action token derived from the token (a random one
 *   per process when there is none) which the handler checks with {@link checkActionToken}.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isLoopback } from '../../shared/config.js';

export const COOKIE = 'latentflow_dashboard';
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
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

export interface Auth {
  /** Express middleware enforcing the rules above. */
  middleware: RequestHandler;
  /** The token our forms carry for state changes. */
  actionToken: string;
}

export function createAuth(token: string | undefined): Auth {
  const actionToken = token === undefined ? randomBytes(24).toString('hex') : createHmac('sha256', token).update('latentflow-dashboard-actions').digest('hex');
  const middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (OPEN_PATHS.has(req.path)) return next();
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
      const origin = req.headers.origin;
      if (origin !== undefined && originHost(origin) !== req.headers.host) {
        res.status(403).type('text/plain').send('cross-origin requests cannot change state');
        return;
      }
    }
    if (token === undefined) {
      if (!isLoopback(hostName(req.headers.host))) {
        res.status(403).type('text/plain').send('this dashboard has no token and answers only to localhost');
        return;
      }
      return next();
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const query = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (query !== undefined && sameSecret(query, token) && req.method === 'GET') {
      res.cookie(COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
      const url = new URL(req.originalUrl, 'http://dashboard');
      url.searchParams.delete('token');
      res.redirect(303, url.pathname + url.search);
      return;
    }
    const presented = bearer ?? cookieValue(req, COOKIE);
    if (presented !== undefined && sameSecret(presented, token)) return next();
    res.status(401).set('WWW-Authenticate', 'Bearer realm="latentflow"').type('text/plain')
      .send('this dashboard needs its token: open it once with ?token=<LATENTFLOW_DASHBOARD_TOKEN>, or send Authorization: Bearer <token>');
  };
  return { middleware, actionToken };
}

/** True when the form's (or header's) action token is ours, or the request carries the dashboard token as a bearer. */
export function checkActionToken(req: Request, auth: Auth, token: string | undefined): boolean {
  const body = req.body as Record<string, unknown> | undefined;
  const presented = typeof body?.action === 'string' ? body.action : req.headers['x-latentflow-action'];
  if (typeof presented === 'string' && sameSecret(presented, auth.actionToken)) return true;
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  return token !== undefined && bearer !== undefined && sameSecret(bearer, token);
}
