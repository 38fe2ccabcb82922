export { createWebIdentityTokenProvider, skyportenCredentials } from './credentials.js';
export { type ChainedRole, type SkyportenCredentialsOptions, type SkyportenIdentityProperties, type StsClientConfig } from './options.js';
