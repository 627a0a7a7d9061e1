import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgentTurnError, type Agent, type AgentAction, type TurnInput, type TurnResult, type TurnSink } from './agent.js';
import { PodError } from './errors.js';
import { WorkspacePaths, isMissing, validateRelativePath } from './paths.js';

/**
 * The deterministic offline agent (`STORYDREAM_AGENT=scripted`). Each line of a user message is one instruction:
 *
 *   create PATH with TEXT     write TEXT to PATH (file_create, or file_edit when it existed)
 *   append to PATH: TEXT      append TEXT and a newline (file_edit, or file_create)
 *   delete PATH               remove PATH (file_delete); a missing file fails the turn
 *   set title to TEXT         rewrite `const title = "..."` in src/compositions/MyVideo.tsx (file_edit)
 *   run COMMAND               run COMMAND with sh in the workspace, 30 s limit (command_run)
 *   [slow 200ms]              wait that long before each following step (cancel stops the wait)
 *   [fail]                    fail the turn here with error agent_failed
 *   [crash]                   exit the whole process here, mid-turn (for crash-recovery tests)
 *
 * TEXT understands \n, \t and \\. Any other line is chat and is answered, not acted on.
 * Turns are recorded in `.claude/scripted/{agentSessionId}.jsonl`, so a session resumes after a sync like Claude's.
 */

export type Instruction =
  | { kind: 'create'; path: string; text: string }
  | { kind: 'append'; path: string; text: string }
  | { kind: 'delete'; path: string }
  | { kind: 'set-title'; title: string }
  | { kind: 'run'; command: string }
  | { kind: 'slow'; ms: number }
  | { kind: 'fail' }
  | { kind: 'crash' }
  | { kind: 'chat'; text: string };

export const TITLE_FILE = 'src/compositions/MyVideo.tsx';
const TITLE_LINE = /^(\s*(?:export\s+)?const\s+title\s*=\s*)(["'`])(?:\\.|(?!\2)[^\\])*\2(\s*;?)/m;
const MAX_SLOW_MS = 60_000;
const COMMAND_TIMEOUT_MS = 30_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function unescapeText(text: string): string {
  return text.replace(/\\(n|t|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

export function parseScript(content: string): Instruction[] {
  const instructions: Instruction[] = [];
  for (const raw of content.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^\[slow\s+(\d+)\s*(ms)?\]$/i))) {
      instructions.push({ kind: 'slow', ms: Math.min(Number(m[1]), MAX_SLOW_MS) });
    } else if (/^\[fail\]$/i.test(line)) {
      instructions.push({ kind: 'fail' });
    } else if (/^\[crash\]$/i.test(line)) {
      instructions.push({ kind: 'crash' });
    } else if ((m = line.match(/^create\s+(\S+)\s+with\s(.*)$/is))) {
      instructions.push({ kind: 'create', path: m[1]!, text: unescapeText(m[2]!) });
    } else if ((m = line.match(/^append\s+to\s+(\S+?):\s?(.*)$/is))) {
      instructions.push({ kind: 'append', path: m[1]!, text: unescapeText(m[2]!) });
    } else if ((m = line.match(/^delete\s+(\S+)$/i))) {
      instructions.push({ kind: 'delete', path: m[1]! });
    } else if ((m = line.match(/^set\s+title\s+to\s+(.+)$/i))) {
      instructions.push({ kind: 'set-title', title: unquote(m[1]!.trim()) });
    } else if ((m = line.match(/^run\s+(.+)$/i))) {
      instructions.push({ kind: 'run', command: m[1]! });
    } else {
      instructions.push({ kind: 'chat', text: line });
    }
  }
  return instructions;
}

function unquote(text: string): string {
  const quoted = text.match(/^(["'])(.*)\1$/);
  return quoted ? quoted[2]! : text;
}

export interface ScriptedAgentOptions {
  /** What `[crash]` does; the process exits by default, tests running in-process pass their own. */
  crash?: () => never;
}

export class ScriptedAgent implements Agent {
  private readonly paths: WorkspacePaths;
  private readonly crash: () => never;

  constructor(
    private readonly workspaceDir: string,
    options: ScriptedAgentOptions = {},
  ) {
    this.paths = new WorkspacePaths(workspaceDir);
    this.crash =
      options.crash ??
      (() => {
        process.stderr.write('scripted agent: [crash] requested, exiting mid-turn\n');
        process.exit(70);
      });
  }

  async runTurn(input: TurnInput, sink: TurnSink, signal: AbortSignal): Promise<TurnResult> {
    const session = await this.openSession(input.agentSessionId);
    const instructions = parseScript(input.content);
    let delayMs = 0;
    const step = async (): Promise<void> => {
      if (delayMs > 0) await sleep(delayMs, signal);
      if (signal.aborted) throw new AgentTurnError('cancelled', 'the turn was cancelled');
    };
    const done: string[] = [];

    await step();
    sink.delta(session.turn === 1 ? 'Starting a new session. ' : `Continuing our session (turn ${session.turn}). `);
    if (input.context && session.turn === 1) {
      await step();
      sink.delta('I have read the earlier conversation. ');
    }
    for (const error of input.previewErrors) {
      await step();
      sink.delta(`The preview reported: ${error.message}. `);
    }
    if (instructions.length === 0) {
      await step();
      sink.delta('There was nothing to do.');
    }

    for (const instruction of instructions) {
      if (instruction.kind === 'slow') {
        delayMs = instruction.ms;
        continue;
      }
      await step();
      switch (instruction.kind) {
        case 'fail':
          throw new AgentTurnError('agent_failed', 'scripted failure requested by [fail]');
        case 'crash':
          return this.crash();
        case 'chat':
          sink.delta(`You said: ${instruction.text}. `);
          break;
        default: {
          const action = await this.perform(instruction);
          sink.action(action);
          await step();
          sink.delta(`${action.summary}. `);
          done.push(action.summary);
        }
      }
    }
    const summary =
      (done.length === 0 ? 'No files changed.' : `${done.join('; ')}.`) +
      (input.previewErrors.length > 0 ? ` Saw ${input.previewErrors.length} preview error(s).` : '');
    await fs.appendFile(session.file, `${JSON.stringify({ turn: session.turn, content: input.content, summary })}\n`);
    return { summary, agentSessionId: session.id };
  }

  private async openSession(requested: string | undefined): Promise<{ id: string; file: string; turn: number }> {
    const dir = path.join(this.workspaceDir, '.claude', 'scripted');
    await fs.mkdir(dir, { recursive: true });
    if (requested !== undefined && UUID.test(requested)) {
      const file = path.join(dir, `${requested}.jsonl`);
      try {
        const previous = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l !== '').length;
        return { id: requested, file, turn: previous + 1 };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    const id = randomUUID();
    return { id, file: path.join(dir, `${id}.jsonl`), turn: 1 };
  }

  private async perform(instruction: Exclude<Instruction, { kind: 'slow' | 'fail' | 'crash' | 'chat' }>): Promise<AgentAction> {
    try {
      switch (instruction.kind) {
        case 'create': {
          const target = await this.target(instruction.path);
          const existed = await exists(target);
          await writeAtomically(target, instruction.text);
          return {
            type: existed ? 'file_edit' : 'file_create',
            filePath: instruction.path,
            summary: `${existed ? 'Rewrote' : 'Created'} ${instruction.path}`,
          };
        }
        case 'append': {
          const target = await this.target(instruction.path);
          const existed = await exists(target);
          const before = existed ? await fs.readFile(target, 'utf8') : '';
          await writeAtomically(target, `${before}${instruction.text}\n`);
          return { type: existed ? 'file_edit' : 'file_create', filePath: instruction.path, summary: `Appended to ${instruction.path}` };
        }
        case 'delete': {
          const target = await this.target(instruction.path);
          if (!(await exists(target))) throw new AgentTurnError('agent_failed', `delete ${instruction.path}: no such file`);
          await fs.unlink(target);
          return { type: 'file_delete', filePath: instruction.path, summary: `Deleted ${instruction.path}` };
        }
        case 'set-title': {
          const target = await this.target(TITLE_FILE);
          let source: string;
          try {
            source = await fs.readFile(target, 'utf8');
          } catch (error) {
            if (isMissing(error)) throw new AgentTurnError('agent_failed', `set title: ${TITLE_FILE} does not exist`);
            throw error;
          }
          if (!TITLE_LINE.test(source)) {
            throw new AgentTurnError('agent_failed', `set title: no \`const title = "..."\` line in ${TITLE_FILE}`);
          }
          await writeAtomically(target, source.replace(TITLE_LINE, (_m, head: string, _q, tail: string) => `${head}${JSON.stringify(instruction.title)}${tail}`));
          return { type: 'file_edit', filePath: TITLE_FILE, summary: `Set the title to "${instruction.title}"` };
        }
        case 'run': {
          const code = await runCommand(instruction.command, this.workspaceDir);
          return { type: 'command_run', summary: `Ran \`${instruction.command}\` (exit ${code})` };
        }
      }
    } catch (error) {
      if (error instanceof PodError) throw new AgentTurnError('agent_failed', error.message);
      throw error;
    }
  }

  private async target(relative: string): Promise<string> {
    return this.paths.checkParents(validateRelativePath(relative));
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** Write-then-rename, so the Vite watcher never compiles half a file. */
async function writeAtomically(target: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
  await fs.writeFile(temp, text);
  await fs.rename(temp, target);
}

function runCommand(command: string, cwd: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, timeout: COMMAND_TIMEOUT_MS }, (error) => {
      resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : 1);
    });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
