const jwtPattern = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const pemPattern = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const jwkPrivatePattern = /"(d|p|q|dp|dq|qi)"\s*:\s*"[\w-]+"/g;

/**
 * Replaces anything that looks like a JWT (grant or access token), a PEM block or the private members of a
 * JWK with a placeholder. Applied to every message the SDK produces and to server text it quotes.
 * @public
 */
export function redact(text: string): string {
  return text
    .replace(jwtPattern, '[redacted JWT]')
    .replace(pemPattern, '[redacted PEM]')
    .replace(jwkPrivatePattern, '"$1":"[redacted]"');
}
