import { afterEach, expect, it, vi } from 'vitest';

// Imported by URL: the example is its own TypeScript project (tsc -b checks it there).
const exampleUrl = new URL('../../../examples/azure-blob/index.ts', import.meta.url).href;
const { main, parseBlobUrl } = (await import(exampleUrl)) as {
  main(): Promise<void>;
  parseBlobUrl(url: string): { accountUrl: string; container: string; blob: string };
};

afterEach(() => {
  vi.restoreAllMocks();
});

it('examples/azure-blob runs in local mode, prints a summary and no token', async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  delete process.env.AZURE_BLOB_URL;
  await main();
  const output = lines.join('\n');
  expect(output).toContain('Hello, 991825827! This blob was shared with your organisation number.');
  expect(output).toContain('20 concurrent downloads: 1 Entra ID token request, 1 Skyporten token request.');
  expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
});

it('parseBlobUrl splits an account URL, container and blob path', () => {
  expect(parseBlobUrl('https://account.blob.core.windows.net/shared-data/reports/2026%20q1.csv')).toEqual({
    accountUrl: 'https://account.blob.core.windows.net',
    container: 'shared-data',
    blob: 'reports/2026 q1.csv',
  });
  expect(() => parseBlobUrl('https://account.blob.core.windows.net/only-container')).toThrow(/AZURE_BLOB_URL/);
  expect(() => parseBlobUrl('http://account.blob.core.windows.net/c/b')).toThrow(/AZURE_BLOB_URL/);
});
