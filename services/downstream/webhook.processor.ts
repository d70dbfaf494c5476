/**
 * `webhook` jobs `{alertId}`: read that entry of the alerts stream and POST it (`alertJson`) to the configured
 * LATENTFLOW_WEBHOOK_URL, signed (see shared/pipeline/webhook.ts). A job chooses neither the URL nor the body, so
 * whoever can add jobs can neither send requests elsewhere nor have arbitrary bodies signed.
 *
 * A 2xx answer completes the job; a timeout, a network error or any other status is retried with the job's
 * exponential backoff, except a 4xx other than 408 and 429, which fails the job at once (the receiver refuses it), and
 * an alert no longer in the stream (trimmed, or never there), which fails at once too. At most
 * WEBHOOK_LIMITS.responseBytes of an answer are read; the rest is discarded unread. Failure reasons show the URL
 * without credentials, query or fragment.
 */
import { InputError, LatentflowError } from '../../shared/contracts/errors.js';
import { WEBHOOK_LIMITS } from '../../shared/contracts/limits.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { ALERT_ID_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, unixSeconds } from '../../shared/pipeline/webhook.js';
import { alertJson, type AlertStore } from '../../shared/store/alerts.js';

export interface WebhookDeps {
  /** LATENTFLOW_WEBHOOK_URL: where every alert goes. */
  url: string;
  /** LATENTFLOW_WEBHOOK_SECRET. */
  secret: string;
  /** LATENTFLOW_WEBHOOK_TIMEOUT_MS: time for the whole exchange. */
  timeoutMs: number;
  /** Where the alerts are read from. */
  alerts: Pick<AlertStore, 'get'>;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Characters of a refusing receiver's answer quoted in the job's error. */
const SNIPPET = 200;

/** A failed delivery worth another try. */
export class DeliveryError extends LatentflowError {
  constructor(message: string) {
    super(message, true);
  }
}

export function createWebhookProcessor(deps: WebhookDeps): (job: PipelineJob<'webhook'>) => Promise<JobResult<'webhook'>> {
  const post = deps.fetch ?? fetch;
  const where = describeUrl(deps.url);
  return async (job) => {
    const { alertId } = parsePayload('webhook', job.data);
    const entry = await deps.alerts.get(alertId);
    if (entry === undefined) throw new InputError('no such alert in the alerts stream (trimmed, or never there)', { source: 'webhook job', field: 'alertId', value: alertId });
    const body = alertJson(entry.alert, entry.id);
    const timestamp = unixSeconds();
    let response: Response;
    try {
      response = await post(deps.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(body, deps.secret, timestamp),
          [TIMESTAMP_HEADER]: String(timestamp), [ALERT_ID_HEADER]: entry.id,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut ? `no answer within ${deps.timeoutMs} ms` : errorText(error);
      // fetch's own messages may quote the URL: keep only what describeUrl shows.
      throw new DeliveryError(`webhook ${where}: ${redactUrl(reason, deps.url)}`);
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      return { status, attempts: job.attemptsMade + 1 };
    }
    const answer = await readAtMost(response, WEBHOOK_LIMITS.responseBytes).catch(() => '');
    // eslint-disable-next-line no-control-regex -- the receiver's control characters never reach a terminal
    const snippet = redactUrl(answer, deps.url).replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').trim().slice(0, SNIPPET);
    const message = `webhook ${where} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new InputError(message);
    throw new DeliveryError(message);
  };
}

/** The first `limit` bytes of the answer as text; the rest is cancelled unread. */
async function readAtMost(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}

/**
 * The URL's origin only: credentials, query and fragment may hold tokens, and so may the path (Slack's and Discord's
 * incoming-webhook URLs carry their secret there). What error messages and logs show.
 */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname === '/' ? '/' : '/…'}`;
  } catch {
    return '(invalid URL)';
  }
}

/** `text` with the URL, and its credentials, path, query and fragment wherever they appear, replaced. */
function redactUrl(text: string, url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return text.split(url).join('(the webhook URL)');
  }
  const secrets = [url, u.href, u.username, u.password, u.pathname, u.search, u.search.slice(1), u.hash, u.hash.slice(1)]
    .filter((s) => s.length > 1)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of secrets) out = out.split(s).join(s === url || s === u.href ? describeUrl(url) : '(redacted)');
  return out;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
