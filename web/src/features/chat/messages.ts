import type { ChatMessage, MessageAction } from '../../lib/api/client';

/** The conversation as the studio shows it: messages by id, in the order the server made them. */
export interface ChatState {
  messages: ChatMessage[];
}

export type ChatEvent =
  | { type: 'history'; messages: ChatMessage[] }
  | { type: 'message_saved'; message: ChatMessage }
  | { type: 'assistant_delta'; messageId: string; text: string }
  | { type: 'agent_action'; messageId: string; action: MessageAction }
  | { type: 'assistant_complete'; message: ChatMessage };

export const emptyChat: ChatState = { messages: [] };

/**
 * Folds history pages and socket frames into one list with each message once. A refetched history (after a reconnect)
 * and live frames may both carry a message: the one that knows more wins (a finished message over a streaming one, the
 * longer text of two streaming ones), so a dropped socket neither loses nor doubles anything.
 */
export function chatReducer(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case 'history':
      return event.messages.reduce((s, m) => upsert(s, m), state);
    case 'message_saved':
    case 'assistant_complete':
      return upsert(state, event.message);
    case 'assistant_delta': {
      const current = state.messages.find((m) => m.id === event.messageId);
      const base = current ?? streaming(event.messageId);
      return replace(state, { ...base, content: base.content + event.text });
    }
    case 'agent_action': {
      const current = state.messages.find((m) => m.id === event.messageId) ?? streaming(event.messageId);
      if (current.actions.some((a) => sameAction(a, event.action))) return state;
      return replace(state, { ...current, actions: [...current.actions, event.action] });
    }
  }
}

function upsert(state: ChatState, incoming: ChatMessage): ChatState {
  const current = state.messages.find((m) => m.id === incoming.id);
  if (!current) return replace(state, incoming);
  return replace(state, knowsMore(incoming, current) ? incoming : current);
}

function knowsMore(incoming: ChatMessage, current: ChatMessage): boolean {
  if (incoming.status !== 'streaming') return true;
  if (current.status !== 'streaming') return false;
  return incoming.content.length >= current.content.length && incoming.actions.length >= current.actions.length;
}

function replace(state: ChatState, message: ChatMessage): ChatState {
  const index = state.messages.findIndex((m) => m.id === message.id);
  if (index >= 0) {
    if (state.messages[index] === message) return state;
    const messages = state.messages.slice();
    messages[index] = message;
    return { messages };
  }
  const messages = [...state.messages, message];
  // Stored messages come with the server's time; a streaming one seen first by a delta sorts last until it is stored.
  messages.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  return { messages };
}

function streaming(id: string): ChatMessage {
  return { id, role: 'assistant', content: '', status: 'streaming', actions: [], createdAt: '9999-12-31T23:59:59Z', tokenCount: null };
}

function sameAction(a: MessageAction, b: MessageAction): boolean {
  return a.type === b.type && a.filePath === b.filePath && a.summary === b.summary;
}

/** Whether the agent is still on a turn: the newest message is the person's, or an assistant message still streaming. */
export function turnInProgress(state: ChatState, awaitingReply: boolean): boolean {
  const last = state.messages[state.messages.length - 1];
  return awaitingReply || last?.status === 'streaming';
}
