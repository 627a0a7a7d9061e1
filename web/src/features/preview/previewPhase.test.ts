import { describe, expect, it } from 'vitest';
import { previewPhase } from './PreviewPane';

describe('previewPhase', () => {
  it('says restoring while a starting session hydrates, not only during a restore the person asked for', () => {
    expect(previewPhase(true, false, false, 'starting', false)).toBe('starting');
    expect(previewPhase(true, false, false, 'restoring', false)).toBe('restoring');
    expect(previewPhase(false, false, true, 'ready', true)).toBe('restoring');
    expect(previewPhase(false, false, false, 'ready', true)).toBe('ready');
    expect(previewPhase(false, true, false, 'restoring', false)).toBe('failed');
  });
});
