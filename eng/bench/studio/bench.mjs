// The studio in Debian's chromium (playwright-core from web/), against a running app host, one run:
//   1. initial JavaScript: gzipped bytes of every script the browser loaded up to an interactive project page;
//   2. navigation to an interactive project page whose history has 2,000 messages: the first open (no session yet, so
//      the page starts one) and the median of the reopenings after it (the session running), each cold (cache
//      disabled), with where the time went (the page's own resource timings);
//   3. frame to paint: from an assistant_delta frame arriving on the chat socket to its text painted, median and p95.
// Targets (issue 13): <= 200 KB, <= 1 s, <= 50 ms median. Usage (with `bash eng/run.sh` running; the Firestore
// emulator's host:port as `dotnet aspire describe` or the dashboard shows it):
//   FIRESTORE_EMULATOR_HOST=127.0.0.1:PORT node eng/bench/studio/bench.mjs [gateway URL] [--opens N]   (N: 5 by default)
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { chromium } = createRequire(path.join(root, 'web', 'package.json'))('playwright-core');
const { values: options, positionals } = parseArgs({ allowPositionals: true, options: { opens: { type: 'string', default: '5' } } });
const gateway = positionals[0] ?? 'http://localhost:5100';
const OPENS = Number(options.opens);
if (!Number.isInteger(OPENS) || OPENS < 2) throw new Error('--opens must be a whole number of 2 or more: the first open and at least one reopening');
const firestore = process.env.FIRESTORE_EMULATOR_HOST;
if (!firestore) throw new Error('FIRESTORE_EMULATOR_HOST is not set: the Firestore emulator of the running app host, as host:port');
const MESSAGES = 2000;

async function json(method, url, body, token) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

// 2,000 stored messages written straight into the Firestore emulator (no route adds history without an agent turn).
async function seedHistory(projectId) {
  const database = 'projects/storydream-dev/databases/(default)';
  const start = Date.now() - MESSAGES * 1000;
  for (let batch = 0; batch < MESSAGES; batch += 500) {
    const writes = [];
    for (let i = batch; i < Math.min(batch + 500, MESSAGES); i++) {
      const user = i % 2 === 0;
      writes.push({
        update: {
          name: `${database}/documents/projects/${projectId}/messages/${randomUUID()}`,
          fields: {
            role: { stringValue: user ? 'user' : 'assistant' },
            content: { stringValue: user ? `set title to Take ${i}` : `Set the title to "Take ${i}". `.repeat(1 + (i % 5)) },
            status: { stringValue: 'complete' },
            actions: { arrayValue: { values: user ? [] : [{ mapValue: { fields: { type: { stringValue: 'file_edit' }, filePath: { stringValue: 'src/compositions/MyVideo.tsx' }, summary: { stringValue: `Take ${i}` } } } }] } },
            createdAt: { timestampValue: new Date(start + i * 1000).toISOString() },
          },
        },
      });
    }
    await json('POST', `http://${firestore}/v1/${database}/documents:commit`, { writes }, 'owner');
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

const startLoad = os.loadavg();
const { accessToken } = await json('POST', `${gateway}/api/auth/dev-token`, { userId: `bench-${randomUUID().slice(0, 8)}` });
const big = await json('POST', `${gateway}/api/projects`, { name: 'Bench: 2,000 messages' }, accessToken);
await seedHistory(big.id);
const small = await json('POST', `${gateway}/api/projects`, { name: 'Bench: streaming' }, accessToken);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // Signed in as the bench user, as the studio keeps a dev session.
  await context.addInitScript(([token, userId]) => {
    localStorage.setItem('storydream.dev-session', JSON.stringify({ accessToken: token, userId, name: userId, expiresAt: Date.now() + 3_000_000, kind: 'dev' }));
  }, [accessToken, 'bench']);
  // 1 and 2: cold loads of the big project's page (cache disabled), interactive when the newest message is shown and
  // the composer takes input. The first open starts the project's session; the reopenings find it running.
  const opens = [];
  let scripts = [];
  for (let i = 0; i < OPENS; i++) {
    const load = await context.newPage();
    load.setDefaultTimeout(120_000);
    const cdp = await context.newCDPSession(load);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    // The renderer main thread's CPU time: on a shared machine the wall time is mostly waiting for a core.
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    await load.goto(`${gateway}/projects/${big.id}`, { waitUntil: 'commit' });
    await load.waitForFunction((n) => {
      const last = [...document.querySelectorAll('article.message')].at(-1);
      const input = document.querySelector('#chat-input');
      return last?.textContent?.includes(`Take ${n - 1}`) && input && !input.disabled;
    }, MESSAGES);
    const timings = await load.evaluate(() => {
      const interactive = performance.now();
      const entries = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
      const find = (test) => entries.find((e) => test(new URL(e.name).pathname, e));
      const span = (e) => (e ? { start: e.startTime, end: e.responseEnd, bytes: e.encodedBodySize } : undefined);
      return {
        interactive,
        html: span(entries[0]),
        script: span(find((p, e) => e.initiatorType === 'script' || p.endsWith('.js'))),
        config: span(find((p) => p === '/config.json')),
        project: span(find((p) => /^\/api\/projects\/[^/]+$/.test(p))),
        messages: span(find((p) => p.endsWith('/messages'))),
        scripts: entries.filter((e) => e.initiatorType === 'script' || e.name.endsWith('.js')).map((e) => ({ name: e.name, bytes: e.encodedBodySize })),
      };
    });
    const { metrics } = await cdp.send('Performance.getMetrics');
    timings.mainThreadMs = 1000 * metrics.find((m) => m.name === 'ThreadTime').value;
    opens.push(timings);
    scripts = timings.scripts;
    await load.close();
  }
  const jsBytes = scripts.reduce((sum, s) => sum + s.bytes, 0);
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);

  // 3: frame to paint while the scripted agent streams a reply line by line: each assistant_delta is timed from its
  // arrival on the socket to the frame after its text is in the DOM (when it is on screen).
  await page.addInitScript(() => {
    window.__paints = [];
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (event) => {
          const frame = JSON.parse(event.data);
          if (frame.type !== 'assistant_delta') return;
          const received = performance.now();
          const expected = frame.text.trim().slice(-40);
          const check = () => {
            const article = [...document.querySelectorAll('article.message-assistant')].at(-1);
            if (article?.textContent?.includes(expected)) requestAnimationFrame(() => window.__paints.push(performance.now() - received));
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        });
      }
    };
  });
  await page.goto(`${gateway}/projects/${small.id}`);
  await page.locator("[data-phase='ready']").waitFor();
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i} of the streamed answer`);
  await page.getByLabel('Message to the agent').fill(['[slow 50ms]', ...lines].join('\n'));
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator("article.message-assistant[data-status='complete']").waitFor();
  await page.waitForTimeout(500);
  const paints = await page.evaluate(() => window.__paints);

  const row = (what, value, target, ok) => console.log(`${what.padEnd(68)} ${value.padStart(12)}   target ${target.padEnd(10)} ${ok ? 'ok' : 'OVER'}`);
  console.log(`studio bench against ${gateway} (Debian chromium, headless, one run)`);
  row('initial JS before the project page (gzipped, all scripts)', `${(jsBytes / 1024).toFixed(1)} KB`, '<= 200 KB', jsBytes <= 200 * 1024);
  const first = opens[0].interactive;
  const reopened = median(opens.slice(1).map((o) => o.interactive));
  row(`navigation to interactive project page, ${MESSAGES} messages: first open`, `${first.toFixed(0)} ms`, '<= 1000 ms', first <= 1000);
  row(`  the same, median of ${OPENS - 1} reopenings (session running)`, `${reopened.toFixed(0)} ms`, '<= 1000 ms', reopened <= 1000);
  if (paints.length === 0) throw new Error('no assistant_delta frame was seen painted');
  row(`assistant frame to paint, median of ${paints.length} deltas`, `${median(paints).toFixed(1)} ms`, '<= 50 ms', median(paints) <= 50);
  row('assistant frame to paint, p95', `${p95(paints).toFixed(1)} ms`, '-', true);
  for (const s of scripts) console.log(`  script ${path.basename(new URL(s.name).pathname)}: ${(s.bytes / 1024).toFixed(1)} KB`);
  // Where each open's time went: request start to response end of each step of the critical path, ms after navigation.
  const at = (span) => (span ? `${span.start.toFixed(0)}-${span.end.toFixed(0)}` : '-').padStart(10);
  console.log(`opens (ms after navigation: start-end)      html     script     config    project   messages (KB)  interactive  main thread CPU`);
  opens.forEach((o, i) => console.log(`  ${(i === 0 ? 'first open' : `reopening ${i}`).padEnd(34)}${at(o.html)} ${at(o.script)} ${at(o.config)} ${at(o.project)} ${at(o.messages)} (${((o.messages?.bytes ?? 0) / 1024).toFixed(1)}) ${o.interactive.toFixed(0).padStart(8)} ${o.mainThreadMs.toFixed(0).padStart(12)}`));
  console.log(`load average at the start: ${startLoad.map((l) => l.toFixed(1)).join(', ')} (${os.cpus().length} cores)`);
} finally {
  await browser.close();
  await json('DELETE', `${gateway}/api/projects/${big.id}`, undefined, accessToken).catch(() => {});
  await json('DELETE', `${gateway}/api/projects/${small.id}`, undefined, accessToken).catch(() => {});
}
