// Optional OpenTelemetry spans and metrics (core README); no-ops without `@opentelemetry/api`.
import { redact } from './redact.js';

/** Span and metric attributes. @internal */
export type Attributes = Record<string, string | number | boolean | undefined>;

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** Counters the SDK reports. @internal */
export type SkyportenMetric = 'refreshes' | 'failures' | 'token_requests';

interface Telemetry {
  span<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T>;
  count(metric: SkyportenMetric, attributes?: Attributes): void;
  secondsToExpiry(seconds: number, attributes?: Attributes): void;
}

const noop: Telemetry = {
  span: (_name, _attributes, run) => run(),
  count: () => undefined,
  secondsToExpiry: () => undefined,
};

let current: Telemetry = noop;
let loading: Promise<Telemetry> | undefined;
const noopLoaded: Promise<Telemetry> = Promise.resolve(noop);

function clean(attributes: Attributes | undefined): Attributes | undefined {
  return attributes && Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}

function fromApi(api: OpenTelemetryApi): Telemetry {
  const tracer = api.trace.getTracer('@skyporten/core');
  const meter = api.metrics.getMeter('@skyporten/core');
  const counters = {
    refreshes: meter.createCounter('skyporten.token.refreshes', { description: 'background refreshes started' }),
    failures: meter.createCounter('skyporten.token.failures', { description: 'token or cloud requests that failed' }),
    token_requests: meter.createCounter('skyporten.token.requests', { description: 'token requests sent' }),
  };
  const expiry = meter.createHistogram('skyporten.token.seconds_to_expiry', { description: 'seconds left on a token when it was obtained', unit: 's' });
  return {
    span(name, attributes, run) {
      const options = { attributes: clean(attributes) ?? {} };
      return tracer.startActiveSpan(name, options, async (span) => {
        try {
          const result = await run();
          span.setStatus({ code: api.SpanStatusCode.OK });
          return result;
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (typeof code === 'string') span.setAttribute('skyporten.error.code', code);
          // Our errors carry no secrets; anything else is reduced to its name.
          span.recordException({ name: error instanceof Error ? error.name : 'Error', message: redact(error instanceof Error ? error.message : String(error)) });
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    // Callers pass attributes built once, without undefined values: this runs on every cache hit.
    count: (metric, attributes) => counters[metric].add(1, attributes),
    secondsToExpiry: (seconds, attributes) => expiry.record(seconds, clean(attributes)),
  };
}

/** Where @opentelemetry/api v1 keeps its registered providers; absent until an SDK registers one. */
const otelGlobal = Symbol.for('opentelemetry.js.api.1');

/** The telemetry hooks; `@opentelemetry/api` is loaded (once) only after an SDK registered a global provider. @internal */
export function loadTelemetry(): Promise<Telemetry> {
  if (loading === undefined && (globalThis as Record<symbol, unknown>)[otelGlobal] === undefined) return noopLoaded;
  loading ??= import('@opentelemetry/api' as string)
    .then((api: OpenTelemetryApi) => {
      current = fromApi(api);
      return current;
    })
    .catch(() => noop);
  return loading;
}

/** The hooks as loaded so far (no-ops until {@link loadTelemetry} has resolved). @internal */
export function telemetry(): Telemetry {
  return current;
}

/** Runs `exchange` in an OpenTelemetry span `skyporten.<cloud>.exchange`, counting failures (a plain call without OpenTelemetry). @public */
export async function traceCloudExchange<T>(cloud: string, attributes: Record<string, string | number | boolean | undefined>, exchange: () => Promise<T>): Promise<T> {
  const hooks = await loadTelemetry();
  try {
    return await hooks.span(`skyporten.${cloud}.exchange`, { 'skyporten.cloud': cloud, ...attributes }, exchange);
  } catch (error) {
    hooks.count('failures', { 'skyporten.cloud': cloud });
    throw error;
  }
}
