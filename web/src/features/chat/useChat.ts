import { infiniteQueryOptions, useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, describeError, type Api, type ChatMessage, type MessageAction } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';
import { ChatConnection, FatalConnectionError, type ConnectionState, type ServerFrame } from '../../lib/chatSocket';
import { saveReducer, unknownSave, type SaveEvent } from '../studio/saveStatus';
import { chatReducer, emptyChat } from './messages';

export interface ChatError {
  code: string;
  detail: string;
  /** The message to send again when the error was about one. */
  retryContent?: string;
}

/** As the chat socket reports it; restoring: the pod is up and the project's files are being put back into it. */
export type SessionStatus = 'starting' | 'restoring' | 'ready' | 'stopping' | 'stopped' | 'unknown';

/**
 * The first page is what fills the screen and a little more: the API's time (a Firestore query) grows with the page, and
 * it is the wait before the conversation shows. Older pages, fetched as the person scrolls up, are bigger.
 */
export const FIRST_PAGE_SIZE = 50;
export const OLDER_PAGE_SIZE = 200;

/**
 * The stored history, newest page first. Its options are shared so the studio page can start the read beside the
 * project's, before the chat mounts.
 */
export function historyQuery(api: Api, projectId: string) {
  return infiniteQueryOptions({
    queryKey: ['messages', projectId],
    queryFn: ({ pageParam }) => api.newestMessages(projectId, pageParam === undefined ? FIRST_PAGE_SIZE : OLDER_PAGE_SIZE, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextPageToken ?? undefined,
    // The socket keeps the conversation current while the page is open; refetches happen on reconnect only. Nothing is
    // kept after the page closes, so opening the project again reads the stored history afresh.
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
  });
}

/**
 * The chat of one project: the stored history (newest page first, older pages as the person scrolls up), the live
 * socket merged into it, the save status the turns drive, and the session status the server reports.
 */
export function useChat(projectId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [chat, dispatch] = useReducer(chatReducer, emptyChat);
  const [save, dispatchSave] = useReducer(saveReducer, unknownSave);
  const [connection, setConnection] = useState<ConnectionState>({ kind: 'connecting', attempt: 1 });
  const [sessionStatus, setSessionStatus] = useState<SessionStatus>('unknown');
  const [error, setError] = useState<ChatError | null>(null);
  const [awaitingReply, setAwaitingReply] = useState(false);
  const socket = useRef<ChatConnection | null>(null);
  const lastSent = useRef<string | null>(null);

  const history = useInfiniteQuery(historyQuery(api, projectId));
  const { refetch: refetchHistory, fetchNextPage, hasNextPage, isFetchingNextPage } = history;
  // The first page (or its failure) is in: the rest of opening a project waits for it, so nothing else is on the server
  // while the conversation the person came back to is read.
  const historyRead = !history.isPending;

  // Folded in while rendering (React's pattern for state that follows a prop), not in an effect: the page that brings the
  // history shows it, with no extra commit in between.
  const [foldedHistory, setFoldedHistory] = useState<typeof history.data>(undefined);
  if (history.data !== foldedHistory) {
    setFoldedHistory(history.data);
    if (history.data) dispatch({ type: 'history', messages: history.data.pages.flatMap((page) => page.items) });
  }

  // A refetch of an infinite query fetches again every page loaded so far, newest first, so the pages stay contiguous
  // and a turn finished while the socket was down is in them.
  const loadHistory = useCallback(() => void refetchHistory(), [refetchHistory]);
  const loadOlder = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [fetchNextPage, hasNextPage, isFetchingNextPage]);

  const saveEvent = useCallback((event: SaveEvent) => dispatchSave(event), []);

  useEffect(() => {
    if (!historyRead) return;
    const onFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case 'session_status':
          setSessionStatus(frame.status as SessionStatus);
          break;
        case 'message_saved':
          dispatch({ type: 'message_saved', message: frame.message as ChatMessage });
          if ((frame.message as ChatMessage).role === 'user') setAwaitingReply(true);
          setError(null);
          break;
        case 'assistant_delta':
          dispatch({ type: 'assistant_delta', messageId: frame.messageId as string, text: frame.text as string });
          break;
        case 'agent_action':
          dispatch({ type: 'agent_action', messageId: frame.messageId as string, action: frame.action as MessageAction });
          break;
        case 'assistant_complete': {
          const message = frame.message as ChatMessage;
          dispatch({ type: 'assistant_complete', message });
          setAwaitingReply(false);
          if (message.actions.length > 0) dispatchSave({ type: 'turn_complete' });
          break;
        }
        case 'snapshot_created':
          dispatchSave({ type: 'snapshot_created', at: new Date().toISOString() });
          void queryClient.invalidateQueries({ queryKey: ['snapshots', projectId] });
          void queryClient.invalidateQueries({ queryKey: ['files', projectId] });
          break;
        case 'error': {
          const code = String(frame.code ?? 'error');
          const detail = String(frame.detail ?? 'Something went wrong.');
          if (code === 'sync_failed') {
            dispatchSave({ type: 'sync_failed', reason: detail, at: new Date().toISOString() });
            break;
          }
          if (code !== 'cancelled') setAwaitingReply(false);
          setError({ code, detail, retryContent: code === 'busy' || code.startsWith('agent') || code === 'session_failed' ? (lastSent.current ?? undefined) : undefined });
          break;
        }
      }
    };
    const connection = new ChatConnection({
      open: async () => {
        let ticket: string;
        try {
          ticket = (await api.chatTicket(projectId)).ticket;
        } catch (e) {
          if (e instanceof ApiError && (e.status === 404 || e.status === 401)) throw new FatalConnectionError(describeError(e));
          throw new Error(describeError(e));
        }
        const url = new URL(`/api/projects/${encodeURIComponent(projectId)}/chat`, location.href);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        url.searchParams.set('ticket', ticket);
        return new WebSocket(url);
      },
      onFrame,
      onState: setConnection,
      // Frames sent while the socket was down are gone: the stored history has them.
      onReconnected: loadHistory,
    });
    socket.current = connection;
    connection.start();
    return () => connection.stop();
  }, [api, projectId, loadHistory, queryClient, historyRead]);

  const send = useCallback((content: string): boolean => {
    lastSent.current = content;
    setError(null);
    return socket.current?.send({ type: 'user_message', content, clientMessageId: crypto.randomUUID() }) ?? false;
  }, []);

  const cancel = useCallback(() => socket.current?.send({ type: 'cancel' }), []);

  const reportPreviewError = useCallback((message: string, stack?: string) => {
    socket.current?.send({ type: 'preview_error', message: message.slice(0, 8000), stack: stack?.slice(0, 8000) });
  }, []);

  const retryConnection = useCallback(() => socket.current?.retryNow(), []);

  return {
    messages: chat.messages,
    history: { loading: !historyRead, error: history.error, hasOlder: hasNextPage, loadingOlder: isFetchingNextPage },
    reloadHistory: loadHistory,
    loadOlder,
    connection,
    retryConnection,
    sessionStatus,
    setSessionStatus,
    save,
    saveEvent,
    error,
    dismissError: () => setError(null),
    busy: awaitingReply || chat.messages.at(-1)?.status === 'streaming',
    send,
    cancel,
    reportPreviewError,
  };
}

export type ChatModel = ReturnType<typeof useChat>;
