/** The runtime config the gateway serves at /config.json: one build runs against any identity provider. */
export interface StudioConfig {
  authority: string | null;
  clientId: string | null;
  scope: string;
  devSignIn: boolean;
}

export async function loadConfig(): Promise<StudioConfig> {
  const response = await fetch('/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`The studio's configuration could not be loaded (HTTP ${response.status}).`);
  const config = (await response.json()) as Partial<StudioConfig>;
  return {
    authority: config.authority ?? null,
    clientId: config.clientId ?? null,
    scope: config.scope ?? 'openid profile email',
    devSignIn: config.devSignIn === true,
  };
}
