// The baseline: Remotion's renderMedia of the default template, on the same packages, browser and machine as the render
// pod, with nothing of the platform around it. Prints one JSON line: {bundleMs, selectMs, renderMs, size}.
// Usage: node eng/bench/ExportBench/bare-render.mjs
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const packages = path.join(root, 'session-pod', 'render');
const require = createRequire(path.join(packages, 'package.json'));
const { bundle } = await import(require.resolve('@remotion/bundler'));
const { openBrowser, renderMedia, selectComposition } = await import(require.resolve('@remotion/renderer'));

const dir = mkdtempSync(path.join(os.tmpdir(), 'bare-render-'));
try {
  cpSync(path.join(root, 'templates', 'default', 'src'), path.join(dir, 'src'), { recursive: true });
  symlinkSync(path.join(packages, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const entryPoint = path.join(dir, 'entry.tsx');
  writeFileSync(entryPoint, [
    "import React from 'react';",
    "import { Composition, registerRoot } from 'remotion';",
    "import { MyVideo, myVideoConfig } from './src/compositions/MyVideo';",
    'registerRoot(() => <Composition id="MyVideo" component={MyVideo} {...myVideoConfig} />);',
  ].join('\n'));
  const browserExecutable = path.join(packages, 'chromium.sh');
  let t = performance.now();
  // Bundled as the render pod bundles: with Rspack.
  const serveUrl = await bundle({ entryPoint, outDir: path.join(dir, 'bundle'), rootDir: dir, rspack: true });
  const bundleMs = performance.now() - t;
  const browser = await openBrowser('chrome', { browserExecutable });
  t = performance.now();
  const composition = await selectComposition({ serveUrl, id: 'MyVideo', puppeteerInstance: browser, browserExecutable, logLevel: 'error' });
  const selectMs = performance.now() - t;
  const outputLocation = path.join(dir, 'out.mp4');
  t = performance.now();
  await renderMedia({ composition, serveUrl, codec: 'h264', outputLocation, puppeteerInstance: browser, browserExecutable, concurrency: 1, logLevel: 'error' });
  const renderMs = performance.now() - t;
  await browser.close({ silent: true });
  process.stdout.write(`${JSON.stringify({ bundleMs, selectMs, renderMs, size: statSync(outputLocation).size })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
