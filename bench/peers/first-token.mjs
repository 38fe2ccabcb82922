// Child process of the fresh-process row: `node bench/peers/first-token.mjs <side>` imports one side, gets one
// token from the mock and prints the milliseconds since the process started (performance.now()).
// The config comes as JSON in SKYPORTEN_BENCH_PEER, the key as a path (keyFile) to a 0600 file.
import { readFileSync } from 'node:fs';

const side = process.argv[2];
const sides = ['sdk', 'openid-client', 'oauth4webapi', 'naive'];
if (side === undefined || !sides.includes(side)) throw new Error(`first-token.mjs: side must be one of ${sides.join(', ')}`);
const { keyFile, ...config } = JSON.parse(process.env.SKYPORTEN_BENCH_PEER ?? '{}');
/** @type {{ createTokenSource: import('./types.ts').CreateTokenSource }} */
const module = await import(`./${side}.mjs`);
const getToken = module.createTokenSource({ ...config, privateKeyPem: readFileSync(keyFile, 'utf8') });
const token = await getToken();
if (typeof token.accessToken !== 'string' || token.accessToken.length === 0) throw new Error(`${side}: no access token`);
process.stdout.write(String(performance.now()));
