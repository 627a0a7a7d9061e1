import type { Agent } from './agent.js';
import { AgentServer } from './agent-server.js';
import { ConfigError, loadConfig } from './config.js';
import { createFilesServer } from './files-server.js';
import { close, listen } from './http.js';
import { PodIdentity } from './identity.js';
import { Workspace } from './workspace.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  if (process.env.STORYDREAM_MODE === 'render') {
    await (await import('./render-main.js')).runRenderMode(log);
    return;
  }
  if (process.env.STORYDREAM_MODE !== undefined && process.env.STORYDREAM_MODE !== '' && process.env.STORYDREAM_MODE !== 'session') {
    throw new ConfigError(`STORYDREAM_MODE must be 'session' or 'render', got '${process.env.STORYDREAM_MODE}'`);
  }
  const config = loadConfig();
  const identity = new PodIdentity(config.sessionId, config.podSecret);
  // Children (the agent's CLI, its tools, scripted commands) inherit the environment; none of them needs the secret.
  delete process.env.STORYDREAM_POD_SECRET;
  const workspace = new Workspace(config.workspaceDir, {
    maxFileBytes: config.maxFileBytes,
    maxTotalBytes: config.maxTotalBytes,
    maxEntries: 100_000,
  });
  await workspace.prepare();

  // Vite and the Claude SDK take seconds to load; a configuration error should not wait for them.
  const agent: Agent =
    config.agentKind === 'scripted'
      ? new (await import('./scripted-agent.js')).ScriptedAgent(config.workspaceDir)
      : new (await import('./claude-agent.js')).ClaudeAgent({ workspaceDir: config.workspaceDir, model: process.env.CLAUDE_MODEL || undefined });
  const { startPreview } = await import('./preview.js');
  const files = createFilesServer(workspace, identity, log);
  const agentServer = new AgentServer(agent, identity, log);

  const filesPort = await listen(files, config.filesPort, config.host);
  const agentPort = await listen(agentServer.http, config.agentPort, config.host);
  const preview = await startPreview({
    workspaceDir: config.workspaceDir,
    host: config.host,
    port: config.previewPort,
    base: config.previewBase,
    allowedHosts: config.previewAllowedHosts,
    cacheDir: process.env.VITE_CACHE_DIR || undefined,
    identity,
  });
  // The session runtime waits for this exact line; with ports of 0 it is the only place the real ports appear.
  process.stdout.write(`READY files=${filesPort} agent=${agentPort} preview=${preview.port}\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`session-pod: ${signal}, shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void Promise.allSettled([agentServer.stop(), preview.close()])
      .then(() => Promise.allSettled([close(files), close(agentServer.http)]))
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  log(error instanceof ConfigError ? `session-pod: ${error.message}` : `session-pod failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
