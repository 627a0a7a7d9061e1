import { describe, expect, it } from 'vitest';
import { describeSave, saveReducer, unknownSave, type SaveEvent } from './saveStatus';

const run = (events: SaveEvent[]) => events.reduce(saveReducer, unknownSave);
const time = (iso: string) => iso.slice(11, 16);

describe('saveReducer', () => {
  it('says saved with the time of the head snapshot', () => {
    const status = run([{ type: 'head', createdAt: '2026-01-01T10:15:00Z' }]);
    expect(describeSave(status, time)).toBe('All changes saved at 10:15');
  });

  it('says saving from the end of a turn until its snapshot is created', () => {
    const saving = run([{ type: 'head', createdAt: '2026-01-01T10:15:00Z' }, { type: 'turn_complete' }]);
    const saved = saveReducer(saving, { type: 'snapshot_created', at: '2026-01-01T10:20:00Z' });
    expect(describeSave(saving, time)).toBe('Saving…');
    expect(describeSave(saved, time)).toBe('All changes saved at 10:20');
  });

  it('says not saved with the reason when a sync fails, until a later snapshot lands', () => {
    const failed = run([
      { type: 'turn_complete' },
      { type: 'sync_failed', reason: 'the session pod did not answer', at: '2026-01-01T10:21:00Z' },
      { type: 'head', createdAt: '2026-01-01T10:00:00Z' },
      { type: 'sync_failed', reason: 'still down', at: '2026-01-01T10:23:00Z' },
    ]);
    expect(failed).toEqual({ kind: 'failed', reason: 'still down', since: '2026-01-01T10:21:00Z' });
    expect(describeSave(failed, time)).toBe('Not saved, retrying: still down');
    expect(saveReducer(failed, { type: 'snapshot_created', at: '2026-01-01T10:25:00Z' })).toEqual({ kind: 'saved', at: '2026-01-01T10:25:00Z' });
  });

  it('an older head read late does not move the saved time back, nor end a running save', () => {
    const newer = run([{ type: 'snapshot_created', at: '2026-01-01T10:30:00Z' }, { type: 'head', createdAt: '2026-01-01T10:00:00Z' }]);
    const saving = run([{ type: 'restore_started' }, { type: 'head', createdAt: '2026-01-01T10:40:00Z' }]);
    expect(newer).toEqual({ kind: 'saved', at: '2026-01-01T10:30:00Z' });
    expect(saving).toEqual({ kind: 'saving' });
  });
});
