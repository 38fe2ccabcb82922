// What both test files share: the data provider's setup, as the provider would describe it to you.
export const SCOPE = 'entur:skyporten.demo';
export const RESOURCE = 'https://skyporten.example.org';
export const ORGANISATION_NUMBER = '991825827';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/skyporten-reader';
export const BUCKET = 'shared-reports';
export const REPORT_KEY = 'passengers.csv';
export const BROKEN_REPORT_KEY = 'broken.csv';

/** The objects the data provider shares. */
export const SHARED_OBJECTS = {
  [REPORT_KEY]: 'line,passengers\nL1,42\nR10,17\nF1,5\n',
  [BROKEN_REPORT_KEY]: 'line,passengers\nL1,many\n',
};

/** The role's trust condition: our organisation number and scope, as Skyporten puts them in `sub`. */
export const TRUSTED_SUBJECT = `0192:${ORGANISATION_NUMBER};${SCOPE}`;
