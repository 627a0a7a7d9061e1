import { AbsoluteFill, spring, useCurrentFrame, useVideoConfig } from 'remotion';

export const Title = ({ text }: { text: string }) => {
  const frame = useCurrentFrame();
  const { fps } = useVideoConfig();
  const entrance = spring({ frame, fps, config: { damping: 200 } });

  return (
    <AbsoluteFill style={{ justifyContent: 'center', alignItems: 'center' }}>
      <h1
        style={{
          margin: 0,
          padding: '0 120px',
          textAlign: 'center',
          fontFamily: 'system-ui, sans-serif',
          fontSize: 120,
          fontWeight: 800,
          color: 'white',
          opacity: entrance,
          transform: `translateY(${(1 - entrance) * 60}px)`,
        }}
      >
        {text}
      </h1>
    </AbsoluteFill>
  );
};
