import { skyportenCredentials } from '@skyporten/gcp';
import { afterEach, describe, expect, it } from 'vitest';
import { issuedTokens, setup, type Setup } from './fixtures.js';

let current: Setup | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('STS answering Google\'s error JSON instead of an OAuth error', () => {
  it('puts its status in cloudCode and its message in the error message', async () => {
    current = await setup();
    const { gcp, issuer, maskinporten } = current;
    gcp.failNext({ service: 'sts', status: 400, body: { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' } } });
    const credentials = skyportenCredentials({ maskinporten: maskinporten(), audience: gcp.audience, tokenUrl: gcp.stsTokenUrl });
    const error = await credentials.getAccessToken().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'gcp', status: 400, cloudCode: 'INVALID_ARGUMENT', isRetryable: false });
    expect((error as Error).message).toBe('GCP STS refused the token exchange (HTTP 400, INVALID_ARGUMENT): Request contains an invalid argument.');
    expect(gcp.counters.stsCalls).toBe(1);
    expect(issuedTokens(issuer)).toBe(1);
  });
});
