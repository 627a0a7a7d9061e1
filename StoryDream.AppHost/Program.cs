Console.WriteLine("StoryDream app host: not yet built.");
return 1;
