import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the Anthropic Messages API (streaming), so the real Claude Agent SDK and its CLI can run a
 * turn with no network. There is no emulator for this API; like the Kubernetes stand-in, it answers only what a test
 * needs. Script: a prompt containing `WRITE <absolute path>` makes the model Write that file, then answer "Done."
 * once a tool result has come back after that prompt. Requests without tools (Claude Code's side queries) get a
 * short text.
 */
export interface Standin {
  url: string;
  requests: { messages: number; tools: number }[];
  close(): Promise<void>;
}

interface Block {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

interface Message {
  role: string;
  content: string | Block[];
}

function texts(message: Message): string {
  return typeof message.content === 'string' ? message.content : message.content.map((b) => b.text ?? '').join('\n');
}

export async function startStandin(): Promise<Standin> {
  const requests: Standin['requests'] = [];
  let counter = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method !== 'POST' || !url.startsWith('/v1/messages') || url.includes('count_tokens')) {
        const counting = url.includes('count_tokens');
        res.writeHead(counting ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(counting ? { input_tokens: 10 } : { type: 'error', error: { type: 'not_found_error', message: url } }));
        return;
      }
      const request = JSON.parse(body) as { model: string; stream?: boolean; tools?: unknown[]; messages: Message[] };
      const tools = request.tools?.length ?? 0;
      requests.push({ messages: request.messages.length, tools });
      const id = `msg_standin_${++counter}`;
      const blocks: Block[] = [];
      if (tools === 0) {
        blocks.push({ type: 'text', text: 'Side answer.' });
      } else {
        const promptIndex = request.messages.findLastIndex((m) => m.role === 'user' && /WRITE \S+/.test(texts(m)));
        const target = promptIndex >= 0 ? texts(request.messages[promptIndex]!).match(/WRITE (\S+)/)![1]! : undefined;
        const toolUsed = request.messages
          .slice(promptIndex + 1)
          .some((m) => m.role === 'assistant' && typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_use'));
        if (target !== undefined && !toolUsed) {
          blocks.push({ type: 'text', text: 'I will write the file.' });
          blocks.push({ type: 'tool_use', id: `toolu_standin_${counter}`, name: 'Write', input: { file_path: target, content: 'export const Logo = () => null;\n' } });
        } else {
          blocks.push({ type: 'text', text: 'Done. The file is written.' });
        }
      }
      const stop = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
      const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
      if (request.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, type: 'message', role: 'assistant', model: request.model, content: blocks, stop_reason: stop, stop_sequence: null, usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (event: string, data: Record<string, unknown>): void => {
        res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
      };
      send('message_start', { message: { id, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage } });
      blocks.forEach((block, index) => {
        if (block.type === 'text') {
          send('content_block_start', { index, content_block: { type: 'text', text: '' } });
          for (const part of block.text!.match(/.{1,8}/g)!) send('content_block_delta', { index, delta: { type: 'text_delta', text: part } });
        } else {
          send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
          send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
        }
        send('content_block_stop', { index });
      });
      send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } });
      send('message_stop', {});
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
