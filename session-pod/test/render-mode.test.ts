import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { entrySource } from '../src/render-job.js';
import { parseRequest } from '../src/render-server.js';
import { POD_DIR, TEMPLATE_DIR, makeTar, tempDir } from './helpers.js';

const MAIN = path.join(POD_DIR, 'dist', 'src', 'main.js');
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

async function startRenderPod(workspace: string): Promise<{ child: ChildProcess; files: string; render: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...env, STORYDREAM_MODE: 'render', WORKSPACE_DIR: workspace, FILES_PORT: '0', RENDER_PORT: '0', BIND_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const deadline = Date.now() + 30_000;
  let ready: RegExpMatchArray | null = null;
  while (!(ready = stdout.match(/^READY files=(\d+) render=(\d+)$/m))) {
    if (child.exitCode !== null) throw new Error(`render pod exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`no READY line within 30 s: ${stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, files: `http://127.0.0.1:${ready[1]}`, render: `http://127.0.0.1:${ready[2]}` };
}

async function templateTar(edit: (video: string) => string): Promise<Buffer> {
  const entries = [];
  for (const relative of ['src/App.tsx', 'src/main.tsx', 'src/components/Background.tsx', 'src/components/Subtitle.tsx', 'src/components/Title.tsx', 'src/compositions/MyVideo.tsx']) {
    let text = await fs.readFile(path.join(TEMPLATE_DIR, relative), 'utf8');
    if (relative.endsWith('MyVideo.tsx')) text = edit(text);
    entries.push({ name: relative, content: text });
  }
  return makeTar(entries);
}

const small = (video: string): string =>
  video.replace('width: 1920', 'width: 320').replace('height: 1080', 'height: 180').replace('durationInFrames: 150', 'durationInFrames: 30');

async function waitFinal(render: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 100_000;
  for (;;) {
    const status = (await (await fetch(`${render}/render`)).json()) as Record<string, unknown>;
    if (['complete', 'failed', 'canceled'].includes(status.state as string)) return status;
    if (Date.now() > deadline) throw new Error(`render still ${String(status.state)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('render mode', () => {
  it('parseRequest refuses bad fields and defaults the rest', () => {
    assert.deepEqual(parseRequest({}), { kind: 'video', composition: undefined, codec: 'h264', crf: undefined, frame: 0 });
    assert.throws(() => parseRequest({ kind: 'gif' }), /kind/);
    assert.throws(() => parseRequest({ composition: '../x' }), /composition/);
    assert.throws(() => parseRequest({ codec: 'vp9' }), /codec/);
    assert.throws(() => parseRequest({ crf: 0 }), /crf/);
    assert.throws(() => parseRequest({ frame: -1 }), /frame/);
    assert.throws(() => parseRequest([]), /object/);
  });

  it('the entry uses src/Root.tsx when the project has one, else the template layout', async () => {
    const workspace = await tempDir('sd-render-');
    assert.match(entrySource(workspace), /myVideoConfig/);
    await fs.mkdir(path.join(workspace, 'src'), { recursive: true });
    await fs.writeFile(path.join(workspace, 'src', 'Root.tsx'), 'export const RemotionRoot = () => null;');
    assert.match(entrySource(workspace), /RemotionRoot/);
  });

  it('hydrated through the file API, renders a still of the composition once, and answers while it works', async () => {
    const workspace = await tempDir('sd-render-');
    const pod = await startRenderPod(workspace);
    const put = await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar(small), headers: { 'content-type': 'application/x-tar' } });
    assert.equal(put.status, 200);
    assert.equal((await fetch(`${pod.render}/render/output`)).status, 409);

    const started = await fetch(`${pod.render}/render`, { method: 'POST', body: JSON.stringify({ kind: 'still', frame: 10 }), headers: { 'content-type': 'application/json' } });
    assert.equal(started.status, 202);
    const again = await fetch(`${pod.render}/render`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(again.status, 409);
    const status = await waitFinal(pod.render);

    assert.equal(status.state, 'complete', String(status.error));
    assert.deepEqual(status.composition, { id: 'MyVideo', width: 320, height: 180, fps: 30, durationInFrames: 30 });
    const png = Buffer.from(await (await fetch(`${pod.render}/render/output`)).arrayBuffer());
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [320, 180]);
    const manifest = (await (await fetch(`${pod.files}/files/manifest`)).json()) as { files: { path: string }[] };
    assert.ok(manifest.files.every((f) => f.path.startsWith('src/')), 'render work files stay out of the synced roots');
    pod.child.kill('SIGTERM');
  });

  it('a composition that does not compile fails with the bundler message', async () => {
    const workspace = await tempDir('sd-render-');
    const pod = await startRenderPod(workspace);
    await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar((v) => `${small(v)}\nexport const broken = <<<;\n`), headers: { 'content-type': 'application/x-tar' } });
    await fetch(`${pod.render}/render`, { method: 'POST', body: JSON.stringify({ kind: 'still' }), headers: { 'content-type': 'application/json' } });

    const status = await waitFinal(pod.render);

    assert.equal(status.state, 'failed');
    assert.match(String(status.error), /MyVideo\.tsx/);
    pod.child.kill('SIGTERM');
  });
});
