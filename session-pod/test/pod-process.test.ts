import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AUTH, FrameClient, POD_DIR, POD_SECRET, TEMPLATE_DIR, TEST_SESSION_ID, makeTar, tempDir } from './helpers.js';

const MAIN = path.join(POD_DIR, 'dist', 'src', 'main.js');
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

interface Pod {
  child: ChildProcess;
  files: string;
  agent: string;
  preview: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ANTHROPIC_API_KEY' && k !== 'STORYDREAM_AGENT') env[k] = v;
  return { ...env, BIND_HOST: '127.0.0.1', FILES_PORT: '0', AGENT_PORT: '0', PREVIEW_PORT: '0', STORYDREAM_SESSION_ID: TEST_SESSION_ID, STORYDREAM_POD_SECRET: POD_SECRET, ...extra };
}

function launch(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function startPod(workspace: string, extra: Record<string, string> = {}): Promise<Pod> {
  const { child, stdout, stderr, exit } = launch(baseEnv({ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', VITE_CACHE_DIR: path.join(await tempDir('sd-vite-'), 'cache'), ...extra }));
  const deadline = Date.now() + 30_000;
  let ready: RegExpMatchArray | null = null;
  while (!(ready = stdout().match(/^READY files=(\d+) agent=(\d+) preview=(\d+)$/m))) {
    if (child.exitCode !== null) throw new Error(`pod exited with ${child.exitCode}: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`no READY line within 30 s: ${stdout()} ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    files: `http://127.0.0.1:${ready[1]}`,
    agent: `ws://127.0.0.1:${ready[2]}/agent`,
    preview: `http://127.0.0.1:${ready[3]}`,
    stderr,
    exit,
  };
}

async function templateTar(): Promise<Buffer> {
  const entries: { name: string; content: Buffer }[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(dir, e.name), `${rel}/${e.name}`);
      else entries.push({ name: `${rel}/${e.name}`, content: await fs.readFile(path.join(dir, e.name)) });
    }
  }
  await walk(path.join(TEMPLATE_DIR, 'src'), 'src');
  return makeTar(entries);
}

const timeout = (ms = 15_000): AbortSignal => AbortSignal.timeout(ms);

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('session pod process', () => {
  it('hydrates the template, previews it under a base path with HMR, runs agent turns, and stops on SIGTERM', async () => {
    const workspace = await tempDir();
    const pod = await startPod(workspace, { PREVIEW_BASE: '/preview/s-1' });
    const base = `${pod.preview}/preview/s-1/`;

    const hydrate = await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar(), headers: AUTH, signal: timeout() });
    assert.equal(hydrate.status, 200, await hydrate.clone().text());

    const page = await fetch(base, { headers: { ...AUTH, accept: 'text/html' }, signal: timeout() });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<div id="root"><\/div>/);
    assert.match(html, /src="\/preview\/s-1\/src\/main\.tsx"/);
    assert.match(html, /src="\/preview\/s-1\/@storydream\/preview-bridge"/);

    const main = await fetch(`${base}src/main.tsx`, { headers: AUTH, signal: timeout(60_000) });
    assert.equal(main.status, 200);
    assert.match(main.headers.get('content-type') ?? '', /javascript/);
    assert.match(await main.text(), /createRoot/);
    const video = await (await fetch(`${base}src/compositions/MyVideo.tsx`, { headers: AUTH, signal: timeout() })).text();
    assert.match(video, /Your story starts here/);
    assert.equal((await fetch(`${base}src/components/Title.tsx`, { headers: AUTH, signal: timeout() })).status, 200);

    const client = await (await fetch(`${base}@vite/client`, { headers: AUTH, signal: timeout() })).text();
    const token = client.match(/const wsToken = "([^"]+)"/)?.[1];
    assert.ok(token, 'the Vite client carries an HMR token');
    const hmr = new WebSocket(`${pod.preview.replace('http', 'ws')}/preview/s-1/?token=${token}`, 'vite-hmr', { headers: AUTH });
    const hmrMessages: string[] = [];
    hmr.on('message', (m) => hmrMessages.push(String(m)));
    await withDeadline(once(hmr, 'open'), 10_000, 'HMR socket');
    const waitHmr = async (pattern: RegExp): Promise<string> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const hit = hmrMessages.find((m) => pattern.test(m));
        if (hit) return hit;
        assert.ok(Date.now() < deadline, `no HMR message matching ${pattern}; got ${hmrMessages.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitHmr(/"type":"connected"/);

    const title = (await fs.readFile(path.join(TEMPLATE_DIR, 'src/components/Title.tsx'), 'utf8')).replace('fontSize: 120', 'fontSize: 96');
    const push = await fetch(`${pod.files}/files`, { method: 'PUT', body: await makeTar([{ name: 'src/components/Title.tsx', content: title }]), headers: AUTH, signal: timeout() });
    assert.equal(push.status, 200);
    assert.match(await waitHmr(/"path":"\/src\/components\/Title\.tsx"/), /"type":"update"/);
    hmr.close();

    const agent = await FrameClient.connect(pod.agent);
    agent.send({ type: 'init', projectId: 'p-1' });
    agent.send({ type: 'user_message', id: 'm1', content: 'set title to Hello from the pod test' });
    const turn = await agent.turn(15_000);
    assert.equal(turn.at(-1)!.type, 'turn_complete', JSON.stringify(turn));
    await agent.close();
    assert.match(await (await fetch(`${base}src/compositions/MyVideo.tsx`, { headers: AUTH, signal: timeout() })).text(), /Hello from the pod test/);

    const manifest = (await (await fetch(`${pod.files}/files/manifest`, { headers: AUTH, signal: timeout() })).json()) as { files: { path: string }[] };
    const paths = manifest.files.map((f) => f.path);
    assert.ok(paths.includes('src/compositions/MyVideo.tsx'));
    assert.ok(paths.some((p) => p.startsWith('.claude/scripted/')), 'the agent session is stored in .claude/');
    assert.ok(!paths.some((p) => p.startsWith('node_modules')));
    const transcript = paths.find((p) => p.startsWith('.claude/'))!;
    assert.equal((await fetch(`${base}${transcript}`, { headers: AUTH, signal: timeout() })).status, 403, 'the preview does not serve .claude/');

    pod.child.kill('SIGTERM');
    assert.equal(await withDeadline(pod.exit, 10_000, 'exit after SIGTERM'), 0, pod.stderr());
  });

  it('serves nothing on its three ports without the pod secret, and keeps the secret from the agent\'s commands', async () => {
    const workspace = await tempDir();
    const pod = await startPod(workspace);
    const wrong = { authorization: 'Bearer not-the-pod-secret-0123456789abcdef' };
    for (const headers of [{} as Record<string, string>, wrong]) {
      assert.equal((await fetch(`${pod.preview}/`, { headers, signal: timeout() })).status, 401);
      assert.equal((await fetch(`${pod.files}/files/manifest`, { headers, signal: timeout() })).status, 401);
      await assert.rejects(FrameClient.connect(pod.agent, 5000, headers), /401/);
      const hmr = new WebSocket(`${pod.preview.replace('http', 'ws')}/`, 'vite-hmr', { headers });
      const [error] = (await withDeadline(once(hmr, 'error'), 5000, 'HMR refusal')) as [Error];
      assert.match(error.message, /401/);
    }
    const health = (await (await fetch(`${pod.agent.replace('ws', 'http').replace('/agent', '/health')}`, { signal: timeout() })).json()) as { sessionId: string };
    assert.equal(health.sessionId, TEST_SESSION_ID);

    const agent = await FrameClient.connect(pod.agent);
    agent.send({ type: 'init', projectId: 'p-1' });
    agent.send({ type: 'user_message', id: 'm1', content: 'run env > src/env.txt; cat /proc/self/environ >> src/env.txt' });
    assert.equal((await agent.turn(15_000)).at(-1)!.type, 'turn_complete');
    await agent.close();
    const seen = await fs.readFile(path.join(workspace, 'src/env.txt'), 'utf8');
    assert.match(seen, /WORKSPACE_DIR=/, 'the command did print its environment');
    assert.ok(!seen.includes(POD_SECRET), 'the pod secret is not in the environment of the agent\'s commands');
    pod.child.kill('SIGTERM');
    await withDeadline(pod.exit, 10_000, 'exit after SIGTERM');
  });

  it('exits mid-turn on [crash], after the edit before it', async () => {
    const workspace = await tempDir();
    const pod = await startPod(workspace);
    const agent = await FrameClient.connect(pod.agent);
    agent.send({ type: 'init', projectId: 'p-1' });
    agent.send({ type: 'user_message', id: 'm1', content: 'create src/crash.txt with written before the crash\n[crash]' });
    assert.equal(await withDeadline(pod.exit, 10_000, 'exit on [crash]'), 70);
    assert.equal(await fs.readFile(path.join(workspace, 'src/crash.txt'), 'utf8'), 'written before the crash');
    await assert.rejects(agent.turn(2000), /socket closed/);
  });

  it('refuses to start with a clear message when the configuration is wrong', async () => {
    const workspace = await tempDir();
    const cases: [Record<string, string>, RegExp][] = [
      [{ STORYDREAM_AGENT: 'scripted' }, /WORKSPACE_DIR must name/],
      [{ WORKSPACE_DIR: workspace }, /set ANTHROPIC_API_KEY for the Claude agent, or STORYDREAM_AGENT=scripted/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'magic' }, /STORYDREAM_AGENT must be 'scripted' or 'claude'/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', FILES_PORT: '70000' }, /FILES_PORT must be an integer port/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', PREVIEW_BASE: '/../x' }, /PREVIEW_BASE must be a plain URL path/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', STORYDREAM_POD_SECRET: '' }, /STORYDREAM_POD_SECRET must be the session's pod secret/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', STORYDREAM_POD_SECRET: 'short' }, /at least 32 characters/],
      [{ WORKSPACE_DIR: workspace, STORYDREAM_AGENT: 'scripted', STORYDREAM_SESSION_ID: '' }, /STORYDREAM_SESSION_ID must name the session/],
    ];
    for (const [env, message] of cases) {
      const { stderr, exit } = launch(baseEnv(env));
      assert.equal(await withDeadline(exit, 10_000, 'config error exit'), 2, stderr());
      assert.match(stderr(), message);
    }
  });
});
