import { UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { StudioConfig } from './config';

export interface Session {
  accessToken: string;
  userId: string;
  name: string;
  expiresAt: number;
  kind: 'oidc' | 'dev';
}

type Listener = () => void;

const DEV_KEY = 'storydream.dev-session';
/** Renew this long before the token expires, so no request carries a token that dies on the way. */
export const RENEW_AHEAD_MS = 5 * 60 * 1000;

/**
 * Who is signed in, and their bearer token. Production signs in with OIDC (authorization code + PKCE, silent renewal
 * by oidc-client-ts); locally, "Continue as dev user" asks the API's dev-token route, which answers only where the app
 * host enabled development sign-in, and renews the same way before expiry.
 */
export class Auth {
  private session: Session | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly oidc: UserManager | null;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly config: StudioConfig) {
    this.oidc =
      config.authority && config.clientId
        ? new UserManager({
            authority: config.authority,
            client_id: config.clientId,
            redirect_uri: `${location.origin}/auth/callback`,
            post_logout_redirect_uri: `${location.origin}/`,
            response_type: 'code',
            scope: config.scope,
            automaticSilentRenew: true,
            userStore: new WebStorageStateStore({ store: localStorage }),
          })
        : null;
    this.oidc?.events.addUserLoaded((user) => this.set(fromOidc(user)));
    this.oidc?.events.addUserUnloaded(() => this.set(null));
    this.oidc?.events.addSilentRenewError(() => this.set(null));
  }

  get canUseOidc(): boolean {
    return this.oidc !== null;
  }

  current(): Session | null {
    return this.session;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Picks up a session kept from an earlier visit. */
  async restore(): Promise<void> {
    const stored = readDev();
    if (stored && stored.expiresAt > Date.now() + 10_000) {
      this.set(stored);
      return;
    }
    if (stored) {
      try {
        await this.signInDev();
      } catch {
        localStorage.removeItem(DEV_KEY);
      }
      return;
    }
    const user = await this.oidc?.getUser();
    if (user && !user.expired) this.set(fromOidc(user));
  }

  async signInDev(): Promise<void> {
    const response = await fetch('/api/auth/dev-token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{}',
    });
    if (!response.ok) {
      const problem = (await response.json().catch(() => null)) as { detail?: string } | null;
      throw new Error(problem?.detail ?? `Development sign-in failed (HTTP ${response.status}).`);
    }
    const token = (await response.json()) as { accessToken: string; userId: string; expiresAt: string };
    const session: Session = {
      accessToken: token.accessToken,
      userId: token.userId,
      name: token.userId === 'dev-user' ? 'Dev User' : token.userId,
      expiresAt: Date.parse(token.expiresAt),
      kind: 'dev',
    };
    localStorage.setItem(DEV_KEY, JSON.stringify(session));
    this.set(session);
  }

  async signInOidc(returnTo: string): Promise<void> {
    await this.oidc?.signinRedirect({ state: { returnTo } });
  }

  /** Finishes the redirect from the identity provider; returns where the person was going. */
  async completeOidc(): Promise<string> {
    if (!this.oidc) return '/';
    const user = await this.oidc.signinRedirectCallback();
    this.set(fromOidc(user));
    const state = user.state as { returnTo?: string } | undefined;
    return state?.returnTo ?? '/';
  }

  async signOut(): Promise<void> {
    const kind = this.session?.kind;
    localStorage.removeItem(DEV_KEY);
    this.set(null);
    if (kind === 'oidc' && this.oidc) {
      await this.oidc.removeUser();
    }
  }

  /** The token was refused (401): the session is over. */
  expired(): void {
    localStorage.removeItem(DEV_KEY);
    this.set(null);
  }

  private set(session: Session | null): void {
    this.session = session;
    clearTimeout(this.renewTimer);
    if (session?.kind === 'dev') {
      const delay = Math.max(session.expiresAt - Date.now() - RENEW_AHEAD_MS, 1000);
      this.renewTimer = setTimeout(() => void this.signInDev().catch(() => this.expired()), delay);
    }
    for (const listener of this.listeners) listener();
  }
}

function readDev(): Session | null {
  try {
    const raw = localStorage.getItem(DEV_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function fromOidc(user: { access_token: string; id_token?: string; profile: { sub: string; name?: string; email?: string }; expires_at?: number }): Session {
  // The API validates ID tokens of the provider (Firebase Auth issues those); a plain OIDC provider's access token works too.
  return {
    accessToken: user.id_token ?? user.access_token,
    userId: user.profile.sub,
    name: user.profile.name ?? user.profile.email ?? user.profile.sub,
    expiresAt: (user.expires_at ?? 0) * 1000,
    kind: 'oidc',
  };
}
