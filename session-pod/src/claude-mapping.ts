import path from 'node:path';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { AgentTurnError, type AgentAction, type TurnResult, type TurnSink } from './agent.js';

const EDIT_TOOLS = new Set(['Edit', 'MultiEdit', 'NotebookEdit']);
const MAX_COMMAND_SUMMARY = 200;

interface PendingTool {
  name: string;
  input: Record<string, unknown>;
  existed: boolean;
}

/**
 * Turns the Claude Agent SDK's message stream into our frames: top-level text becomes `assistant_delta`
 * (streamed events when the SDK sends them, whole text blocks otherwise), a Write/Edit/Bash tool use becomes
 * one `action` once its result says it succeeded, and the result message ends the turn.
 * Kept apart from the SDK call so it can be tested with recorded messages.
 */
export class ClaudeTurnMapper {
  sessionId: string | undefined;
  private readonly pending = new Map<string, PendingTool>();
  private readonly streamedMessages = new Set<string>();
  private currentStreamMessage: string | undefined;

  constructor(
    private readonly workspaceDir: string,
    private readonly exists: (absolutePath: string) => boolean,
  ) {}

  /** Returns the turn's result when `message` ends it; throws AgentTurnError when the SDK reports failure. */
  handle(message: SDKMessage, sink: TurnSink): TurnResult | undefined {
    if ('session_id' in message && typeof message.session_id === 'string' && message.session_id !== '') {
      this.sessionId = message.session_id;
    }
    switch (message.type) {
      case 'stream_event': {
        if (message.parent_tool_use_id !== null) return undefined;
        const event = message.event;
        if (event.type === 'message_start') this.currentStreamMessage = event.message.id;
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta' && event.delta.text !== '') {
          if (this.currentStreamMessage !== undefined) this.streamedMessages.add(this.currentStreamMessage);
          sink.delta(event.delta.text);
        }
        return undefined;
      }
      case 'assistant': {
        const topLevel = message.parent_tool_use_id === null;
        const alreadyStreamed = this.streamedMessages.has(message.message.id);
        for (const block of message.message.content) {
          if (block.type === 'text' && topLevel && !alreadyStreamed && block.text !== '') {
            sink.delta(block.text);
          } else if (block.type === 'tool_use') {
            const input = (block.input ?? {}) as Record<string, unknown>;
            const file = this.filePathOf(block.name, input);
            this.pending.set(block.id, { name: block.name, input, existed: file !== undefined && this.exists(file) });
          }
        }
        return undefined;
      }
      case 'user': {
        const content = message.message.content;
        if (typeof content === 'string') return undefined;
        for (const block of content) {
          if (block.type !== 'tool_result') continue;
          const tool = this.pending.get(block.tool_use_id);
          this.pending.delete(block.tool_use_id);
          if (tool === undefined || block.is_error === true) continue;
          const action = this.actionFor(tool);
          if (action !== undefined) sink.action(action);
        }
        return undefined;
      }
      case 'result': {
        const sessionId = message.session_id || this.sessionId;
        if (message.subtype === 'success' && !message.is_error) {
          if (!sessionId) throw new AgentTurnError('agent_failed', 'the agent finished without a session id');
          return { summary: message.result.trim() || 'Done.', agentSessionId: sessionId };
        }
        const detail =
          message.subtype === 'success'
            ? message.result || 'the agent reported an error'
            : message.errors.length > 0
              ? message.errors.join('; ')
              : message.subtype;
        throw new AgentTurnError('agent_failed', detail);
      }
      default:
        return undefined;
    }
  }

  private filePathOf(tool: string, input: Record<string, unknown>): string | undefined {
    const raw = tool === 'NotebookEdit' ? input.notebook_path : input.file_path;
    if (typeof raw !== 'string' || raw === '') return undefined;
    return path.resolve(this.workspaceDir, raw);
  }

  private actionFor(tool: PendingTool): AgentAction | undefined {
    if (tool.name === 'Bash') {
      const description = typeof tool.input.description === 'string' ? tool.input.description.trim() : '';
      const command = typeof tool.input.command === 'string' ? tool.input.command : '';
      const summary = description || `Ran ${command.length > MAX_COMMAND_SUMMARY ? `${command.slice(0, MAX_COMMAND_SUMMARY)}…` : command}`;
      return { type: 'command_run', summary };
    }
    if (tool.name !== 'Write' && !EDIT_TOOLS.has(tool.name)) return undefined;
    const absolute = this.filePathOf(tool.name, tool.input);
    if (absolute === undefined) return undefined;
    const relative = path.relative(this.workspaceDir, absolute).split(path.sep).join('/');
    const inside = !relative.startsWith('..') && !path.isAbsolute(relative);
    const shown = inside ? relative : absolute;
    const created = tool.name === 'Write' && !tool.existed;
    const action: AgentAction = { type: created ? 'file_create' : 'file_edit', summary: `${created ? 'Created' : 'Edited'} ${shown}` };
    if (inside) action.filePath = relative;
    return action;
  }
}
