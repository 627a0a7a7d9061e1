// Runs in the preview page before the composition. The preview lives in an iframe of the StoryDream app, which
// forwards these messages to the chat as `preview_error` frames so the agent sees what broke.
const post = (message, stack) => {
  if (window.parent === window) return;
  window.parent.postMessage(
    { type: 'storydream:preview_error', message: String(message), stack: stack ? String(stack) : undefined },
    '*',
  );
};

window.addEventListener('error', (event) => post(event.message, event.error?.stack));
window.addEventListener('unhandledrejection', (event) => post(event.reason?.message ?? String(event.reason), event.reason?.stack));
// The template's App dispatches this for errors the Remotion Player catches itself.
window.addEventListener('storydream:error', (event) => post(event.detail?.message ?? String(event.detail), event.detail?.stack));

if (import.meta.hot) {
  import.meta.hot.on('vite:error', (payload) => {
    const err = payload.err ?? {};
    post(err.message, [err.id, err.loc ? `line ${err.loc.line}:${err.loc.column}` : '', err.frame, err.stack].filter(Boolean).join('\n'));
  });
}
