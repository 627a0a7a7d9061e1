import { Player, type PlayerRef } from '@remotion/player';
import { useEffect, useRef } from 'react';
import { MyVideo, myVideoConfig } from './compositions/MyVideo';

export const App = () => {
  const player = useRef<PlayerRef>(null);

  // Errors inside the composition are caught by the Player; passing them on lets the agent see and fix them.
  useEffect(() => {
    const current = player.current;
    if (current === null) return;
    const onError = (event: { detail: { error: Error } }) => {
      window.dispatchEvent(new CustomEvent('storydream:error', { detail: event.detail.error }));
    };
    current.addEventListener('error', onError);
    return () => current.removeEventListener('error', onError);
  }, []);

  return (
    <main
      style={{
        minHeight: '100vh',
        margin: 0,
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
        background: '#0b0b12',
      }}
    >
      <Player
        ref={player}
        component={MyVideo}
        durationInFrames={myVideoConfig.durationInFrames}
        fps={myVideoConfig.fps}
        compositionWidth={myVideoConfig.width}
        compositionHeight={myVideoConfig.height}
        style={{ width: '100%', maxWidth: 1280, aspectRatio: `${myVideoConfig.width} / ${myVideoConfig.height}` }}
        controls
        loop
        autoPlay
        initiallyMuted
      />
    </main>
  );
};
