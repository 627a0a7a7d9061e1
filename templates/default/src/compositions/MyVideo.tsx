import { AbsoluteFill, Sequence } from 'remotion';
import { Background } from '../components/Background';
import { Subtitle } from '../components/Subtitle';
import { Title } from '../components/Title';

// The words on screen: ask the agent to change them, or edit them here.
const title = "Your story starts here";
const subtitle = "Describe the video you want, and watch it take shape.";

export const myVideoConfig = {
  width: 1920,
  height: 1080,
  fps: 30,
  durationInFrames: 150,
};

export const MyVideo = () => {
  return (
    <AbsoluteFill>
      <Background />
      <Sequence from={0} layout="none">
        <Title text={title} />
      </Sequence>
      <Sequence from={30} layout="none">
        <Subtitle text={subtitle} />
      </Sequence>
    </AbsoluteFill>
  );
};
