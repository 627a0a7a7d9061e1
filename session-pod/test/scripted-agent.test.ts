import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { AgentServer } from '../src/agent-server.js';
import { close, listen } from '../src/http.js';
import { ScriptedAgent, parseScript, unescapeText } from '../src/scripted-agent.js';
import { FrameClient, copyTemplate, tempDir, testIdentity, writeFiles } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

class Crashed extends Error {}

async function agentPod(): Promise<{ ws: string; url: string }> {
  const ws = await tempDir();
  await copyTemplate(ws);
  const server = new AgentServer(
    new ScriptedAgent(ws, {
      crash: () => {
        throw new Crashed('crash requested');
      },
    }),
    testIdentity,
  );
  const port = await listen(server.http, 0, '127.0.0.1');
  cleanups.push(async () => {
    await server.stop();
    await close(server.http);
  });
  return { ws, url: `ws://127.0.0.1:${port}/agent` };
}

async function connect(url: string, init: Record<string, unknown> = {}): Promise<FrameClient> {
  const client = await FrameClient.connect(url);
  cleanups.push(() => client.close());
  client.send({ type: 'init', projectId: 'p-1', context: undefined, ...init });
  return client;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const deltas = (frames: Record<string, unknown>[]): string =>
  frames
    .filter((f) => f.type === 'assistant_delta')
    .map((f) => f.text)
    .join('');

describe('scripted agent grammar', () => {
  it('parses instructions, directives and chat line by line', () => {
    assert.deepEqual(
      parseScript(
        [
          'create src/a.tsx with export const A = 1;',
          '  append to src/b.txt: more text  ',
          'delete src/c.ts',
          'set title to "Hello, world"',
          'run ls src',
          '[slow 250ms]',
          '[SLOW 10]',
          '[fail]',
          '[crash]',
          '',
          'make it pop',
        ].join('\n'),
      ),
      [
        { kind: 'create', path: 'src/a.tsx', text: 'export const A = 1;' },
        { kind: 'append', path: 'src/b.txt', text: 'more text' },
        { kind: 'delete', path: 'src/c.ts' },
        { kind: 'set-title', title: 'Hello, world' },
        { kind: 'run', command: 'ls src' },
        { kind: 'slow', ms: 250 },
        { kind: 'slow', ms: 10 },
        { kind: 'fail' },
        { kind: 'crash' },
        { kind: 'chat', text: 'make it pop' },
      ],
    );
  });

  it('unescapes newlines, tabs and backslashes in text', () => {
    assert.equal(unescapeText('a\\nb\\tc\\\\n'), 'a\nb\tc\\n');
  });
});

describe('agent WebSocket with the scripted agent', () => {
  it('creates a file, streams several deltas, one action and turn_complete', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'user_message', id: 'm1', content: 'create src/components/Hello.tsx with export const Hello = () => null;\\n' });
    const frames = await client.turn();
    assert.ok(frames.filter((f) => f.type === 'assistant_delta').length >= 2, 'several deltas');
    const actions = frames.filter((f) => f.type === 'action');
    assert.deepEqual(actions, [
      { type: 'action', action: { type: 'file_create', filePath: 'src/components/Hello.tsx', summary: 'Created src/components/Hello.tsx' } },
    ]);
    const done = frames.at(-1)!;
    assert.equal(done.type, 'turn_complete');
    assert.deepEqual(done.actions, [actions[0]!.action]);
    assert.match(String(done.agentSessionId), uuid);
    assert.equal(done.summary, 'Created src/components/Hello.tsx.');
    assert.equal(await fs.readFile(path.join(ws, 'src/components/Hello.tsx'), 'utf8'), 'export const Hello = () => null;\n');
  });

  it('sets the template title, appends, rewrites and deletes with the right action types', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({
      type: 'user_message',
      id: 'm1',
      content: [`set title to Rock 'n' "roll"`, 'append to src/notes.txt: one', 'append to src/notes.txt: two', 'create src/notes.txt with fresh', 'delete src/components/Subtitle.tsx'].join('\n'),
    });
    const frames = await client.turn();
    const done = frames.at(-1)!;
    assert.equal(done.type, 'turn_complete', JSON.stringify(done));
    assert.deepEqual(
      (done.actions as { type: string; filePath: string }[]).map((a) => [a.type, a.filePath]),
      [
        ['file_edit', 'src/compositions/MyVideo.tsx'],
        ['file_create', 'src/notes.txt'],
        ['file_edit', 'src/notes.txt'],
        ['file_edit', 'src/notes.txt'],
        ['file_delete', 'src/components/Subtitle.tsx'],
      ],
    );
    const video = await fs.readFile(path.join(ws, 'src/compositions/MyVideo.tsx'), 'utf8');
    assert.match(video, /^const title = "Rock 'n' \\"roll\\"";$/m);
    assert.doesNotMatch(video, /Your story starts here/);
    assert.equal(await fs.readFile(path.join(ws, 'src/notes.txt'), 'utf8'), 'fresh');
    await assert.rejects(fs.access(path.join(ws, 'src/components/Subtitle.tsx')));
  });

  it('runs a command in the workspace and reports it as command_run', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'user_message', id: 'm1', content: 'run echo ran > src/ran.txt' });
    const done = (await client.turn()).at(-1)!;
    assert.deepEqual(done.actions, [{ type: 'command_run', summary: 'Ran `echo ran > src/ran.txt` (exit 0)' }]);
    assert.equal(await fs.readFile(path.join(ws, 'src/ran.txt'), 'utf8'), 'ran\n');
  });

  it('answers a second user_message during a turn with error busy and finishes the first', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'user_message', id: 'm1', content: '[slow 150ms]\ncreate src/first.txt with 1' });
    client.send({ type: 'user_message', id: 'm2', content: 'create src/second.txt with 2' });
    const frames = await client.turn();
    assert.deepEqual(frames[0], { type: 'error', code: 'busy', detail: 'a turn is already running; wait for turn_complete or send cancel' });
    assert.equal(frames.at(-1)!.type, 'turn_complete');
    await fs.access(path.join(ws, 'src/first.txt'));
    await assert.rejects(fs.access(path.join(ws, 'src/second.txt')));
  });

  it('stops a slow turn on cancel, ends it with error cancelled, and accepts the next message', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'user_message', id: 'm1', content: '[slow 10000ms]\ncreate src/never.txt with x' });
    const started = Date.now();
    client.send({ type: 'cancel' });
    const frames = await client.turn(5000);
    assert.ok(Date.now() - started < 3000, 'cancel is prompt');
    assert.deepEqual(frames.at(-1), { type: 'error', code: 'cancelled', detail: 'the turn was cancelled' });
    assert.equal(frames.filter((f) => f.type === 'turn_complete').length, 0);
    await assert.rejects(fs.access(path.join(ws, 'src/never.txt')));
    client.send({ type: 'user_message', id: 'm2', content: 'create src/next.txt with y' });
    assert.equal((await client.turn()).at(-1)!.type, 'turn_complete');
  });

  it('fails a turn on [fail] after the edits before it, with error agent_failed', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'user_message', id: 'm1', content: 'create src/before.txt with b\n[fail]\ncreate src/after.txt with a' });
    const frames = await client.turn();
    assert.deepEqual(
      frames.filter((f) => f.type === 'action').map((f) => (f.action as { filePath: string }).filePath),
      ['src/before.txt'],
    );
    assert.deepEqual(frames.at(-1), { type: 'error', code: 'agent_failed', detail: 'scripted failure requested by [fail]' });
    await fs.access(path.join(ws, 'src/before.txt'));
    await assert.rejects(fs.access(path.join(ws, 'src/after.txt')));
  });

  it('refuses edits outside the roots as a failed turn and writes nothing there', async () => {
    const { ws, url } = await agentPod();
    const client = await connect(url);
    for (const [content, reason] of [
      ['create ../escape.txt with x', /'\.\.' segments/],
      ['create src/../../escape.txt with x', /'\.\.' segments/],
      ['create index.html with x', /inside one of the roots/],
      ['delete src/missing.txt', /no such file/],
    ] as const) {
      client.send({ type: 'user_message', id: 'm', content });
      const last = (await client.turn()).at(-1)!;
      assert.equal(last.code, 'agent_failed');
      assert.match(String(last.detail), reason);
    }
    await assert.rejects(fs.access(path.join(ws, 'index.html')));
    await assert.rejects(fs.access(path.join(path.dirname(ws), 'escape.txt')));
  });

  it('gives preview errors to the agent as context for its next turn, once each', async () => {
    const { url } = await agentPod();
    const client = await connect(url);
    client.send({ type: 'preview_error', message: 'ReferenceError: foo is not defined', stack: 'at MyVideo.tsx:3' });
    client.send({ type: 'preview_error', message: 'ReferenceError: foo is not defined', stack: 'at MyVideo.tsx:3' });
    client.send({ type: 'user_message', id: 'm1', content: 'fix it' });
    const first = await client.turn();
    assert.match(deltas(first), /The preview reported: ReferenceError: foo is not defined\./);
    assert.equal(deltas(first).split('The preview reported').length - 1, 1);
    assert.match(String(first.at(-1)!.summary), /Saw 1 preview error/);
    client.send({ type: 'user_message', id: 'm2', content: 'again' });
    assert.doesNotMatch(deltas(await client.turn()), /preview reported/);
  });

  it('resumes its session by agentSessionId from .claude/, and starts a new one for an unknown id', async () => {
    const { ws, url } = await agentPod();
    const first = await connect(url, { context: { summary: 'We made a title card.', messages: [{ role: 'user', content: 'hi' }] } });
    first.send({ type: 'user_message', id: 'm1', content: 'hello' });
    const turn1 = await first.turn();
    assert.match(deltas(turn1), /Starting a new session\. I have read the earlier conversation\./);
    const sessionId = String(turn1.at(-1)!.agentSessionId);
    await fs.access(path.join(ws, '.claude', 'scripted', `${sessionId}.jsonl`));
    await first.close();

    const second = await connect(url, { agentSessionId: sessionId });
    second.send({ type: 'user_message', id: 'm2', content: 'hello again' });
    const turn2 = await second.turn();
    assert.match(deltas(turn2), /Continuing our session \(turn 2\)/);
    assert.equal(turn2.at(-1)!.agentSessionId, sessionId);

    const third = await connect(url, { agentSessionId: '00000000-0000-4000-8000-000000000000' });
    third.send({ type: 'user_message', id: 'm3', content: 'who are you' });
    const turn3 = await third.turn();
    assert.notEqual(turn3.at(-1)!.agentSessionId, '00000000-0000-4000-8000-000000000000');
  });

  it('answers protocol mistakes with errors that name them, and keeps the connection', async () => {
    const { url } = await agentPod();
    const client = await FrameClient.connect(url);
    cleanups.push(() => client.close());
    client.send({ type: 'user_message', id: 'm1', content: 'hi' });
    assert.equal((await client.next()).code, 'not_initialized');
    client.send('{oops');
    assert.equal((await client.next()).code, 'bad_frame');
    client.send([1, 2]);
    assert.equal((await client.next()).code, 'bad_frame');
    client.send({ type: 'init' });
    assert.match(String((await client.next()).detail), /projectId/);
    client.send({ type: 'init', projectId: 'p', context: 42 });
    assert.match(String((await client.next()).detail), /init\.context/);
    client.send({ type: 'init', projectId: 'p' });
    client.send({ type: 'init', projectId: 'p' });
    assert.equal((await client.next()).code, 'already_initialized');
    client.send({ type: 'dance' });
    assert.equal((await client.next()).code, 'unknown_type');
    client.send({ type: 'user_message', id: 'm1', content: '   ' });
    assert.equal((await client.next()).code, 'bad_frame');
    client.send({ type: 'user_message', content: 'no id' });
    assert.equal((await client.next()).code, 'bad_frame');
    client.send({ type: 'preview_error' });
    assert.equal((await client.next()).code, 'bad_frame');
    client.send({ type: 'cancel' });
    client.send({ type: 'user_message', id: 'm2', content: 'still here' });
    assert.equal((await client.turn()).at(-1)!.type, 'turn_complete');
  });

  it('cancels the running turn when its connection closes, freeing the pod for the next one', async () => {
    const { url } = await agentPod();
    const first = await connect(url);
    first.send({ type: 'user_message', id: 'm1', content: '[slow 10000ms]\ncreate src/x.txt with x' });
    await first.next();
    await first.close();
    const second = await connect(url);
    const deadline = Date.now() + 3000;
    for (;;) {
      second.send({ type: 'user_message', id: 'm2', content: 'hello' });
      const frame = await second.next();
      if (frame.type !== 'error' || frame.code !== 'busy') break;
      assert.ok(Date.now() < deadline, 'the closed connection kept the pod busy');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await second.turn()).at(-1)!.type, 'turn_complete');
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const { url } = await agentPod();
    await assert.rejects(FrameClient.connect(url.replace('/agent', '/other')), /404/);
  });
});

describe('scripted agent without the server', () => {
  it('calls its crash handler on [crash] after the edits before it', async () => {
    const ws = await tempDir();
    await writeFiles(ws, { 'src/keep.txt': 'k' });
    const agent = new ScriptedAgent(ws, {
      crash: () => {
        throw new Crashed('crash requested');
      },
    });
    const actions: unknown[] = [];
    await assert.rejects(
      agent.runTurn(
        { content: 'create src/a.txt with a\n[crash]\ncreate src/b.txt with b', context: undefined, previewErrors: [], agentSessionId: undefined },
        { delta: () => undefined, action: (a) => actions.push(a) },
        new AbortController().signal,
      ),
      Crashed,
    );
    assert.equal(actions.length, 1);
    await fs.access(path.join(ws, 'src/a.txt'));
    await assert.rejects(fs.access(path.join(ws, 'src/b.txt')));
  });
});
