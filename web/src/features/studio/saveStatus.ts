/** What the always-visible save indicator says (seed 004: the person must always know whether the work is saved). */
export type SaveStatus =
  | { kind: 'saved'; at: string | null }
  | { kind: 'saving' }
  | { kind: 'failed'; reason: string; since: string };

export type SaveEvent =
  | { type: 'head'; createdAt: string }
  | { type: 'turn_complete' }
  | { type: 'restore_started' }
  | { type: 'snapshot_created'; at: string }
  | { type: 'sync_failed'; reason: string; at: string };

export const unknownSave: SaveStatus = { kind: 'saved', at: null };

/**
 * A finished turn or a restore starts a sync ("Saving…"); `snapshot_created` ends it ("All changes saved" at that
 * time); a failed sync shows why, and stays until a later snapshot lands, since the worker retries on its own
 * (checkpoints every two minutes and at session end).
 */
export function saveReducer(state: SaveStatus, event: SaveEvent): SaveStatus {
  switch (event.type) {
    case 'head':
      if (state.kind !== 'saved') return state;
      return state.at && state.at >= event.createdAt ? state : { kind: 'saved', at: event.createdAt };
    case 'turn_complete':
    case 'restore_started':
      return { kind: 'saving' };
    case 'snapshot_created':
      return { kind: 'saved', at: event.at };
    case 'sync_failed':
      return { kind: 'failed', reason: event.reason, since: state.kind === 'failed' ? state.since : event.at };
  }
}

export function describeSave(status: SaveStatus, formatTime: (iso: string) => string): string {
  switch (status.kind) {
    case 'saved':
      return status.at ? `All changes saved at ${formatTime(status.at)}` : 'All changes saved';
    case 'saving':
      return 'Saving…';
    case 'failed':
      return `Not saved, retrying: ${status.reason}`;
  }
}
