import { useInfiniteQuery, useMutation, usePrefetchInfiniteQuery, usePrefetchQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorBoundary } from '../../components/ErrorBoundary';
import { PageTitle } from '../../components/PageTitle';
import { ProblemMessage } from '../../components/ProblemMessage';
import { ApiError } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';
import { formatTime } from '../../lib/format';
import { ChatPane } from '../chat/ChatPane';
import { historyQuery, useChat, type ChatModel } from '../chat/useChat';
import { PreviewPane, previewPhase } from '../preview/PreviewPane';
import { NotFoundPage } from '../../components/NotFoundPage';
import { describeSave } from './saveStatus';

// Diffs and highlighting load with their panels, not with the first page.
const VersionsPanel = lazy(() => import('../versions/VersionsPanel'));
const FilesPanel = lazy(() => import('../files/FilesPanel'));
const AssetsPanel = lazy(() => import('../assets/AssetsPanel'));
const ExportsPanel = lazy(() => import('../exports/ExportsPanel'));

type Tab = 'preview' | 'versions' | 'files' | 'assets' | 'export';
const TABS: { id: Tab; label: string }[] = [
  { id: 'preview', label: 'Preview' },
  { id: 'versions', label: 'Versions' },
  { id: 'files', label: 'Files' },
  { id: 'assets', label: 'Assets' },
  { id: 'export', label: 'Export' },
];

export function StudioPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const projectQuery = { queryKey: ['project', id], queryFn: () => api.getProject(id) };
  // The project and the history's first page are what opening a project waits for: both reads start while this page
  // first renders, side by side (the messages route checks ownership itself), not after it commits.
  usePrefetchQuery(projectQuery);
  usePrefetchInfiniteQuery(historyQuery(api, id));
  const project = useQuery(projectQuery);
  // The chat takes the history from the cache. Observed here only to keep it cached until then: this page never
  // re-renders for it.
  useInfiniteQuery({ ...historyQuery(api, id), notifyOnChangeProps: [] });
  if (project.isError && project.error instanceof ApiError && project.error.status === 404) return <NotFoundPage />;
  if (project.isError) {
    return (
      <main>
        <PageTitle>Project</PageTitle>
        <ProblemMessage error={project.error} onRetry={() => void project.refetch()} />
      </main>
    );
  }
  if (project.isPending) {
    return (
      <main>
        <p aria-live="polite">Opening the project…</p>
      </main>
    );
  }
  return <Studio key={id} projectId={id} name={project.data.name} />;
}

function Studio({ projectId, name }: { projectId: string; name: string }) {
  const api = useApi();
  const client = useQueryClient();
  const chat = useChat(projectId);
  const [tab, setTab] = useState<Tab>('preview');
  const [restoring, setRestoring] = useState(false);
  const [reloadKey, setReloadKey] = useState(0);
  const session = useMutation({ mutationFn: () => api.startSession(projectId), onSuccess: () => chat.setSessionStatus('ready') });
  // The session, the versions and the chat socket (useChat) start once the conversation's first page is in (or
  // failed): the conversation is what the person reads first, and a pod's start is the heaviest work of opening a project.
  const historyRead = !chat.history.loading;
  const snapshots = useQuery({ queryKey: ['snapshots', projectId], queryFn: () => api.snapshots(projectId), enabled: historyRead });
  const { saveEvent } = chat;

  const startSession = session.mutate;
  useEffect(() => {
    if (historyRead) startSession();
  }, [historyRead, startSession]);
  const head = snapshots.data?.items[0]?.createdAt;
  useEffect(() => {
    if (head) saveEvent({ type: 'head', createdAt: head });
  }, [head, saveEvent]);

  const phase = previewPhase(session.isPending || session.isIdle, session.isError, restoring, chat.sessionStatus, session.data !== undefined);
  const onRestoreStarted = useCallback(() => {
    setRestoring(true);
    saveEvent({ type: 'restore_started' });
  }, [saveEvent]);
  const onRestored = useCallback(() => {
    setRestoring(false);
    setReloadKey((k) => k + 1);
    void client.invalidateQueries({ queryKey: ['snapshots', projectId] }).then(() => {
      const newest = client.getQueryData<{ items: { createdAt: string }[] }>(['snapshots', projectId])?.items[0];
      if (newest) saveEvent({ type: 'snapshot_created', at: newest.createdAt });
    });
  }, [client, projectId, saveEvent]);

  return (
    <main className="studio">
      <header className="studio-bar">
        <Link to="/">← Projects</Link>
        <PageTitle title={name}>{name}</PageTitle>
        <SaveIndicator chat={chat} />
        <SessionIndicator status={chat.sessionStatus} starting={session.isPending || session.isIdle} onResume={() => startSession()} />
      </header>
      {session.isError && <ProblemMessage error={session.error} onRetry={() => startSession()} />}
      <div className="studio-body">
        <ErrorBoundary area="the chat">
          <ChatPane chat={chat} />
        </ErrorBoundary>
        <section className="side" aria-label="Preview, versions, files, assets and export">
          <div role="tablist" aria-label="Panels" className="tabs">
            {TABS.map((t) => (
              <button
                key={t.id}
                role="tab"
                id={`tab-${t.id}`}
                aria-selected={tab === t.id}
                aria-controls={`panel-${t.id}`}
                tabIndex={tab === t.id ? 0 : -1}
                onClick={() => setTab(t.id)}
                onKeyDown={(e) => {
                  const i = TABS.findIndex((x) => x.id === tab);
                  const next = e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length] : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length] : null;
                  if (next) {
                    setTab(next.id);
                    document.getElementById(`tab-${next.id}`)?.focus();
                  }
                }}
              >
                {t.label}
              </button>
            ))}
          </div>
          {/* The preview stays mounted behind the other tabs, so switching does not reload it. */}
          <div role="tabpanel" id="panel-preview" aria-labelledby="tab-preview" hidden={tab !== 'preview'} className="panel">
            <ErrorBoundary area="the preview">
              <PreviewPane session={session.data} phase={phase} reloadKey={reloadKey} onPreviewError={chat.reportPreviewError} />
            </ErrorBoundary>
          </div>
          {tab !== 'preview' && (
            <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="panel">
              <ErrorBoundary area={`the ${tab} panel`}>
                <Suspense fallback={<p aria-live="polite">Loading…</p>}>
                  {tab === 'versions' && <VersionsPanel projectId={projectId} onRestoreStarted={onRestoreStarted} onRestored={onRestored} />}
                  {tab === 'files' && <FilesPanel projectId={projectId} />}
                  {tab === 'assets' && <AssetsPanel projectId={projectId} />}
                  {tab === 'export' && <ExportsPanel projectId={projectId} />}
                </Suspense>
              </ErrorBoundary>
            </div>
          )}
        </section>
      </div>
    </main>
  );
}

function SaveIndicator({ chat }: { chat: ChatModel }) {
  return (
    <p role="status" className={`save save-${chat.save.kind}`} data-save={chat.save.kind}>
      {describeSave(chat.save, formatTime)}
    </p>
  );
}

function SessionIndicator({ status, starting, onResume }: { status: string; starting: boolean; onResume(): void }) {
  if (status === 'restoring') return <p className="session">Session restoring your files…</p>;
  if (starting) return <p className="session">Session starting…</p>;
  if (status === 'stopped') {
    return (
      <p className="session">
        Session stopped after a while without use.{' '}
        <button type="button" onClick={onResume}>
          Resume
        </button>
      </p>
    );
  }
  return <p className="session">Session {status === 'unknown' ? 'connecting' : status}</p>;
}
