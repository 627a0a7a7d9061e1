import { Player } from '@remotion/player';
import { useEffect } from 'react';
import { MyVideo, myVideoConfig } from './compositions/MyVideo';

// The Player catches errors inside the composition; this shows them and passes them on, so the agent can fix them.
const PreviewError = ({ error }: { error: Error }) => {
  useEffect(() => {
    window.dispatchEvent(new CustomEvent('storydream:error', { detail: error }));
  }, [error]);

  return (
    <pre style={{ margin: 24, color: '#ff8a8a', fontSize: 16, whiteSpace: 'pre-wrap' }}>
      {error.name}: {error.message}
    </pre>
  );
};

export const App = () => {
  return (
    <main style={{ position: 'fixed', inset: 0, background: '#0b0b12' }}>
      <Player
        component={MyVideo}
        durationInFrames={myVideoConfig.durationInFrames}
        fps={myVideoConfig.fps}
        compositionWidth={myVideoConfig.width}
        compositionHeight={myVideoConfig.height}
        style={{ width: '100%', height: '100%' }}
        errorFallback={({ error }) => <PreviewError error={error} />}
        controls
        loop
        autoPlay
        initiallyMuted
      />
    </main>
  );
};
