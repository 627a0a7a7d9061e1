/** What the agents behind `:3001` share, so the WebSocket protocol does not care which one runs. */

export type ActionType = 'file_edit' | 'file_create' | 'file_delete' | 'command_run';

export interface AgentAction {
  type: ActionType;
  filePath?: string;
  summary: string;
}

export interface PreviewError {
  message: string;
  stack?: string;
}

export interface TurnInput {
  content: string;
  /** The conversation so far as the API gave it in `init`; agents use it when they cannot resume their own session. */
  context: string | undefined;
  /** Preview errors reported since the last turn began, oldest first. */
  previewErrors: PreviewError[];
  agentSessionId: string | undefined;
}

export interface TurnSink {
  delta(text: string): void;
  action(action: AgentAction): void;
}

export interface TurnResult {
  summary: string;
  agentSessionId: string;
}

export interface Agent {
  /** Runs one turn. Rejects with AgentTurnError on failure; must stop promptly when `signal` aborts. */
  runTurn(input: TurnInput, sink: TurnSink, signal: AbortSignal): Promise<TurnResult>;
}

export class AgentTurnError extends Error {
  constructor(
    readonly code: 'agent_failed' | 'cancelled',
    detail: string,
  ) {
    super(detail);
  }
}

export function formatPreviewErrors(errors: PreviewError[]): string {
  if (errors.length === 0) return '';
  const lines = errors.map((e, i) => `${i + 1}. ${e.message}${e.stack ? `\n${e.stack}` : ''}`);
  return `The live preview reported ${errors.length === 1 ? 'an error' : 'errors'} since your last turn:\n${lines.join('\n')}`;
}
