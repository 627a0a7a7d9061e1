import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../lib/api/client';
import { chatReducer, emptyChat, type ChatEvent } from './messages';

const user: ChatMessage = { id: 'u1', role: 'user', content: 'set title to Hello', status: 'complete', actions: [], createdAt: '2026-01-01T00:00:01Z', tokenCount: null };
const streamingStored: ChatMessage = { id: 'a1', role: 'assistant', content: '', status: 'streaming', actions: [], createdAt: '2026-01-01T00:00:02Z', tokenCount: null };
const action = { type: 'file_edit', filePath: 'src/compositions/MyVideo.tsx', summary: 'Set the title', snapshotId: null };
const complete: ChatMessage = { ...streamingStored, content: 'Done: title set.', status: 'complete', actions: [action] };

const run = (events: ChatEvent[]) => events.reduce(chatReducer, emptyChat);

describe('chatReducer', () => {
  it('streams deltas and actions into the assistant message, then takes the stored one', () => {
    const state = run([
      { type: 'message_saved', message: user },
      { type: 'assistant_delta', messageId: 'a1', text: 'Done: ' },
      { type: 'assistant_delta', messageId: 'a1', text: 'title set.' },
      { type: 'agent_action', messageId: 'a1', action },
    ]);
    expect(state.messages.map((m) => [m.id, m.content, m.status])).toEqual([
      ['u1', 'set title to Hello', 'complete'],
      ['a1', 'Done: title set.', 'streaming'],
    ]);
    expect(run([...[], { type: 'history', messages: [user] }, { type: 'assistant_complete', message: complete }]).messages).toEqual([user, complete]);
  });

  it('a socket dropped mid-turn, then history refetched and the turn finished: each message once, nothing lost', () => {
    const state = run([
      { type: 'history', messages: [] },
      { type: 'message_saved', message: user },
      { type: 'assistant_delta', messageId: 'a1', text: 'Done: ' },
      // The socket drops here: frames sent meanwhile are never seen. On reconnect the history is fetched again.
      { type: 'history', messages: [user, streamingStored] },
      { type: 'assistant_complete', message: complete },
      // The same frame may arrive twice across a reconnect (a second tab's hub, a replay): still once.
      { type: 'assistant_complete', message: complete },
      { type: 'message_saved', message: user },
    ]);
    expect(state.messages).toEqual([user, complete]);
  });

  it('a stale history does not roll back a finished message or shorten a streaming one', () => {
    const finished = run([{ type: 'assistant_complete', message: complete }, { type: 'history', messages: [streamingStored] }]);
    const streaming = run([
      { type: 'assistant_delta', messageId: 'a1', text: 'partial text' },
      { type: 'history', messages: [{ ...streamingStored, content: 'part' }] },
    ]);
    expect(finished.messages).toEqual([complete]);
    expect(streaming.messages[0]!.content).toBe('partial text');
  });

  it('a repeated action is listed once', () => {
    const state = run([
      { type: 'agent_action', messageId: 'a1', action },
      { type: 'agent_action', messageId: 'a1', action },
    ]);
    expect(state.messages[0]!.actions).toHaveLength(1);
  });

  it('keeps messages in the order the server made them', () => {
    const later: ChatMessage = { ...user, id: 'u2', createdAt: '2026-01-01T00:00:05Z' };
    const state = run([{ type: 'message_saved', message: later }, { type: 'history', messages: [user, complete] }]);
    expect(state.messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2']);
  });
});
