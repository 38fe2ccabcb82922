import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromWebToken } from '@aws-sdk/credential-providers';
import { createMaskinportenClient } from '@skyporten/core';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createWebIdentityTokenProvider,
  skyportenCredentials,
  type ChainedRole,
  type SkyportenCredentialsOptions,
  type SkyportenIdentityProperties,
  type StsClientConfig,
} from '@skyporten/aws';

const roleArn = 'arn:aws:iam::123456789012:role/skyporten-reader';

describe('@skyporten/aws public types', () => {
  it('skyportenCredentials returns the AWS SDK credential provider type, which S3Client accepts', () => {
    expectTypeOf(skyportenCredentials).returns.toEqualTypeOf<AwsCredentialIdentityProvider>();
    expectTypeOf(skyportenCredentials).returns.toExtend<NonNullable<S3ClientConfig['credentials']>>();
    expectTypeOf(skyportenCredentials({ roleArn })).returns.resolves.toEqualTypeOf<AwsCredentialIdentity>();
    new S3Client({ region: 'eu-north-1', credentials: skyportenCredentials({ roleArn }) });
    expectTypeOf(skyportenCredentials).parameter(0).toEqualTypeOf<SkyportenCredentialsOptions | undefined>();
  });

  it('maskinporten takes a client or the options for one', () => {
    const maskinporten = createMaskinportenClient({ environment: 'test' });
    skyportenCredentials({ roleArn, maskinporten });
    skyportenCredentials({ roleArn, maskinporten: { environment: 'test', scope: 'entur:skyporten.demo', resource: 'https://skyporten.example.org' } });
    createWebIdentityTokenProvider(maskinporten);
    createWebIdentityTokenProvider({ environment: 'prod' });
    // @ts-expect-error a client, options, or nothing
    skyportenCredentials({ roleArn, maskinporten: 'my-client-id' });
    // @ts-expect-error only test and prod
    skyportenCredentials({ roleArn, maskinporten: { environment: 'staging' } });
  });

  it('the web identity token provider resolves the token string fromWebToken takes', () => {
    const getToken = createWebIdentityTokenProvider();
    expectTypeOf(getToken).returns.resolves.toEqualTypeOf<string>();
    expectTypeOf(getToken).returns.resolves.toExtend<Parameters<typeof fromWebToken>[0]['webIdentityToken']>();
  });

  it('every option accepts an explicit undefined (exactOptionalPropertyTypes), e.g. straight from process.env', () => {
    skyportenCredentials({ roleArn: process.env.AWS_ROLE_ARN, roleSessionName: process.env.AWS_ROLE_SESSION_NAME });
    const options: SkyportenCredentialsOptions = {
      maskinporten: undefined,
      roleArn: undefined,
      roleSessionName: undefined,
      durationSeconds: undefined,
      chain: undefined,
      clientConfig: { region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL_STS, maxAttempts: undefined },
      credentialRefreshAheadSeconds: undefined,
      refreshWindowSeconds: undefined,
      safetyMarginSeconds: undefined,
      logger: undefined,
      clock: undefined,
      env: undefined,
    };
    skyportenCredentials(options);
    const chained: ChainedRole = { roleArn, roleSessionName: process.env.SESSION, durationSeconds: undefined, externalId: process.env.EXTERNAL_ID };
    skyportenCredentials({ roleArn, chain: [chained, { roleArn }] });
    expectTypeOf<SkyportenIdentityProperties>().toExtend<{ forceRefresh?: boolean | undefined }>();
    // @ts-expect-error a chained role needs its roleArn
    skyportenCredentials({ roleArn, chain: [{ durationSeconds: 900 }] });
  });

  it('rejects wrong option types and unknown options at compile time', () => {
    // @ts-expect-error seconds as a number
    skyportenCredentials({ roleArn, durationSeconds: '3600' });
    // @ts-expect-error not an option (roleArn)
    skyportenCredentials({ roleArm: roleArn });
    // @ts-expect-error roleArn is a string
    skyportenCredentials({ roleArn: 42 });
    // @ts-expect-error the region is a string
    skyportenCredentials({ roleArn, clientConfig: { region: 1 } });
    // @ts-expect-error false reads nothing; true means nothing
    skyportenCredentials({ roleArn, env: true });
    expectTypeOf<{ region: 'eu-west-1'; maxAttempts: 5; customUserAgent: 'x' }>().toExtend<StsClientConfig>();
  });
});
