import { AbsoluteFill, interpolate, useCurrentFrame } from 'remotion';

export const Subtitle = ({ text }: { text: string }) => {
  const frame = useCurrentFrame();
  const opacity = interpolate(frame, [0, 20], [0, 1], { extrapolateRight: 'clamp' });

  return (
    <AbsoluteFill style={{ justifyContent: 'flex-end', alignItems: 'center', paddingBottom: 160 }}>
      <p
        style={{
          margin: 0,
          fontFamily: 'system-ui, sans-serif',
          fontSize: 48,
          color: 'rgba(255, 255, 255, 0.85)',
          opacity,
        }}
      >
        {text}
      </p>
    </AbsoluteFill>
  );
};
