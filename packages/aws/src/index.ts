export { createWebIdentityTokenProvider, skyportenCredentials } from './credentials.js';
export { type SkyportenCredentialsOptions, type SkyportenIdentityProperties, type StsClientConfig } from './options.js';
