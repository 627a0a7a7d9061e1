import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ProblemMessage } from '../../components/ProblemMessage';
import type { ChatMessage, MessageAction } from '../../lib/api/client';
import { formatTime } from '../../lib/format';
import type { ChatModel } from './useChat';

const ACTION_WORDS: Record<string, string> = {
  file_create: 'Created',
  file_edit: 'Edited',
  file_delete: 'Deleted',
  command_run: 'Ran',
};

export function ChatPane({ chat }: { chat: ChatModel }) {
  return (
    <section className="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading" className="visually-hidden">
        Chat
      </h2>
      <ConnectionBanner chat={chat} />
      {chat.history.error ? <ProblemMessage error={chat.history.error} onRetry={() => void chat.reloadHistory()} /> : null}
      <MessageList
        messages={chat.messages}
        loading={chat.history.loading && chat.messages.length === 0}
        hasOlder={chat.history.hasOlder}
        loadingOlder={chat.history.loadingOlder}
        loadOlder={chat.loadOlder}
      />
      {chat.error && (
        <div role="alert" className="chat-error">
          <p>{chat.error.detail}</p>
          {chat.error.retryContent && (
            <button type="button" onClick={() => chat.send(chat.error!.retryContent!)}>
              Retry
            </button>
          )}
          <button type="button" onClick={chat.dismissError}>
            Dismiss
          </button>
        </div>
      )}
      <Composer chat={chat} />
    </section>
  );
}

function ConnectionBanner({ chat }: { chat: ChatModel }) {
  const state = chat.connection;
  if (state.kind === 'open') return null;
  if (state.kind === 'closed') return <p role="alert" className="banner">{state.reason}</p>;
  if (state.kind === 'connecting' && state.attempt === 1) return null;
  return (
    <div role="status" className="banner">
      {state.kind === 'waiting'
        ? `Connection lost (${state.reason}). Reconnecting in ${Math.ceil(state.retryInMs / 1000)} s…`
        : 'Reconnecting…'}
      {state.kind === 'waiting' && (
        <button type="button" onClick={chat.retryConnection}>
          Retry now
        </button>
      )}
    </div>
  );
}

interface MessageListProps {
  messages: ChatMessage[];
  loading: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
}

/**
 * Virtualized: only the messages in view are in the DOM, and the newest page of the history is all that loads first;
 * older pages load as the person scrolls up to them. The virtualizer keeps the view anchored to the end, as a chat is
 * read: it follows new and growing messages while the person is at the bottom, and keeps what they were reading where
 * it was when older messages are put above it.
 */
function MessageList({ messages, loading, hasOlder, loadingOlder, loadOlder }: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  // Older pages load only once the person has scrolled up: the first render starts at the top, before the
  // virtualizer has followed the first page to its end.
  const atBottom = useRef(true);
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 72,
    overscan: 6,
    getItemKey: (index) => messages[index]!.id,
    anchorTo: 'end',
    followOnAppend: true,
  });
  // followOnAppend follows messages that arrive after the list mounts. When the first page was read while the page
  // rendered, the list mounts with it and would open at its top: open it at the newest message instead.
  useLayoutEffect(() => {
    if (virtualizer.options.count > 0) virtualizer.scrollToEnd();
  }, [virtualizer]);
  const items = virtualizer.getVirtualItems();
  const nearTop = (items[0]?.index ?? 0) < 3;

  useEffect(() => {
    if (nearTop && hasOlder && !loadingOlder && !atBottom.current) loadOlder();
  }, [nearTop, hasOlder, loadingOlder, loadOlder]);

  return (
    <>
      {hasOlder && (
        <button type="button" className="load-older" onClick={loadOlder} disabled={loadingOlder}>
          {loadingOlder ? 'Loading earlier messages…' : 'Load earlier messages'}
        </button>
      )}
      <div
        ref={scroller}
        className="messages"
        role="log"
        aria-label="Conversation"
        aria-live="polite"
        aria-busy={loadingOlder}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
      >
        {loading && <p className="muted">Loading the conversation…</p>}
        {!loading && messages.length === 0 && <p className="muted">Say what video you want, for example “set title to Hello”.</p>}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
            >
              <Message message={messages[item.index]!} />
            </div>
          ))}
        </div>
      </div>
    </>
  );
}

function Message({ message }: { message: ChatMessage }) {
  const who = message.role === 'user' ? 'You' : message.role === 'assistant' ? 'Agent' : 'StoryDream';
  return (
    <article className={`message message-${message.role}`} aria-label={`${who} said`} data-status={message.status}>
      <header>
        <strong>{who}</strong>
        {message.status !== 'streaming' && <time dateTime={message.createdAt}> {formatTime(message.createdAt)}</time>}
        {message.status === 'streaming' && <span className="muted"> typing…</span>}
        {message.status === 'failed' && <span className="failed"> (failed)</span>}
      </header>
      <p className="message-text">{message.content}</p>
      {message.actions.length > 0 && (
        <ul className="actions" aria-label="What the agent did">
          {message.actions.map((action, i) => (
            <li key={i}>{describeAction(action)}</li>
          ))}
        </ul>
      )}
    </article>
  );
}

function describeAction(action: MessageAction): string {
  const verb = ACTION_WORDS[action.type] ?? action.type;
  return `${verb} ${action.filePath ?? ''}${action.summary ? ` — ${action.summary}` : ''}`.trim();
}

function Composer({ chat }: { chat: ChatModel }) {
  const [text, setText] = useState('');
  const [notSent, setNotSent] = useState(false);
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const content = text.trim();
    if (!content || chat.busy) return;
    if (chat.send(content)) {
      setText('');
      setNotSent(false);
    } else {
      setNotSent(true);
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    }
  };
  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="chat-input" className="visually-hidden">
        Message to the agent
      </label>
      <textarea
        id="chat-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder="Describe a change, e.g. set title to Hello"
        rows={3}
        maxLength={20000}
      />
      <div className="composer-buttons">
        {chat.busy ? (
          <button type="button" onClick={chat.cancel}>
            Cancel
          </button>
        ) : (
          <button type="submit" className="primary" disabled={text.trim() === ''}>
            Send
          </button>
        )}
      </div>
      {notSent && <p role="alert">Not sent: the chat is not connected. It reconnects on its own; send again in a moment.</p>}
    </form>
  );
}
