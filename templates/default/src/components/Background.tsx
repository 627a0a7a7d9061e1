import { AbsoluteFill, interpolate, useCurrentFrame, useVideoConfig } from 'remotion';

export const Background = () => {
  const frame = useCurrentFrame();
  const { durationInFrames } = useVideoConfig();
  const hue = interpolate(frame, [0, durationInFrames], [230, 290]);

  return (
    <AbsoluteFill
      style={{
        background: `radial-gradient(circle at 30% 20%, hsl(${hue}, 70%, 35%), hsl(${hue + 40}, 60%, 8%))`,
      }}
    />
  );
};
