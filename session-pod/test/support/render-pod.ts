import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after } from 'node:test';
import { AUTH, POD_DIR, POD_SECRET, TEMPLATE_DIR, makeTar } from '../helpers.js';

export const RENDER_ID = 'render-under-test';

const MAIN = path.join(POD_DIR, 'dist', 'src', 'main.js');
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startRenderPod(workspace: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; files: string; render: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...env, STORYDREAM_MODE: 'render', STORYDREAM_SESSION_ID: RENDER_ID, STORYDREAM_POD_SECRET: POD_SECRET, WORKSPACE_DIR: workspace, FILES_PORT: '0', RENDER_PORT: '0', BIND_HOST: '127.0.0.1', ...extraEnv },
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

export async function templateTar(edit: (video: string) => string): Promise<Buffer> {
  const entries = [];
  for (const relative of ['src/App.tsx', 'src/main.tsx', 'src/components/Background.tsx', 'src/components/Subtitle.tsx', 'src/components/Title.tsx', 'src/compositions/MyVideo.tsx']) {
    let text = await fs.readFile(path.join(TEMPLATE_DIR, relative), 'utf8');
    if (relative.endsWith('MyVideo.tsx')) text = edit(text);
    entries.push({ name: relative, content: text });
  }
  return makeTar(entries);
}

export const small = (video: string): string =>
  video.replace('width: 1920', 'width: 320').replace('height: 1080', 'height: 180').replace('durationInFrames: 150', 'durationInFrames: 30');

export async function waitFinal(render: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 100_000;
  for (;;) {
    const status = (await (await fetch(`${render}/render`, { headers: AUTH })).json()) as Record<string, unknown>;
    if (['complete', 'failed', 'canceled'].includes(status.state as string)) return status;
    if (Date.now() > deadline) throw new Error(`render still ${String(status.state)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
