import { useEffect, useState } from 'react';
import type { SessionInfo } from '../../lib/api/client';
import type { SessionStatus } from '../chat/useChat';

export type PreviewPhase = 'starting' | 'restoring' | 'ready' | 'stopped' | 'failed';

interface Props {
  session: SessionInfo | undefined;
  phase: PreviewPhase;
  reloadKey: number;
  onPreviewError(message: string, stack?: string): void;
}

const PHASE_WORDS: Record<PreviewPhase, string> = {
  starting: 'Starting your session…',
  restoring: 'Restoring your files…',
  ready: 'Ready',
  stopped: 'The session has stopped.',
  failed: 'The session could not start.',
};

/**
 * The session's live preview through the gateway, with its short-lived token on the first load (the gateway swaps it
 * for a cookie). Errors the preview's bridge posts are reported to the agent and shown in the chat.
 */
export function PreviewPane({ session, phase, reloadKey, onPreviewError }: Props) {
  const [errors, setErrors] = useState<string[]>([]);
  const origin = session ? new URL(session.previewUrl).origin : null;

  useEffect(() => {
    if (!origin) return;
    const onMessage = (event: MessageEvent) => {
      if (event.origin !== origin) return;
      const data = event.data as { type?: string; message?: unknown; stack?: unknown } | null;
      if (data?.type !== 'storydream:preview_error' || typeof data.message !== 'string') return;
      setErrors((list) => [...list.slice(-4), data.message as string]);
      onPreviewError(data.message, typeof data.stack === 'string' ? data.stack : undefined);
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [origin, onPreviewError]);

  const src = session ? `${session.previewUrl}${session.previewUrl.includes('?') ? '&' : '?'}sd_token=${encodeURIComponent(session.previewToken)}` : null;
  return (
    <section className="preview" aria-labelledby="preview-heading">
      <div className="preview-bar">
        <h2 id="preview-heading">Preview</h2>
        <span role="status" className={`phase phase-${phase}`} data-phase={phase}>
          {PHASE_WORDS[phase]}
        </span>
      </div>
      {errors.length > 0 && (
        <div role="alert" className="preview-errors">
          <p>The preview reported an error; the agent was told:</p>
          <ul>
            {errors.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
          <button type="button" onClick={() => setErrors([])}>
            Dismiss
          </button>
        </div>
      )}
      {src && phase !== 'stopped' && phase !== 'starting' ? (
        <iframe key={reloadKey} title="Video preview" src={src} className="preview-frame" />
      ) : (
        <div className="preview-placeholder">{PHASE_WORDS[phase]}</div>
      )}
    </section>
  );
}

export function previewPhase(starting: boolean, failed: boolean, restoring: boolean, status: SessionStatus, hasSession: boolean): PreviewPhase {
  if (failed) return 'failed';
  if (restoring) return 'restoring';
  if (starting || status === 'starting') return 'starting';
  if (status === 'stopped' || status === 'stopping') return 'stopped';
  return hasSession ? 'ready' : 'starting';
}
