namespace Avtomat.Ec2.Pester.Tests;

/// <summary>Every Pester file tests/*.Tests.ps1 has its test class (PesterFileCases.g.cs is written at build time from
/// the files then present), and no class runs a file that is gone: a file added or removed since the last build fails
/// here until the project is built again.</summary>
public sealed class PesterFileCasesTests
{
    [Fact]
    public void EveryPesterFile_HasExactlyOneTestClass()
    {
        var classes = typeof(PesterFileRunTests).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(PesterFileRunTests)) && !t.IsAbstract)
            .ToList();
        var files = classes
            .Select(t => ((PesterFileRunTests)Activator.CreateInstance(t, new NullOutput())!).PesterFile)
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files);
        Assert.Equal(PesterFileRunTests.PesterFiles(), files);
    }

    private sealed class NullOutput : Xunit.Abstractions.ITestOutputHelper
    {
        public void WriteLine(string message) { }
        public void WriteLine(string format, params object[] args) { }
    }
}
