export { CLOUD_PLATFORM_SCOPE, createSubjectTokenSupplier, SkyportenIdentityPoolClient } from './credentials.js';
export type { SubjectTokenSupplierOptions } from './credentials.js';
export { skyportenCredentials, type SkyportenCredentialsOptions } from './credentials.js';
export { DEFAULT_EXECUTABLE_COMMAND, gcpCredentialConfig, gcpExecutableResponse } from './credential-config.js';
export type { GcpCredentialConfigOptions, GcpExecutableResponse, GcpExternalAccountConfig } from './credential-config.js';
export { clientAccessPrincipalSet } from './errors.js';
export { GCP_ENVIRONMENT_VARIABLES, workloadIdentityAudience } from './options.js';
export type { GcpFederationOptions, ResolvedFederation, WorkloadIdentityProvider } from './options.js';
