/** ISO 6523 ICD of the Norwegian register of legal entities (Enhetsregisteret). */
const AUTHORITY = '0192';
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
  const remainder = WEIGHTS.reduce((total, weight, index) => total + weight * (digits[index] ?? 0), 0) % 11;
  // A remainder of 1 gives check digit 10: such numbers are never issued.
  return (remainder === 0 ? 0 : 11 - remainder) === digits[8];
}

/** `991825827` or `0192:991825827` as the bare 9 digits, or `null` when invalid. */
export function normaliseOrganisationNumber(value: string): string | null {
  const bare = value.startsWith(`${AUTHORITY}:`) ? value.slice(AUTHORITY.length + 1) : value;
  return isValidOrganisationNumber(bare) ? bare : null;
}

/** `0192:<orgNo>`, the ISO 6523 consumer ID used in `sub` and `consumer.ID`. */
export function toConsumerId(organisationNumber: string): string {
  return `${AUTHORITY}:${organisationNumber}`;
}
