import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { skyportenCredentials } from '@skyporten/gcp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_ACCOUNT, setup, type Setup } from './fixtures.js';

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});

let current: Setup | undefined;
afterEach(async () => {
  exporter.reset();
  await current?.close();
  current = undefined;
});

describe('OpenTelemetry, when @opentelemetry/api is installed', () => {
  it('records a skyporten.gcp.exchange span per exchange, failed ones with the error code, and no token', async () => {
    current = await setup();
    const { gcp, issuer, maskinporten } = current;
    const credentials = skyportenCredentials({
      maskinporten: maskinporten(),
      audience: gcp.audience,
      tokenUrl: gcp.stsTokenUrl,
      serviceAccountImpersonationUrl: gcp.serviceAccountImpersonationUrl(SERVICE_ACCOUNT),
      env: false,
    });
    gcp.failNext({ service: 'sts', status: 400, body: { error: 'invalid_target', error_description: 'The target service indicated by the "audience" parameters is invalid.' } });
    await expect(credentials.getAccessToken()).rejects.toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED' });
    const { token } = await credentials.getAccessToken();

    const spans = exporter.getFinishedSpans().filter((span) => span.name === 'skyporten.gcp.exchange');
    expect(spans).toHaveLength(2);
    expect(spans[0]?.attributes).toMatchObject({ 'skyporten.cloud': 'gcp', audience: gcp.audience, serviceAccountEmail: SERVICE_ACCOUNT, 'skyporten.error.code': 'CLOUD_EXCHANGE_FAILED' });
    expect(spans[0]?.status.code).toBe(2);
    expect(spans[1]?.status.code).toBe(1);
    const recorded = JSON.stringify(exporter.getFinishedSpans().map((span) => [span.attributes, span.events]));
    for (const secret of [token, ...issuer.requests.map((request) => request.accessToken)]) {
      if (typeof secret === 'string') expect(recorded).not.toContain(secret);
    }
  });
});
