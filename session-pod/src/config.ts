import path from 'node:path';

export interface PodConfig {
  readonly workspaceDir: string;
  readonly host: string;
  readonly filesPort: number;
  readonly agentPort: number;
  readonly previewPort: number;
  readonly previewBase: string;
  readonly previewAllowedHosts: true | string[] | undefined;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  readonly agentKind: 'scripted' | 'claude';
  readonly sessionId: string;
  readonly podSecret: string;
}

export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name} must be an integer port between 0 and 65535, got '${raw}'`);
  }
  return value;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got '${raw}'`);
  }
  return value;
}

/** Vite wants a base that starts and ends with a slash; `/preview/abc` and `preview/abc/` both mean `/preview/abc/`. */
export function normalizeBase(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return '/';
  const trimmed = raw.trim();
  if (/[\s?#\\]/.test(trimmed) || trimmed.includes('..') || /^[a-z]+:/i.test(trimmed)) {
    throw new ConfigError(`PREVIEW_BASE must be a plain URL path such as /preview/{sessionId}/, got '${raw}'`);
  }
  const withLeading = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  return withLeading.endsWith('/') ? withLeading : `${withLeading}/`;
}

function allowedHosts(raw: string | undefined): true | string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw.trim() === '*') return true;
  return raw.split(',').map((h) => h.trim()).filter((h) => h !== '');
}

export function loadConfig(env: Env = process.env): PodConfig {
  const workspace = env.WORKSPACE_DIR;
  if (workspace === undefined || workspace.trim() === '') {
    throw new ConfigError('WORKSPACE_DIR must name the session workspace directory (it holds src/ and .claude/)');
  }
  const agent = env.STORYDREAM_AGENT;
  let agentKind: PodConfig['agentKind'];
  if (agent === 'scripted') {
    agentKind = 'scripted';
  } else if (agent === undefined || agent === '' || agent === 'claude') {
    if (env.ANTHROPIC_API_KEY === undefined || env.ANTHROPIC_API_KEY === '') {
      throw new ConfigError('set ANTHROPIC_API_KEY for the Claude agent, or STORYDREAM_AGENT=scripted for the offline agent');
    }
    agentKind = 'claude';
  } else {
    throw new ConfigError(`STORYDREAM_AGENT must be 'scripted' or 'claude', got '${agent}'`);
  }
  const { sessionId, podSecret } = podCredentials(env);
  return {
    workspaceDir: path.resolve(workspace),
    sessionId,
    podSecret,
    host: env.BIND_HOST?.trim() || '127.0.0.1',
    filesPort: port(env, 'FILES_PORT', 3002),
    agentPort: port(env, 'AGENT_PORT', 3001),
    previewPort: port(env, 'PREVIEW_PORT', 3000),
    previewBase: normalizeBase(env.PREVIEW_BASE),
    previewAllowedHosts: allowedHosts(env.PREVIEW_ALLOWED_HOSTS),
    maxFileBytes: positiveInt(env, 'MAX_FILE_BYTES', 50 * 1024 * 1024),
    maxTotalBytes: positiveInt(env, 'MAX_TOTAL_BYTES', 1024 * 1024 * 1024),
    agentKind,
  };
}

/** Who the pod is and the secret its callers send (DESIGN section 8): a session pod and a render pod alike. */
export function podCredentials(env: Env): { sessionId: string; podSecret: string } {
  const sessionId = env.STORYDREAM_SESSION_ID?.trim() ?? '';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(sessionId)) {
    throw new ConfigError('STORYDREAM_SESSION_ID must name the session (or render) this pod serves (letters, digits and dashes)');
  }
  const podSecret = env.STORYDREAM_POD_SECRET ?? '';
  if (podSecret.length < 32) {
    throw new ConfigError("STORYDREAM_POD_SECRET must be the session's pod secret (at least 32 characters); the session runtime gives it");
  }
  return { sessionId, podSecret };
}
