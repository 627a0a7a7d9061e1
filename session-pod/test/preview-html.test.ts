import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withStaticBase } from '../src/preview.js';

describe('preview page', () => {
  it("sets Remotion's static base to the preview's base, so staticFile() reaches public/ through the gateway", () => {
    const html = '<body>\n    <div id="root"></div>\n</body>';

    assert.match(withStaticBase(html, '/preview/abc/'), /<script>window\.remotion_staticBase = "\/preview\/abc";<\/script>\n {4}<div id="root"><\/div>/);
    assert.match(withStaticBase(html, '/p/</script>/'), /"\/p\/\\u003c\/script>"/);
    assert.equal(withStaticBase(html, '/'), html);
  });
});
