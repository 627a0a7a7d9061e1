import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { AgentTurnError, type AgentAction } from '../src/agent.js';
import { ClaudeAgent, REMOTION_SYSTEM_PROMPT, buildPrompt, listAssets, projectFolderName } from '../src/claude-agent.js';
import { ClaudeTurnMapper } from '../src/claude-mapping.js';
import { tempDir, writeFiles } from './helpers.js';

// Shapes as the SDK emits them (recorded from its stream-json protocol, trimmed to the fields that matter).
const SESSION = '5b0f7e1c-1d2a-4c8e-9f3b-2a6d4e8c1f00';
const WS = '/workspace';

const init = { type: 'system', subtype: 'init', session_id: SESSION, cwd: WS, tools: ['Read', 'Write', 'Edit', 'Bash'], model: 'claude', permissionMode: 'default' };
const stream = (event: unknown, parent: string | null = null) => ({ type: 'stream_event', event, parent_tool_use_id: parent, uuid: 'u', session_id: SESSION });
const assistant = (id: string, content: unknown[], parent: string | null = null) => ({
  type: 'assistant',
  message: { id, type: 'message', role: 'assistant', model: 'claude', content, stop_reason: null, usage: {} },
  parent_tool_use_id: parent,
  uuid: 'u',
  session_id: SESSION,
});
const toolResult = (toolUseId: string, isError = false) => ({
  type: 'user',
  message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: isError ? 'failed' : 'ok', is_error: isError }] },
  parent_tool_use_id: null,
  session_id: SESSION,
});
const success = (result: string) => ({ type: 'result', subtype: 'success', is_error: false, result, session_id: SESSION, num_turns: 3 });

function run(messages: unknown[], existing: string[] = []): { deltas: string[]; actions: AgentAction[]; result: unknown } {
  const deltas: string[] = [];
  const actions: AgentAction[] = [];
  const mapper = new ClaudeTurnMapper(WS, (p) => existing.includes(p));
  let result: unknown;
  for (const message of messages) {
    result = mapper.handle(message as SDKMessage, { delta: (t) => deltas.push(t), action: (a) => actions.push(a) }) ?? result;
  }
  return { deltas, actions, result };
}

describe('Claude SDK message mapping', () => {
  it('streams text deltas once, maps successful edits to actions and ends with the result', () => {
    const { deltas, actions, result } = run(
      [
        init,
        stream({ type: 'message_start', message: { id: 'msg_1' } }),
        stream({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        stream({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'I will add ' } }),
        stream({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a logo.' } }),
        stream({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"file' } }),
        assistant('msg_1', [
          { type: 'text', text: 'I will add a logo.' },
          { type: 'tool_use', id: 'tu_1', name: 'Write', input: { file_path: '/workspace/src/components/Logo.tsx', content: 'x' } },
          { type: 'tool_use', id: 'tu_2', name: 'Write', input: { file_path: 'src/compositions/MyVideo.tsx', content: 'y' } },
          { type: 'tool_use', id: 'tu_3', name: 'Edit', input: { file_path: '/workspace/src/App.tsx', old_string: 'a', new_string: 'b' } },
          { type: 'tool_use', id: 'tu_4', name: 'Bash', input: { command: 'npx tsc --noEmit', description: 'Type-check the project' } },
          { type: 'tool_use', id: 'tu_5', name: 'Read', input: { file_path: '/workspace/src/main.tsx' } },
          { type: 'tool_use', id: 'tu_6', name: 'Edit', input: { file_path: '/workspace/src/broken.tsx', old_string: 'a', new_string: 'b' } },
          { type: 'tool_use', id: 'tu_7', name: 'Bash', input: { command: `echo ${'x'.repeat(300)}` } },
        ]),
        toolResult('tu_1'),
        toolResult('tu_2'),
        toolResult('tu_3'),
        toolResult('tu_4'),
        toolResult('tu_5'),
        toolResult('tu_6', true),
        toolResult('tu_7'),
        assistant('msg_2', [{ type: 'text', text: 'Done: the logo is in.' }]),
        success('Done: the logo is in.'),
      ],
      ['/workspace/src/compositions/MyVideo.tsx'],
    );
    assert.deepEqual(deltas, ['I will add ', 'a logo.', 'Done: the logo is in.']);
    assert.deepEqual(actions, [
      { type: 'file_create', filePath: 'src/components/Logo.tsx', summary: 'Created src/components/Logo.tsx' },
      { type: 'file_edit', filePath: 'src/compositions/MyVideo.tsx', summary: 'Edited src/compositions/MyVideo.tsx' },
      { type: 'file_edit', filePath: 'src/App.tsx', summary: 'Edited src/App.tsx' },
      { type: 'command_run', summary: 'Type-check the project' },
      { type: 'command_run', summary: `Ran echo ${'x'.repeat(195)}…` },
    ]);
    assert.deepEqual(result, { summary: 'Done: the logo is in.', agentSessionId: SESSION });
  });

  it('keeps subagent text out of the deltas but still reports the files it changed', () => {
    const { deltas, actions } = run([
      init,
      assistant('msg_s', [{ type: 'text', text: 'subagent musing' }, { type: 'tool_use', id: 'tu_s', name: 'MultiEdit', input: { file_path: '/workspace/src/a.tsx', edits: [] } }], 'tu_task'),
      stream({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'subagent stream' } }, 'tu_task'),
      toolResult('tu_s'),
    ]);
    assert.deepEqual(deltas, []);
    assert.deepEqual(actions, [{ type: 'file_edit', filePath: 'src/a.tsx', summary: 'Edited src/a.tsx' }]);
  });

  it('turns an error result into agent_failed with the SDK errors', () => {
    assert.throws(
      () => run([init, { type: 'result', subtype: 'error_max_turns', is_error: true, errors: ['Reached maximum number of turns (25)'], session_id: SESSION }]),
      (error: unknown) => error instanceof AgentTurnError && error.code === 'agent_failed' && error.message === 'Reached maximum number of turns (25)',
    );
    assert.throws(
      () => run([init, { type: 'result', subtype: 'error_during_execution', is_error: true, errors: [], session_id: SESSION }]),
      /error_during_execution/,
    );
    assert.throws(() => run([init, { ...success('API Error: 401 invalid x-api-key'), is_error: true }]), /invalid x-api-key/);
  });
});

describe('ClaudeAgent', () => {
  it('allows file edits only under src/ and .claude/ of the workspace, and allows commands and reads', async () => {
    const ws = await tempDir();
    const outside = await tempDir();
    await writeFiles(ws, { 'src/a.tsx': 'a' });
    await fs.symlink(outside, path.join(ws, 'src', 'out'));
    const agent = new ClaudeAgent({ workspaceDir: ws, configDir: path.join(ws, '..', 'cfg-unused') });
    const decide = async (tool: string, input: Record<string, unknown>): Promise<string> =>
      (await agent.canUseTool(tool, input, { signal: new AbortController().signal, toolUseID: 't' } as never))?.behavior ?? 'none';
    assert.equal(await decide('Write', { file_path: path.join(ws, 'src/new.tsx') }), 'allow');
    assert.equal(await decide('Edit', { file_path: 'src/a.tsx' }), 'allow');
    assert.equal(await decide('Write', { file_path: path.join(ws, '.claude/notes.md') }), 'allow');
    assert.equal(await decide('Write', { file_path: path.join(ws, 'index.html') }), 'deny');
    assert.equal(await decide('Write', { file_path: path.join(ws, 'node_modules/react/index.js') }), 'deny');
    assert.equal(await decide('Write', { file_path: '/etc/passwd' }), 'deny');
    assert.equal(await decide('Edit', { file_path: '../../etc/passwd' }), 'deny');
    assert.equal(await decide('Write', { file_path: path.join(ws, 'src/out/planted.tsx') }), 'deny');
    assert.equal(await decide('NotebookEdit', { notebook_path: '/tmp/x.ipynb' }), 'deny');
    assert.equal(await decide('Write', {}), 'deny');
    assert.equal(await decide('Bash', { command: 'ls' }), 'allow');
    assert.equal(await decide('Read', { file_path: path.join(ws, 'src/a.tsx') }), 'allow');
  });

  it('builds SDK options: workspace cwd, Remotion prompt, no filesystem settings, private config, resume', () => {
    const agent = new ClaudeAgent({ workspaceDir: '/workspace', configDir: '/tmp/cfg', model: 'claude-x', env: { PATH: '/bin', ANTHROPIC_API_KEY: 'k' } });
    const options = agent.queryOptions(new AbortController(), SESSION);
    assert.equal(options.cwd, '/workspace');
    assert.equal(options.resume, SESSION);
    assert.equal(options.model, 'claude-x');
    assert.deepEqual(options.settingSources, []);
    assert.equal(options.permissionMode, 'default');
    assert.equal(options.includePartialMessages, true);
    assert.deepEqual(options.systemPrompt, { type: 'preset', preset: 'claude_code', append: REMOTION_SYSTEM_PROMPT });
    assert.equal(options.env?.CLAUDE_CONFIG_DIR, '/tmp/cfg');
    assert.equal(options.env?.ANTHROPIC_API_KEY, 'k');
    assert.equal(agent.queryOptions(new AbortController(), undefined).resume, undefined);
  });

  it('finds a transcript synced from another pod and files it under this workspace', async () => {
    const ws = await tempDir();
    const id = '11111111-2222-4333-8444-555555555555';
    await writeFiles(ws, { [`.claude/projects/-app-remotion-app/${id}.jsonl`]: '{"type":"user"}\n' });
    const agent = new ClaudeAgent({ workspaceDir: ws, configDir: path.join(ws, '..', 'cfg-unused') });
    assert.equal(await agent.prepareResume(id), true);
    const filed = path.join(ws, '.claude', 'projects', projectFolderName(ws), `${id}.jsonl`);
    assert.equal(await fs.readFile(filed, 'utf8'), '{"type":"user"}\n');
    await assert.rejects(fs.access(path.join(ws, '.claude', 'projects', '-app-remotion-app', `${id}.jsonl`)));
    assert.equal(await agent.prepareResume('22222222-2222-4333-8444-555555555555'), false);
    assert.equal(await agent.prepareResume('../../etc/passwd'), false);
  });

  it('names transcript folders as Claude Code does', () => {
    assert.equal(projectFolderName('/app/remotion-app'), '-app-remotion-app');
    assert.equal(projectFolderName('/tmp/sd_pod.x1'), '-tmp-sd-pod-x1');
  });

  it('puts context and preview errors before the message only when they are needed', () => {
    const input = { content: 'Make it blue', context: 'user: hi', previewErrors: [{ message: 'TypeError: x', stack: 'at A' }], agentSessionId: undefined };
    const fresh = buildPrompt(input, false);
    assert.match(fresh, /The conversation so far in this StoryDream project:\nuser: hi/);
    assert.match(fresh, /The live preview reported an error since your last turn:\n1\. TypeError: x\nat A/);
    assert.match(fresh, /The person's new message:\nMake it blue$/);
    assert.doesNotMatch(buildPrompt(input, true), /conversation so far/);
    assert.equal(buildPrompt({ ...input, previewErrors: [] }, true), 'Make it blue');
  });

  it('tells the agent which uploaded assets exist in public/', async () => {
    const workspace = await tempDir('sd-assets-');
    await fs.mkdir(path.join(workspace, 'public', 'music'), { recursive: true });
    await fs.writeFile(path.join(workspace, 'public', 'logo.png'), 'png');
    await fs.writeFile(path.join(workspace, 'public', 'music', 'theme.mp3'), 'mp3');
    const input = { content: 'Use my logo', context: undefined, previewErrors: [], agentSessionId: undefined };

    const assets = await listAssets(workspace);

    assert.deepEqual(assets, ['logo.png', 'music/theme.mp3']);
    assert.match(buildPrompt(input, true, assets), /Uploaded assets in public\/ \(reach them with staticFile\('<name>'\)\):\n- logo\.png\n- music\/theme\.mp3\n\nThe person's new message:\nUse my logo$/);
    assert.deepEqual(await listAssets(path.join(workspace, 'missing')), []);
    assert.equal(buildPrompt(input, true, []), 'Use my logo');
  });
});
