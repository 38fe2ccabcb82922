import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { ConfigError, logEvent, type DecodedSkyportenToken, type Logger } from '@skyporten/core/adapter';
import type { AwsCredentialIdentity } from '@smithy/types';
import { toCloudExchangeError } from './errors.js';
import { checkRoleArn, checkSessionName, type StsClientConfig } from './options.js';

/**
 * One role of `chain`: assumed with STS `AssumeRole` with the credentials of the role before it.
 *
 * @public
 */
export interface ChainedRole {
  /** The role to assume: its trust policy must allow `sts:AssumeRole` for the role before it. */
  roleArn: string;
  /**
   * The session name, 2-64 characters from `[\w+=,.@-]`.
   * @default the session name of the web identity call (`skyporten-<organisation number>-<random>` unless set)
   */
  roleSessionName?: string | undefined;
  /**
   * Lifetime of this role's credentials, 900-3600 seconds: AWS limits a chained session to one hour.
   * @default 3600
   */
  durationSeconds?: number | undefined;
  /** The external ID the role's trust policy asks for (`sts:ExternalId`), 2-1224 characters from `[\w+=,.@:/-]`. */
  externalId?: string | undefined;
}

const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** `chain`, validated: a {@link ConfigError} names the entry and its field, e.g. `chain[1].roleArn`. @internal */
export function resolveChain(chain: readonly ChainedRole[] | undefined, customEndpoint: boolean): readonly ChainedRole[] {
  if (chain === undefined) return [];
  if (!Array.isArray(chain)) throw new ConfigError('chain', 'chain must be an array of { roleArn, roleSessionName?, durationSeconds?, externalId? }.');
  return chain.map((link: ChainedRole, index) => {
    const field = `chain[${index}]`;
    if (typeof link?.roleArn !== 'string' || link.roleArn === '') {
      throw new ConfigError(`${field}.roleArn`, `${field}.roleArn is missing: each chained role needs the ARN of the role to assume with the credentials of the one before.`);
    }
    checkRoleArn(link.roleArn, `${field}.roleArn`, `${field}.roleArn`, customEndpoint);
    checkSessionName(link.roleSessionName, `${field}.roleSessionName`, `${field}.roleSessionName`);
    const { durationSeconds } = link;
    if (durationSeconds !== undefined && (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 3600)) {
      throw new ConfigError(`${field}.durationSeconds`, `${field}.durationSeconds must be a whole number from 900 to 3600: AWS limits a session assumed by role chaining to one hour; got ${durationSeconds}.`);
    }
    if (link.externalId !== undefined && !EXTERNAL_ID.test(link.externalId)) {
      throw new ConfigError(`${field}.externalId`, `${field}.externalId must be 2-1224 characters of letters, digits and _+=,.@:/-; got ${link.externalId.length} characters.`);
    }
    return { ...link };
  });
}

/** The STS client's configuration, its region given or resolved from the asking client when needed. @internal */
export type ResolvedStsConfig = Omit<StsClientConfig, 'region'> & { region: string | (() => Promise<string>) };

/** What each `AssumeRole` of the chain uses besides its role. */
interface ChainContext {
  /** The role whose credentials start the chain (the web identity role). */
  roleArn: string;
  roleSessionName: string;
  /** The STS client's configuration, as for the web identity call. */
  clientConfig: ResolvedStsConfig;
  callerClientConfig: unknown;
  /** The Skyporten token's claims, for the hints. */
  token: DecodedSkyportenToken;
  logger: Logger | undefined;
}

/**
 * Assumes each role of `chain` with the credentials of the one before, starting from `first`; returns the last
 * role's credentials (`first` when the chain is empty). A failure is a `CloudExchangeError` naming both roles.
 * @internal
 */
export async function assumeChain(chain: readonly ChainedRole[], first: AwsCredentialIdentity, context: ChainContext): Promise<AwsCredentialIdentity> {
  let credentials = first;
  let via = context.roleArn;
  for (const { roleArn, roleSessionName = context.roleSessionName, durationSeconds, externalId } of chain) {
    const provider = fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: roleSessionName, DurationSeconds: durationSeconds, ...(externalId === undefined ? {} : { ExternalId: externalId }) },
      masterCredentials: credentials,
      clientConfig: context.clientConfig as NonNullable<Parameters<typeof fromTemporaryCredentials>[0]['clientConfig']>,
    });
    logEvent(context.logger, 'debug', 'calling AWS STS AssumeRole (role chaining)', { roleArn, via, roleSessionName });
    credentials = await provider({ callerClientConfig: context.callerClientConfig } as Parameters<typeof provider>[0]).catch((error: unknown) => {
      throw toCloudExchangeError(error, { roleArn, token: context.token, via });
    });
    via = roleArn;
  }
  return credentials;
}
