// 10,000 concurrent credential resolutions on a cold @skyporten/aws provider, against the mock STS: how many
// AssumeRoleWithWebIdentity calls and Maskinporten token requests they cause.
import { median, percentile, round } from '../measure.ts';
import { exactly, type BenchResult } from '../result.ts';
import { RESOURCE, ORGANISATION_NUMBER, SCOPE, type BenchWorld } from '../world.ts';
import { CONCURRENT_CALLERS, concurrentWaits } from './stampede.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';

export async function awsStampede(world: BenchWorld): Promise<BenchResult[]> {
  const [{ skyportenCredentials }, { createMockAws }] = await Promise.all([import('@skyporten/aws'), import('@skyporten/testing')]);
  const aws = await createMockAws({
    issuer: world.issuer,
    clientIds: [RESOURCE],
    roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: `0192:${ORGANISATION_NUMBER};${SCOPE}` } }],
  });
  const rounds = 3;
  const stsCalls: number[] = [];
  const tokenRequests: number[] = [];
  const p99: number[] = [];
  try {
    for (let index = 0; index < rounds; index++) {
      world.issuer.reset();
      aws.reset();
      const provider = skyportenCredentials({
        roleArn: ROLE_ARN,
        maskinporten: world.client(),
        clientConfig: { endpoint: aws.stsEndpoint },
        env: false,
      });
      const waits = await concurrentWaits(CONCURRENT_CALLERS, () => provider());
      stsCalls.push(aws.stsCalls);
      tokenRequests.push(world.tokenRequests());
      p99.push(percentile(waits, 99));
    }
  } finally {
    await aws.close();
  }
  const sts = Math.max(...stsCalls);
  const maskinporten = Math.max(...tokenRequests);
  return [
    {
      id: 'awsStampedeStsCalls',
      label: `AWS: ${CONCURRENT_CALLERS} concurrent credential resolutions -> STS calls`,
      value: sts,
      unit: 'count',
      ...exactly(sts, 1),
      details: { perRound: stsCalls },
    },
    {
      id: 'awsStampedeTokenRequests',
      label: 'AWS: same stampede -> Maskinporten token requests',
      value: maskinporten,
      unit: 'count',
      ...exactly(maskinporten, 1),
      details: { perRound: tokenRequests },
    },
    { id: 'awsStampedeWaitP99Ms', label: 'AWS: wait p99 (token + STS, loopback)', value: round(median(p99)), unit: 'ms' },
  ];
}
