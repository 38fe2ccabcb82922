export { CLOUD_PLATFORM_SCOPE, createSubjectTokenSupplier, SkyportenIdentityPoolClient, type SubjectTokenSupplierOptions } from './client.js';
export { skyportenCredentials, type SkyportenCredentialsOptions } from './credentials.js';
export {
  DEFAULT_EXECUTABLE_COMMAND,
  gcpCredentialConfig,
  gcpExecutableResponse,
  type GcpCredentialConfigOptions,
  type GcpExecutableResponse,
  type GcpExternalAccountConfig,
} from './credential-config.js';
export { clientAccessPrincipalSet } from './errors.js';
export { GCP_ENVIRONMENT_VARIABLES, workloadIdentityAudience, type GcpFederationOptions, type ResolvedFederation, type WorkloadIdentityProvider } from './options.js';
