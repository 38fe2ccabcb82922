/**
 * What each cloud matches on a Skyporten token (see PROTOCOL.md): shared by `decode`, `doctor` and `provider`.
 */

/** GCP's attribute mapping for Skyporten providers, exactly as the provider is configured. */
export const GCP_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = Object.freeze({
  'google.subject': 'assertion.consumer.ID',
  'attribute.maskinportenscope': 'assertion.scope',
  'attribute.clientaccess': '"client::" + assertion.consumer.ID + "::" + assertion.scope',
});

/** The IAM condition key AWS gives an OIDC provider's `sub`: the issuer without `https://` and trailing slash, plus `:sub`. */
export function awsSubjectConditionKey(issuer: string): string {
  return `${issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '')}:sub`;
}

/** The AWS IAM OIDC provider URL for an issuer (`https://host`, no trailing slash). */
export function awsProviderUrl(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}

/** `<consumer ID>;<scope>`: the `sub` AWS trust policies and Azure federated credentials match exactly. */
export function skyportenSubject(consumerId: string, scope: string): string {
  return `${consumerId};${scope}`;
}

/** `client::<consumer ID>::<scope>`: GCP's `attribute.clientaccess`. */
export function clientAccess(consumerId: string, scope: string): string {
  return `client::${consumerId}::${scope}`;
}

/** The pool's resource name: `projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>`. */
export function poolName(projectNumber: string, poolId: string): string {
  return `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
}

/** The principalSet member for one consumer and scope. */
export function clientAccessMember(projectNumber: string, poolId: string, consumerId: string, scope: string): string {
  return `principalSet://iam.googleapis.com/${poolName(projectNumber, poolId)}/attribute.clientaccess/${clientAccess(consumerId, scope)}`;
}

/** True when `sub` has Skyporten's current `<authority>:<orgno>;<scope>` shape. */
export function isSkyportenSubject(subject: string): boolean {
  return /^\d{4}:\d{9};\S+$/.test(subject);
}
