/**
 * Webhook signatures. A delivery carries `x-latentflow-signature: sha256=<hex>`, the HMAC-SHA256 of the exact request
 * body (bytes as sent) keyed with LATENTFLOW_WEBHOOK_SECRET, and `x-latentflow-alert-id: <alert stream entry id>`
 * (the same id on every retry of one alert, so a receiver can drop duplicates).
 *
 * A receiver in any language recomputes the HMAC over the raw body and compares in constant time, e.g. Python:
 * `hmac.compare_digest(header, 'sha256=' + hmac.new(secret, body, hashlib.sha256).hexdigest())`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-latentflow-signature';
export const ALERT_ID_HEADER = 'x-latentflow-alert-id';

/** `sha256=<hex HMAC-SHA256 of body with secret>`. */
export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of `body` under `secret` (constant-time comparison). */
export function verifySignature(body: string | Uint8Array, header: string | undefined, secret: string): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
