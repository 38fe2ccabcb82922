import { describe, expectTypeOf, it } from 'vitest';
import {
  createJwtGrant,
  createMaskinportenClient,
  SkyportenError,
  type KeyInput,
  type MaskinportenClient,
  type SkyportenErrorCode,
  type SkyportenToken,
} from '@skyporten/core';

describe('public types', () => {
  it('getToken resolves a SkyportenToken with Date fields', () => {
    const client = createMaskinportenClient({ environment: 'test' });
    expectTypeOf(client).toEqualTypeOf<MaskinportenClient>();
    expectTypeOf(client.getToken).returns.resolves.toEqualTypeOf<SkyportenToken>();
    expectTypeOf<SkyportenToken['expiresAt']>().toEqualTypeOf<Date>();
    expectTypeOf<SkyportenToken['accessToken']>().toEqualTypeOf<string>();
    expectTypeOf(client.getAccessToken).returns.resolves.toEqualTypeOf<string>();
  });

  it('accepts each key shape and rejects mixtures that make no sense', () => {
    expectTypeOf<{ privateKey: string; kid: string }>().toExtend<KeyInput>();
    expectTypeOf<{ pkcs12: Uint8Array; passphrase: string }>().toExtend<KeyInput>();
    expectTypeOf<{ sign: (input: Uint8Array) => Promise<Uint8Array>; kid: string }>().toExtend<KeyInput>();
    // @ts-expect-error a PKCS#12 file brings its own chain
    createJwtGrant({ issuer: 'x', clientId: 'c', scope: 's:a', key: { pkcs12: new Uint8Array(), certificateChain: 'pem' } });
    // @ts-expect-error only RSA algorithms
    createJwtGrant({ issuer: 'x', clientId: 'c', scope: 's:a', key: { privateKey: 'pem', kid: 'k', algorithm: 'ES256' } });
  });

  it('rejects unknown environments and wrong option types at compile time', () => {
    // @ts-expect-error only test and prod
    createMaskinportenClient({ environment: 'staging' });
    // @ts-expect-error timeout is milliseconds as a number
    createMaskinportenClient({ timeout: '10s' });
  });

  it('accepts an explicit undefined wherever a user passes process.env.X (issue 15)', () => {
    const env: Record<string, string | undefined> = {};
    // Type-level only: never called.
    const build = () => createMaskinportenClient({
      environment: undefined,
      issuer: env.SKYPORTEN_ISSUER,
      tokenEndpoint: env.SKYPORTEN_TOKEN_ENDPOINT,
      clientId: env.MASKINPORTEN_CLIENT_ID,
      scope: env.MASKINPORTEN_SCOPE,
      resource: env.SKYPORTEN_RESOURCE,
      consumerOrg: env.MASKINPORTEN_CONSUMER_ORG,
      key: { privateKey: env.MASKINPORTEN_PRIVATE_KEY ?? '', kid: env.MASKINPORTEN_KID, passphrase: env.PASSPHRASE },
      timeout: undefined,
      retry: { limit: undefined, deadlineMs: undefined },
      logger: undefined,
    });
    expectTypeOf(build).returns.toEqualTypeOf<ReturnType<typeof createMaskinportenClient>>();
  });

  it('narrows errors with isInstance and exposes the code union', () => {
    const error: unknown = new Error('x');
    if (SkyportenError.isInstance(error)) {
      expectTypeOf(error.code).toEqualTypeOf<SkyportenErrorCode>();
      expectTypeOf(error.hint).toEqualTypeOf<string | undefined>();
    }
    expectTypeOf<'CONFIG_INVALID'>().toExtend<SkyportenErrorCode>();
    // @ts-expect-error not a code
    const code: SkyportenErrorCode = 'SOMETHING_ELSE';
    void code;
  });
});
