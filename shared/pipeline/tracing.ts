/**
 * OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans go to that collector by OTLP/HTTP (the
 * official exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself, headers included). The spans are
 * BullMQ's own (bullmq-otel): a producer span when a job or a run's flow is added, a consumer span `process <queue>`
 * for every attempt with the job id (`bullmq.job.id`), parented through the job's propagation metadata, so every
 * stage of a run lands in the trace its submission started; plus latentflow's own (stream batches). `startTracing`
 * is called once per process (services, the CLI); ./queues.ts and ./flow.ts pass {@link bullmqTelemetry} to BullMQ.
 */
import { isSpanContextValid, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQOtel } from 'bullmq-otel';

const TRACER = 'latentflow';

let active: { provider: NodeTracerProvider; telemetry: BullMQOtel } | undefined;

/**
 * Starts exporting traces for service `service` (resource `service.name` = `latentflow-<service>`) when `env` sets
 * OTEL_EXPORTER_OTLP_ENDPOINT; returns a function that flushes and stops (call it before the process exits).
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): () => Promise<void> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '';
  if (active !== undefined || endpoint === '') return () => Promise.resolve();
  // The signal's own variable wins, as the specification says; else the base endpoint's /v1/traces.
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `latentflow-${service}` }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  active = { provider, telemetry: new BullMQOtel({ tracerName: TRACER }) };
  return async () => {
    const stopping = active;
    active = undefined;
    // A collector that is down loses these spans; it never stops the process from exiting.
    await stopping?.provider.shutdown().catch(() => undefined);
  };
}

/** BullMQ's telemetry option: defined while tracing runs. */
export function bullmqTelemetry(): BullMQOtel | undefined {
  return active?.telemetry;
}

/** The trace id of the span the caller runs in, if any (for log lines). */
export function currentTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context !== undefined && isSpanContextValid(context) ? context.traceId : undefined;
}

/** Runs `fn` in a new span `name` (a child of the current one) when tracing runs; records a thrown error on it. */
export async function inSpan<T>(name: string, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
  if (active === undefined) return fn();
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, async (span: Span) => {
    try {
      return await fn();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: 2 });
      throw error;
    } finally {
      span.end();
    }
  });
}
