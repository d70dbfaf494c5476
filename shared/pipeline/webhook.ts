/**
 * Webhook signatures. Every delivery is a POST of one alert as JSON (`alertJson`: `{id, source, record, score,
 * threshold, severity, model, version, features, at, kind}`) to LATENTFLOW_WEBHOOK_URL, with the headers
 *
 * - `x-latentflow-signature: t=<unix seconds>,sha256=<hex>`: the HMAC-SHA256, keyed with LATENTFLOW_WEBHOOK_SECRET,
 *   of `<unix seconds>.<body>` (the timestamp, a dot, then the exact request body bytes as sent);
 * - `x-latentflow-timestamp: <unix seconds>`: the same timestamp (for logs; the signed one is in the signature);
 * - `x-latentflow-alert-id: <alert stream entry id>`: the same on every retry of one alert, so a receiver can drop
 *   duplicates (each retry is signed afresh, with its own timestamp).
 *
 * A receiver recomputes the HMAC over the timestamp and the raw body (before any JSON parsing), compares in constant
 * time, and refuses a timestamp more than a few minutes from its own clock, so a captured request cannot be replayed
 * later. In Python:
 *
 * ```python
 * import hashlib, hmac, time
 *
 * def verify(body: bytes, header: str, secret: bytes, tolerance: int = 300) -> bool:
 *     parts = dict(p.split('=', 1) for p in header.split(',') if '=' in p)
 *     t = parts.get('t', '')
 *     if not (t.isascii() and t.isdigit()) or abs(time.time() - int(t)) > tolerance:
 *         return False
 *     expected = hmac.new(secret, t.encode() + b'.' + body, hashlib.sha256).hexdigest()
 *     return hmac.compare_digest(expected.encode(), parts.get('sha256', '').encode())
 * ```
 *
 * (with Flask: `verify(request.get_data(), request.headers['x-latentflow-signature'], SECRET)`). In Node,
 * {@link verifySignature} does the same.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-latentflow-signature';
export const TIMESTAMP_HEADER = 'x-latentflow-timestamp';
export const ALERT_ID_HEADER = 'x-latentflow-alert-id';

/** How far a signature's timestamp may be from the receiver's clock, in seconds, by default. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The current time in unix seconds. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `t=<timestamp>,sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with secret>`. */
export function signBody(body: string | Uint8Array, secret: string, timestamp: number = unixSeconds()): string {
  return `t=${timestamp},sha256=${hmacHex(body, secret, timestamp)}`;
}

export interface VerifyOptions {
  /** Largest difference between the signed timestamp and `now`, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The receiver's time in unix seconds. Default: now. */
  now?: number;
}

/**
 * Whether `header` is a valid signature of `body` under `secret`, made within `toleranceSeconds` of `now` (constant-time
 * comparison of the HMAC).
 */
export function verifySignature(body: string | Uint8Array, header: string | undefined, secret: string, options: VerifyOptions = {}): boolean {
  if (header === undefined) return false;
  const { toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS, now = unixSeconds() } = options;
  const parts = new Map(header.split(',').map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()] as const;
  }));
  const t = parts.get('t') ?? '';
  if (!/^\d{1,12}$/.test(t) || Math.abs(now - Number(t)) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(body, secret, Number(t)));
  const given = Buffer.from(parts.get('sha256') ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hmacHex(body: string | Uint8Array, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
