/** ISO 6523 ICD for the Norwegian Central Coordinating Register for Legal Entities (Enhetsregisteret). */
export const NORWEGIAN_ORGANISATION_AUTHORITY = '0192';

const WEIGHTS = [3, 2, 7, 6, 5, 4, 3, 2] as const;

/**
 * Whether `value` is a 9-digit Norwegian organisation number with a valid modulus-11 check digit.
 *
 * @example
 * ```ts
 * isValidOrganisationNumber('991825827'); // true
 * isValidOrganisationNumber('123456789'); // false
 * ```
 */
export function isValidOrganisationNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const digits = [...value].map(Number);
  const sum = WEIGHTS.reduce((total, weight, index) => total + weight * (digits[index] ?? 0), 0);
  const remainder = sum % 11;
  const check = remainder === 0 ? 0 : 11 - remainder;
  // A remainder of 1 gives check digit 10: such numbers are never issued.
  return check !== 10 && check === digits[8];
}

/**
 * Accepts `991825827` or `0192:991825827` and returns the bare 9 digits, or `null` when invalid.
 */
export function normaliseOrganisationNumber(value: string): string | null {
  const bare = value.startsWith(`${NORWEGIAN_ORGANISATION_AUTHORITY}:`)
    ? value.slice(NORWEGIAN_ORGANISATION_AUTHORITY.length + 1)
    : value;
  return isValidOrganisationNumber(bare) ? bare : null;
}

/** `0192:<orgNo>`, the ISO 6523 consumer ID used in `sub` and `consumer.ID`. */
export function toConsumerId(organisationNumber: string): string {
  return `${NORWEGIAN_ORGANISATION_AUTHORITY}:${organisationNumber}`;
}
