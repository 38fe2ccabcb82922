import type { Environment } from '@skyporten/core';

/** A `fetch` with the proxy settings of an environment applied. */
export type ProxiedFetch = (url: string, init?: RequestInit) => Promise<Response>;

/** True when the environment names a proxy (upper- or lower-case, as curl and undici read them). */
export function proxyConfigured(env: Environment): boolean {
  return [env.HTTPS_PROXY, env.https_proxy, env.HTTP_PROXY, env.http_proxy].some((value) => value !== undefined && value !== '');
}

function optional<K extends string>(name: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [name]: value } as Record<K, string>) : {};
}

/**
 * Node's fetch ignores HTTP(S)_PROXY and NO_PROXY. Like the core's HTTP client, route requests through
 * undici's EnvHttpProxyAgent when a proxy is set, reading the variables from the CLI's environment.
 */
export function createProxiedFetch(env: Environment): ProxiedFetch {
  if (!proxyConfigured(env)) return (url, init) => fetch(url, init);
  const dispatcher = import('undici').then(
    ({ EnvHttpProxyAgent }) =>
      new EnvHttpProxyAgent({
        ...optional('httpProxy', env.http_proxy || env.HTTP_PROXY),
        ...optional('httpsProxy', env.https_proxy || env.HTTPS_PROXY),
        ...optional('noProxy', env.no_proxy || env.NO_PROXY),
      }),
  );
  // `dispatcher` is undici's extension of RequestInit, which Node's fetch honours.
  return async (url, init) => fetch(url, { ...init, dispatcher: await dispatcher } as RequestInit);
}
