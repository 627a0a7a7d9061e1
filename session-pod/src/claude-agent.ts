import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { query, type CanUseTool, type Options } from '@anthropic-ai/claude-agent-sdk';
import { AgentTurnError, formatPreviewErrors, type Agent, type TurnInput, type TurnResult, type TurnSink } from './agent.js';
import { ClaudeTurnMapper } from './claude-mapping.js';
import { PodError } from './errors.js';
import { WorkspacePaths, isInside, isMissing, validateRelativePath } from './paths.js';

export const REMOTION_SYSTEM_PROMPT = `You are StoryDream's video agent. The person you talk with is making a video with Remotion (React) and
watches a live preview that reloads by itself after every file change. Work only in the current directory.

What persists: only files under src/ (the video's code), .claude/ (your notes and sessions) and public/ (files the
person uploaded: use them with staticFile('name.png') from 'remotion', never by a path of your own). Anything else you
create is lost when the session ends. Do not touch node_modules/; the packages installed are react, react-dom,
remotion and @remotion/player, and no others can be installed. Do not start servers: the preview already runs.

The project: src/main.tsx mounts src/App.tsx, which plays the composition in src/compositions/MyVideo.tsx through
@remotion/player; its size, fps and length are myVideoConfig in that file. Reusable pieces go in src/components/.
Animate with useCurrentFrame(), interpolate(), spring() and <Sequence>; lay out with <AbsoluteFill>; never use CSS
transitions or timers, because every frame must be a pure function of the frame number.

Make the change the person asks for, keep the code type-correct, and answer briefly in plain language: what you
changed and what they will see. When the preview reports an error, fix its cause first.`;

const EDIT_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ClaudeAgentOptions {
  workspaceDir: string;
  /** Claude Code's own configuration folder; private to the pod, so its settings and caches are never synced. */
  configDir?: string;
  model?: string;
  env?: Record<string, string | undefined>;
}

/**
 * The Claude Agent SDK behind our Agent interface. Session transcripts are kept in the workspace's
 * `.claude/projects/` (Claude Code's config folder links its `projects` folder there), so they sync with the
 * project and a new pod can resume the conversation by agentSessionId.
 */
export class ClaudeAgent implements Agent {
  private readonly paths: WorkspacePaths;
  private readonly configDir: string;

  constructor(private readonly options: ClaudeAgentOptions) {
    this.paths = new WorkspacePaths(options.workspaceDir);
    this.configDir = options.configDir ?? path.join(os.tmpdir(), `storydream-claude-${process.pid}`);
  }

  async runTurn(input: TurnInput, sink: TurnSink, signal: AbortSignal): Promise<TurnResult> {
    await this.linkSessionStore();
    const resume = input.agentSessionId !== undefined && (await this.prepareResume(input.agentSessionId)) ? input.agentSessionId : undefined;
    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const mapper = new ClaudeTurnMapper(this.options.workspaceDir, existsSync);
    try {
      let result: TurnResult | undefined;
      const assets = await listAssets(this.options.workspaceDir);
      for await (const message of query({ prompt: buildPrompt(input, resume !== undefined, assets), options: this.queryOptions(abortController, resume) })) {
        result = mapper.handle(message, sink) ?? result;
      }
      if (signal.aborted) throw new AgentTurnError('cancelled', 'the turn was cancelled');
      if (result === undefined) throw new AgentTurnError('agent_failed', 'the agent stopped without a result');
      return result;
    } catch (error) {
      if (signal.aborted) throw new AgentTurnError('cancelled', 'the turn was cancelled');
      if (error instanceof AgentTurnError) throw error;
      throw new AgentTurnError('agent_failed', (error as Error).message ?? String(error));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  queryOptions(abortController: AbortController, resume: string | undefined): Options {
    const options: Options = {
      abortController,
      cwd: this.options.workspaceDir,
      systemPrompt: { type: 'preset', preset: 'claude_code', append: REMOTION_SYSTEM_PROMPT },
      includePartialMessages: true,
      // No filesystem settings: .claude/settings.json is synced project content the agent itself can write, so
      // loading it would let a session grant itself permissions. Every decision goes through canUseTool.
      settingSources: [],
      permissionMode: 'default',
      canUseTool: this.canUseTool,
      env: {
        ...(this.options.env ?? process.env),
        CLAUDE_CONFIG_DIR: this.configDir,
        CLAUDE_AGENT_SDK_CLIENT_APP: 'storydream-session-pod/0.1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
      },
    };
    if (resume !== undefined) options.resume = resume;
    if (this.options.model !== undefined) options.model = this.options.model;
    return options;
  }

  /** File edits only inside src/ and .claude/ of the workspace; reads and commands are the container's business. */
  readonly canUseTool: CanUseTool = async (toolName, input) => {
    if (!EDIT_TOOLS.has(toolName)) return { behavior: 'allow', updatedInput: input };
    const raw = toolName === 'NotebookEdit' ? input.notebook_path : input.file_path;
    if (typeof raw !== 'string' || raw === '') return { behavior: 'deny', message: `${toolName} needs a file path` };
    const absolute = path.resolve(this.options.workspaceDir, raw);
    if (!isInside(this.options.workspaceDir, absolute)) {
      return { behavior: 'deny', message: `Only files inside the project (src/ and .claude/) can be changed; ${raw} is outside it.` };
    }
    const relative = path.relative(this.options.workspaceDir, absolute).split(path.sep).join('/');
    try {
      validateRelativePath(relative);
      await this.paths.checkParents(relative);
    } catch (error) {
      if (error instanceof PodError) return { behavior: 'deny', message: `${error.message}. Only files under src/ and .claude/ are kept.` };
      throw error;
    }
    return { behavior: 'allow', updatedInput: input };
  };

  /** Claude Code keeps transcripts in {config}/projects/; pointing that at the workspace makes them project files. */
  private async linkSessionStore(): Promise<void> {
    const store = path.join(this.options.workspaceDir, '.claude', 'projects');
    await fs.mkdir(store, { recursive: true });
    await fs.mkdir(this.configDir, { recursive: true });
    const link = path.join(this.configDir, 'projects');
    try {
      if ((await fs.readlink(link)) === store) return;
      await fs.rm(link, { recursive: true, force: true });
    } catch (error) {
      if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      await fs.rm(link, { recursive: true, force: true });
    }
    await fs.symlink(store, link, 'dir');
  }

  /**
   * Transcripts are filed under a folder named after the working directory, which differs between a local
   * pod and a container. A transcript synced from elsewhere is moved to this pod's folder; without one the
   * turn starts a new session and gets the conversation from the init context instead.
   */
  async prepareResume(sessionId: string): Promise<boolean> {
    if (!SESSION_ID.test(sessionId)) return false;
    const store = path.join(this.options.workspaceDir, '.claude', 'projects');
    const here = path.join(store, projectFolderName(this.options.workspaceDir));
    const file = `${sessionId}.jsonl`;
    if (existsSync(path.join(here, file))) return true;
    let folders: string[];
    try {
      folders = await fs.readdir(store);
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    for (const folder of folders) {
      const candidate = path.join(store, folder, file);
      if (existsSync(candidate)) {
        await fs.mkdir(here, { recursive: true });
        // Moved, not copied: both copies would be synced and grow apart.
        await fs.rename(candidate, path.join(here, file));
        return true;
      }
    }
    return false;
  }
}

/** Claude Code's name for a working directory's transcript folder: every character outside [a-zA-Z0-9] becomes '-'. */
export function projectFolderName(cwd: string): string {
  return cwd.replace(/[^a-zA-Z0-9]/g, '-');
}

export function buildPrompt(input: TurnInput, resumed: boolean, assets: readonly string[] = []): string {
  const parts: string[] = [];
  if (!resumed && input.context !== undefined) parts.push(`The conversation so far in this StoryDream project:\n${input.context}`);
  if (assets.length > 0) parts.push(`Uploaded assets in public/ (reach them with staticFile('<name>')):\n${assets.map((a) => `- ${a}`).join('\n')}`);
  const errors = formatPreviewErrors(input.previewErrors);
  if (errors !== '') parts.push(errors);
  if (parts.length === 0) return input.content;
  parts.push(`The person's new message:\n${input.content}`);
  return parts.join('\n\n');
}

/** The files under the workspace's public/ (uploads, issue 17), as staticFile() names them; at most 200, sorted. */
export async function listAssets(workspaceDir: string): Promise<string[]> {
  const root = path.join(workspaceDir, 'public');
  try {
    const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort()
      .slice(0, 200);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}
