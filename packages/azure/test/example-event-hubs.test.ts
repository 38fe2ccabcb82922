import { afterEach, expect, it, vi } from 'vitest';

// Imported by URL: the example is its own TypeScript project (tsc -b checks it there).
const exampleUrl = new URL('../../../examples/azure-event-hubs/index.ts', import.meta.url).href;
type Answer = { status: number; reason: string };
const { runLocal } = (await import(exampleUrl)) as {
  runLocal(): Promise<{
    scopesAsked: string[];
    amqpOutcome: string;
    send: Answer;
    otherHub: Answer;
    storageToken: Answer;
    accepted: { hub: string; body: string; principalId: string }[];
    entraRequests: { scope: string | undefined; status: number }[];
    skyportenTokenRequests: number;
  }>;
};

afterEach(() => {
  vi.restoreAllMocks();
});

it('examples/azure-event-hubs: the Event Hubs SDK gets an Entra ID token through @skyporten/azure, and a checker of signature, audience and role accepts it', async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  delete process.env.EVENTHUBS_NAMESPACE;
  const result = await runLocal();

  // The SDK's own token request, answered by the mock Entra ID after it checked the Skyporten token as a federated credential.
  expect(result.scopesAsked).toEqual(['https://eventhubs.azure.net//.default']);
  expect(result.entraRequests).toEqual([
    { scope: 'https://eventhubs.azure.net//.default', status: 200 },
    { scope: 'https://storage.azure.com/.default', status: 200 },
  ]);
  expect(result.skyportenTokenRequests).toBe(1);
  expect(result.amqpOutcome).toMatch(/expected/);

  // That token is accepted for the hub the principal has a role on, and only there; another resource's token is not.
  expect(result.send).toEqual({ status: 201, reason: 'accepted' });
  expect(result.accepted).toEqual([{ hub: 'departures', body: expect.stringContaining('"organisation":"991825827"'), principalId: 'c5e2a9f4-1d7b-4c3e-8a6f-0b9d2e7c4a18' }]);
  expect(result.otherHub.status).toBe(403);
  expect(result.storageToken).toEqual({ status: 401, reason: 'audience https://storage.azure.com is not Event Hubs' });

  const output = lines.join('\n');
  expect(output).toContain("POST /departures/messages with the SDK's token: 201 accepted");
  expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
});
