using StoryDream.AppHost.Hosting;

namespace StoryDream.Tests.AppHost;

public sealed class AppHostOptionsTests
{
    [Fact]
    public void Parse_NoArguments_UsesDefaultPorts()
    {
        var options = AppHostOptions.Parse([], _ => null);

        Assert.False(options.Publish);
        Assert.Equal(AppHostOptions.DefaultGatewayPort, options.GatewayPort);
        Assert.Equal(AppHostOptions.DefaultDashboardPort, options.DashboardPort);
        Assert.True(options.RunSetup);
    }

    [Fact]
    public void Parse_ArgumentAndEnvironment_ArgumentWins()
    {
        var environment = new Dictionary<string, string> { ["STORYDREAM_GATEWAY_PORT"] = "6000", ["STORYDREAM_DASHBOARD_PORT"] = "6001" };

        var options = AppHostOptions.Parse(["--gateway-port", "7000", "--no-setup"], environment.GetValueOrDefault);

        Assert.Equal(7000, options.GatewayPort);
        Assert.Equal(6001, options.DashboardPort);
        Assert.False(options.RunSetup);
    }

    [Theory]
    [InlineData("--gateway-port", "0")]
    [InlineData("--gateway-port", "65536")]
    [InlineData("--dashboard-port", "-5")]
    [InlineData("--dashboard-port", "http")]
    public void Parse_BadPort_NamesTheOption(string option, string value)
    {
        var error = Assert.Throws<ArgumentException>(() => AppHostOptions.Parse([option, value], _ => null));
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownArgument_ShowsUsage()
    {
        var error = Assert.Throws<ArgumentException>(() => AppHostOptions.Parse(["--frobnicate"], _ => null));
        Assert.Contains("Usage:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SamePortTwice_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => AppHostOptions.Parse(["--gateway-port", "7000", "--dashboard-port", "7000"], _ => null));
    }

    [Fact]
    public void Parse_Publish_TakesTheOutputFolder()
    {
        var options = AppHostOptions.Parse(["publish", "--output", "deploy/k8s"], _ => null);

        Assert.True(options.Publish);
        Assert.Equal("deploy/k8s", options.PublishOutput);
    }
}
