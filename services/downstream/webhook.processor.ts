/**
 * `webhook` jobs: POST one alert (the job's `body`, JSON) to the job's `url`, signed (see shared/pipeline/webhook.ts).
 * A 2xx answer completes the job; a timeout, a network error or any other status is retried with the job's
 * exponential backoff, except a 4xx other than 408 and 429, which fails the job at once (the receiver refuses it).
 */
import { InputError, LatentflowError } from '../../shared/contracts/errors.js';
import { parsePayload, type JobResult } from '../../shared/contracts/queues.js';
import type { PipelineJob } from '../../shared/pipeline/queues.js';
import { ALERT_ID_HEADER, SIGNATURE_HEADER, signBody } from '../../shared/pipeline/webhook.js';

export interface WebhookDeps {
  /** LATENTFLOW_WEBHOOK_SECRET. */
  secret: string;
  /** LATENTFLOW_WEBHOOK_TIMEOUT_MS: time for the whole exchange. */
  timeoutMs: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** Characters of a refusing receiver's answer quoted in the job's error. */
const SNIPPET = 200;

/** A failed delivery worth another try. */
export class DeliveryError extends LatentflowError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, true, options);
  }
}

export function createWebhookProcessor(deps: WebhookDeps): (job: PipelineJob<'webhook'>) => Promise<JobResult<'webhook'>> {
  const post = deps.fetch ?? fetch;
  return async (job) => {
    const p = parsePayload('webhook', job.data);
    const where = describeUrl(p.url);
    let response: Response;
    let text: string;
    try {
      response = await post(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(p.body, deps.secret), [ALERT_ID_HEADER]: p.alertId },
        body: p.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut ? `no answer within ${deps.timeoutMs} ms` : errorText(error);
      throw new DeliveryError(`webhook ${where}: ${reason}`, { cause: error });
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { status, attempts: job.attemptsMade + 1 };
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, SNIPPET);
    const message = `webhook ${where} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new InputError(message, { field: 'url' });
    throw new DeliveryError(message);
  };
}

/** The URL without credentials, query or fragment (they may hold tokens): what error messages show. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
