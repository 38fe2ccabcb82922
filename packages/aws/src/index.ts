export { createWebIdentityTokenProvider, skyportenCredentials } from './credentials.js';
export { type ChainedRole } from './chain.js';
export { type SkyportenCredentialsOptions, type SkyportenIdentityProperties, type StsClientConfig } from './options.js';
