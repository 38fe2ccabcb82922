export {
  createWebIdentityTokenProvider,
  skyportenCredentials,
  type SkyportenCredentialsOptions,
  type SkyportenIdentityProperties,
  type StsClientConfig,
} from './credentials.js';
