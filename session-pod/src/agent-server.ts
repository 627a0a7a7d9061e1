import http from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AgentTurnError, type Agent, type AgentAction, type PreviewError } from './agent.js';
import { sendJson, sendProblem } from './http.js';
import { unauthorized, type PodIdentity } from './identity.js';

/**
 * The `:3001` agent WebSocket of DESIGN section 5. Frames in: `init`, `user_message`, `preview_error`, `cancel`.
 * Frames out: `assistant_delta`, `action`, `turn_complete`, `error`. Every turn ends with exactly one
 * `turn_complete`, or one `error` whose code is `agent_failed` or `cancelled`; other error codes answer a bad
 * frame and leave any running turn alone.
 */

export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const MAX_MESSAGE_CHARS = 100_000;
const MAX_PENDING_PREVIEW_ERRORS = 10;
const MAX_PREVIEW_MESSAGE_CHARS = 4_000;
const MAX_PREVIEW_STACK_CHARS = 16_000;

interface Connection {
  socket: WebSocket;
  initialized: boolean;
  projectId?: string;
  agentSessionId?: string;
  context?: string;
  previewErrors: PreviewError[];
}

interface RunningTurn {
  connection: Connection;
  abort: AbortController;
  done: Promise<void>;
}

export class AgentServer {
  readonly http: http.Server;
  private readonly wss: WebSocketServer;
  // One turn at a time for the whole pod: every connection edits the same workspace.
  private running: RunningTurn | undefined;

  constructor(
    private readonly agent: Agent,
    private readonly identity: PodIdentity,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    this.http = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://pod');
      if (req.method === 'GET' && url.pathname === '/health') sendJson(res, 200, this.identity.health(url, { busy: this.running !== undefined }));
      else if (!this.identity.authorized(req)) sendProblem(res, unauthorized(), true);
      else sendJson(res, 404, { error: 'the agent speaks WebSocket on GET /agent' });
    });
    this.http.on('upgrade', (req, socket, head) => {
      // Checked before the handshake: a connection without the pod secret never becomes a WebSocket.
      if (!this.identity.authorized(req)) {
        this.log('agent: a connection without a valid pod secret was refused');
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (new URL(req.url ?? '/', 'http://pod').pathname !== '/agent') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  /** Cancels a running turn and waits for it to finish, for a clean shutdown. */
  async stop(): Promise<void> {
    const running = this.running;
    if (running !== undefined) {
      running.abort.abort();
      await running.done;
    }
    for (const client of this.wss.clients) client.close(1001, 'pod shutting down');
    this.wss.close();
  }

  private accept(socket: WebSocket): void {
    const connection: Connection = { socket, initialized: false, previewErrors: [] };
    socket.on('message', (data, isBinary) => this.onFrame(connection, data, isBinary));
    socket.on('close', () => {
      if (this.running?.connection === connection) this.running.abort.abort();
    });
    socket.on('error', (error) => this.log(`agent socket error: ${error.message}`));
  }

  private onFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.sendError(connection, 'bad_frame', 'frames are JSON text');
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      this.sendError(connection, 'bad_frame', 'the frame is not valid JSON');
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
      this.sendError(connection, 'bad_frame', 'a frame is a JSON object with a string "type"');
      return;
    }
    const f = frame as Record<string, unknown>;
    switch (f.type) {
      case 'init':
        this.onInit(connection, f);
        return;
      case 'user_message':
        this.onUserMessage(connection, f);
        return;
      case 'preview_error':
        this.onPreviewError(connection, f);
        return;
      case 'cancel':
        if (this.running?.connection === connection) this.running.abort.abort();
        return;
      default:
        this.sendError(connection, 'unknown_type', `unknown frame type ${JSON.stringify(String(f.type)).slice(0, 80)}`);
    }
  }

  private onInit(connection: Connection, f: Record<string, unknown>): void {
    if (connection.initialized) {
      this.sendError(connection, 'already_initialized', 'init is sent once per connection');
      return;
    }
    if (typeof f.projectId !== 'string' || f.projectId === '') {
      this.sendError(connection, 'bad_frame', 'init needs a string projectId');
      return;
    }
    if (f.agentSessionId !== undefined && f.agentSessionId !== null && typeof f.agentSessionId !== 'string') {
      this.sendError(connection, 'bad_frame', 'init.agentSessionId must be a string when given');
      return;
    }
    let context: string | undefined;
    try {
      context = formatContext(f.context);
    } catch (error) {
      this.sendError(connection, 'bad_frame', (error as Error).message);
      return;
    }
    connection.initialized = true;
    connection.projectId = f.projectId;
    if (typeof f.agentSessionId === 'string' && f.agentSessionId !== '') connection.agentSessionId = f.agentSessionId;
    if (context !== undefined) connection.context = context;
  }

  private onUserMessage(connection: Connection, f: Record<string, unknown>): void {
    if (!connection.initialized) {
      this.sendError(connection, 'not_initialized', 'send init before user_message');
      return;
    }
    if (typeof f.id !== 'string' || f.id === '') {
      this.sendError(connection, 'bad_frame', 'user_message needs a string id');
      return;
    }
    if (typeof f.content !== 'string' || f.content.trim() === '') {
      this.sendError(connection, 'bad_frame', 'user_message needs non-empty string content');
      return;
    }
    if (f.content.length > MAX_MESSAGE_CHARS) {
      this.sendError(connection, 'bad_frame', `user_message content is over ${MAX_MESSAGE_CHARS} characters`);
      return;
    }
    if (this.running !== undefined) {
      this.sendError(connection, 'busy', 'a turn is already running; wait for turn_complete or send cancel');
      return;
    }
    const abort = new AbortController();
    const turn: RunningTurn = { connection, abort, done: Promise.resolve() };
    this.running = turn;
    turn.done = this.runTurn(connection, f.content, abort).finally(() => {
      if (this.running === turn) this.running = undefined;
    });
  }

  private onPreviewError(connection: Connection, f: Record<string, unknown>): void {
    if (typeof f.message !== 'string' || f.message === '') {
      this.sendError(connection, 'bad_frame', 'preview_error needs a string message');
      return;
    }
    if (f.stack !== undefined && f.stack !== null && typeof f.stack !== 'string') {
      this.sendError(connection, 'bad_frame', 'preview_error.stack must be a string when given');
      return;
    }
    const error: PreviewError = { message: f.message.slice(0, MAX_PREVIEW_MESSAGE_CHARS) };
    if (typeof f.stack === 'string' && f.stack !== '') error.stack = f.stack.slice(0, MAX_PREVIEW_STACK_CHARS);
    // A broken preview repeats the same error on every reload; the agent needs it once.
    if (connection.previewErrors.some((e) => e.message === error.message && e.stack === error.stack)) return;
    connection.previewErrors.push(error);
    if (connection.previewErrors.length > MAX_PENDING_PREVIEW_ERRORS) connection.previewErrors.shift();
  }

  private async runTurn(connection: Connection, content: string, abort: AbortController): Promise<void> {
    const actions: AgentAction[] = [];
    const live = (): boolean => !abort.signal.aborted;
    const previewErrors = connection.previewErrors.splice(0);
    try {
      const result = await this.agent.runTurn(
        { content, context: connection.context, previewErrors, agentSessionId: connection.agentSessionId },
        {
          delta: (text) => {
            if (live() && text !== '') this.send(connection, { type: 'assistant_delta', text });
          },
          action: (action) => {
            if (!live()) return;
            actions.push(action);
            // Nested: a flat frame would need two different `type` fields (DESIGN writes `action {type, filePath?, summary}`).
            this.send(connection, { type: 'action', action });
          },
        },
        abort.signal,
      );
      if (abort.signal.aborted) throw new AgentTurnError('cancelled', 'the turn was cancelled');
      connection.agentSessionId = result.agentSessionId;
      this.send(connection, { type: 'turn_complete', summary: result.summary, actions, agentSessionId: result.agentSessionId });
    } catch (error) {
      if (abort.signal.aborted) {
        this.sendError(connection, 'cancelled', 'the turn was cancelled');
      } else if (error instanceof AgentTurnError) {
        this.sendError(connection, error.code, error.message);
      } else {
        this.log(`agent turn failed: ${(error as Error).stack ?? String(error)}`);
        this.sendError(connection, 'agent_failed', (error as Error).message ?? String(error));
      }
    }
  }

  private sendError(connection: Connection, code: string, detail: string): void {
    this.send(connection, { type: 'error', code, detail });
  }

  private send(connection: Connection, frame: Record<string, unknown>): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  }
}

/**
 * The API sends the conversation either as text or as `{summary?, messages: [{role, content}]}` (DESIGN section 4:
 * everything up to 30 messages, else the stored summary and the last 10). Agents get it as one block of text.
 */
export function formatContext(context: unknown): string | undefined {
  if (context === undefined || context === null) return undefined;
  if (typeof context === 'string') return context.trim() === '' ? undefined : context;
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new Error('init.context must be a string or an object {summary?, messages?}');
  }
  const { summary, messages } = context as { summary?: unknown; messages?: unknown };
  const parts: string[] = [];
  if (summary !== undefined && summary !== null) {
    if (typeof summary !== 'string') throw new Error('init.context.summary must be a string');
    if (summary.trim() !== '') parts.push(`Summary of the earlier conversation:\n${summary}`);
  }
  if (messages !== undefined && messages !== null) {
    if (!Array.isArray(messages)) throw new Error('init.context.messages must be an array');
    const lines = messages.map((m: unknown, i) => {
      const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
      if (typeof role !== 'string' || typeof content !== 'string') {
        throw new Error(`init.context.messages[${i}] needs string role and content`);
      }
      return `${role}: ${content}`;
    });
    if (lines.length > 0) parts.push(`Recent messages, oldest first:\n${lines.join('\n\n')}`);
  }
  return parts.length === 0 ? undefined : parts.join('\n\n');
}
