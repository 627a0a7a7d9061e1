import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTH, tempDir } from './helpers.js';
import { small, startRenderPod, templateTar, waitFinal } from './support/render-pod.js';

// Its own file: each file has the runner's time limit, and two renders in one file pass it on a busy machine.
describe('render mode errors', () => {
  it('a composition that does not compile fails with the bundler message', async () => {
    const workspace = await tempDir('sd-render-');
    const pod = await startRenderPod(workspace);
    await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar((v) => `${small(v)}\nexport const broken = <<<;\n`), headers: { ...AUTH, 'content-type': 'application/x-tar' } });
    await fetch(`${pod.render}/render`, { method: 'POST', body: JSON.stringify({ kind: 'still' }), headers: { ...AUTH, 'content-type': 'application/json' } });

    const status = await waitFinal(pod.render);

    assert.equal(status.state, 'failed');
    assert.match(String(status.error), /MyVideo\.tsx/);
    pod.child.kill('SIGTERM');
  });
});
