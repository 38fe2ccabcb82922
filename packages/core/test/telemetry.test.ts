import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaskinportenClient, traceCloudExchange } from '@skyporten/core';
import { createMockSkyporten, type MockSkyporten } from '@skyporten/testing';

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
  async sums(): Promise<Record<string, number>> {
    const { resourceMetrics } = await this.collect();
    return sumsOf(resourceMetrics);
  }
}

function sumsOf(resourceMetrics: ResourceMetrics): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      sums[metric.descriptor.name] = metric.dataPoints.reduce(
        (total, point) => total + (typeof point.value === 'number' ? point.value : (point.value as { count: number }).count),
        0,
      );
    }
  }
  return sums;
}

const exporter = new InMemorySpanExporter();
const reader = new CollectingReader();
let issuer: MockSkyporten;

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  issuer = await createMockSkyporten();
});
afterAll(() => issuer.close());

describe('OpenTelemetry, when @opentelemetry/api is installed', () => {
  it('records a span per token request and counts requests, cache hits and failures, with no secret in attributes', async () => {
    const registered = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
    const client = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope: 'entur:skyporten.demo',
      key: { privateKey: registered.privateKey, kid: registered.kid },
      retry: { limit: 2, baseDelayMs: 1 },
      env: false,
    });
    issuer.failNext({ status: 503 });
    const token = await client.getAccessToken();
    await client.getAccessToken();
    await client.getAccessToken();
    await traceCloudExchange('aws', { role: 'arn:aws:iam::1:role/r' }, async () => {
      throw Object.assign(new Error('denied'), { code: 'CLOUD_EXCHANGE_FAILED' });
    }).catch(() => undefined);

    const spans = exporter.getFinishedSpans();
    const tokenSpan = spans.find((span) => span.name === 'skyporten.token_request');
    expect(tokenSpan?.attributes).toMatchObject({ 'skyporten.issuer': issuer.issuer, 'skyporten.scope': 'entur:skyporten.demo' });
    const cloudSpan = spans.find((span) => span.name === 'skyporten.aws.exchange');
    expect(cloudSpan?.attributes['skyporten.error.code']).toBe('CLOUD_EXCHANGE_FAILED');
    expect(cloudSpan?.status.code).toBe(2);
    expect(JSON.stringify(spans.map((span) => [span.attributes, span.events]))).not.toContain(token);

    const sums = await reader.sums();
    expect(sums['skyporten.token.requests']).toBe(2);
    // A cache hit costs nothing: no counter (docs/decisions/0014).
    expect(sums['skyporten.token.cache_hits']).toBeUndefined();
    expect(sums['skyporten.token.failures']).toBe(1);
    expect(sums['skyporten.token.seconds_to_expiry']).toBe(1);
  });
});
