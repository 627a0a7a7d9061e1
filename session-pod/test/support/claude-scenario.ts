/**
 * Runs inside a network namespace that has only loopback (see claude-live.test.ts): the pod's agent server with the
 * real Claude Agent SDK, talking to the Messages API stand-in. Prints one JSON line with what happened.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgentServer } from '../../src/agent-server.js';
import { ClaudeAgent } from '../../src/claude-agent.js';
import { close, listen } from '../../src/http.js';
import { FrameClient, copyTemplate, tempDir, testIdentity } from '../helpers.js';
import { startStandin } from './messages-standin.js';

const standin = await startStandin();
process.env.ANTHROPIC_BASE_URL = standin.url;
process.env.ANTHROPIC_API_KEY = 'sk-standin-not-a-key';

async function turn(workspace: string, init: Record<string, unknown>, content: string): Promise<{ frames: Record<string, unknown>[]; requestsBefore: number }> {
  const requestsBefore = standin.requests.length;
  const server = new AgentServer(new ClaudeAgent({ workspaceDir: workspace, configDir: await tempDir('sd-claude-config-') }), testIdentity);
  const port = await listen(server.http, 0, '127.0.0.1');
  const client = await FrameClient.connect(`ws://127.0.0.1:${port}/agent`);
  client.send({ type: 'init', projectId: 'p-live', ...init });
  client.send({ type: 'user_message', id: 'm', content });
  const frames = await client.turn(90_000);
  await client.close();
  await server.stop();
  await close(server.http);
  return { frames, requestsBefore };
}

const first = await tempDir('sd-claude-a-');
await copyTemplate(first);
const created = await turn(first, {}, `Add a logo. WRITE ${path.join(first, 'src/components/Logo.tsx')}`);
const sessionId = String(created.frames.at(-1)?.agentSessionId);

// A second pod: another workspace path with the first one's synced files, resuming the session.
const second = await tempDir('sd-claude-b-');
await fs.cp(path.join(first, 'src'), path.join(second, 'src'), { recursive: true });
await fs.cp(path.join(first, '.claude'), path.join(second, '.claude'), { recursive: true });
const resumed = await turn(second, { agentSessionId: sessionId }, `Write the logo again. WRITE ${path.join(second, 'src/components/Logo.tsx')}`);
const firstResumedRequest = standin.requests[resumed.requestsBefore];

const refused = await turn(second, {}, `Put it at the top. WRITE ${path.join(second, 'index.html')}`);

const transcripts = (await fs.readdir(path.join(second, '.claude', 'projects'), { recursive: true })).map(String).filter((f) => f.endsWith('.jsonl'));
process.stdout.write(
  `${JSON.stringify({
    first,
    second,
    created: created.frames,
    resumed: resumed.frames,
    resumedHistory: firstResumedRequest?.messages ?? 0,
    refused: refused.frames,
    indexHtmlWritten: await fs.access(path.join(second, 'index.html')).then(() => true, () => false),
    transcripts,
  })}\n`,
);
await standin.close();
