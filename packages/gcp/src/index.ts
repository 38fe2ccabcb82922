export * from './credentials.js';
export { DEFAULT_EXECUTABLE_COMMAND, gcpCredentialConfig, gcpExecutableResponse } from './credential-config.js';
export type { GcpCredentialConfigOptions, GcpExecutableResponse, GcpExternalAccountConfig } from './credential-config.js';
export { clientAccessPrincipalSet } from './errors.js';
export { GCP_ENVIRONMENT_VARIABLES, workloadIdentityAudience } from './options.js';
export type { GcpFederationOptions, ResolvedFederation, WorkloadIdentityProvider } from './options.js';
