import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectFolderName } from '../src/claude-agent.js';
import { POD_DIR } from './helpers.js';

// The real SDK and its CLI against a Messages API stand-in, in a network namespace with only loopback, so nothing
// the CLI tries can leave the machine. Needs root (or user namespaces) and iproute2, as on the project's machines.
const isolated = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0;

interface Outcome {
  first: string;
  second: string;
  created: Record<string, unknown>[];
  resumed: Record<string, unknown>[];
  resumedHistory: number;
  refused: Record<string, unknown>[];
  indexHtmlWritten: boolean;
  transcripts: string[];
}

async function runScenario(): Promise<Outcome> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ANTHROPIC_') && !k.startsWith('CLAUDE')) env[k] = v;
  const script = path.join(POD_DIR, 'dist', 'test', 'support', 'claude-scenario.js');
  const child = spawn('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" "${script}"`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `scenario failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Outcome;
}

const text = (frames: Record<string, unknown>[]): string =>
  frames
    .filter((f) => f.type === 'assistant_delta')
    .map((f) => f.text)
    .join('');
const actions = (frames: Record<string, unknown>[]): unknown[] => frames.filter((f) => f.type === 'action').map((f) => f.action);

describe('Claude agent through the real SDK', () => {
  it('streams, reports its edits, keeps transcripts in .claude/, resumes in another pod and is refused writes outside the roots', { skip: isolated ? false : 'needs unshare -n and ip (root) to isolate the network' }, async () => {
    const outcome = await runScenario();

    const done = outcome.created.at(-1)!;
    assert.equal(done.type, 'turn_complete', JSON.stringify(outcome.created));
    assert.equal(text(outcome.created), 'I will write the file.Done. The file is written.');
    assert.ok(outcome.created.filter((f) => f.type === 'assistant_delta').length > 2, 'text arrives as several deltas');
    assert.deepEqual(actions(outcome.created), [{ type: 'file_create', filePath: 'src/components/Logo.tsx', summary: 'Created src/components/Logo.tsx' }]);
    assert.deepEqual(done.actions, actions(outcome.created));
    assert.equal(done.summary, 'Done. The file is written.');
    const sessionId = String(done.agentSessionId);
    assert.match(sessionId, /^[0-9a-f-]{36}$/);

    const resumed = outcome.resumed.at(-1)!;
    assert.equal(resumed.type, 'turn_complete', JSON.stringify(outcome.resumed));
    assert.equal(resumed.agentSessionId, sessionId);
    assert.ok(outcome.resumedHistory > 2, `the resumed turn carried the earlier conversation (${outcome.resumedHistory} messages)`);
    assert.deepEqual(actions(outcome.resumed), [{ type: 'file_edit', filePath: 'src/components/Logo.tsx', summary: 'Edited src/components/Logo.tsx' }]);
    assert.ok(outcome.transcripts.includes(path.join(projectFolderName(outcome.second), `${sessionId}.jsonl`)), outcome.transcripts.join(', '));
    assert.ok(!outcome.transcripts.includes(path.join(projectFolderName(outcome.first), `${sessionId}.jsonl`)), 'the transcript was moved, not copied');

    assert.equal(outcome.refused.at(-1)!.type, 'turn_complete', JSON.stringify(outcome.refused));
    assert.deepEqual(actions(outcome.refused), []);
    assert.equal(outcome.indexHtmlWritten, false);
  });
});
