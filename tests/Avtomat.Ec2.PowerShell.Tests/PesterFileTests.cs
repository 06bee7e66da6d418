using System.Management.Automation.Language;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>The Pester files under tests/ run on a real pwsh in tests/Avtomat.Ec2.Pester.Tests; here, in the hosted engine,
/// make sure each parses and stays ASCII (Windows PowerShell 5.1, which they also target, reads a BOM-less file as
/// ANSI), and that every exported cmdlet has its own Pester file.</summary>
public sealed class PesterFileTests
{
    public static TheoryData<string> Scripts()
    {
        var tests = Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "tests");
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(tests, "*.ps1").OrderBy(f => f, StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_ParsesWithoutErrors_AndIsAscii(string name)
    {
        var path = Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "tests", name);
        Parser.ParseFile(path, out _, out var errors);
        Assert.Empty(errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}"));
        Assert.All(File.ReadAllBytes(path), b => Assert.True(b < 0x80, $"{name} has a non-ASCII byte"));
    }

    [Fact]
    public void EveryCmdlet_HasAPesterFile()
    {
        var tests = Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "tests");
        var cmdlets = ((object[])PowerShellHost.ReadSourceManifest()["CmdletsToExport"]!).Cast<string>().ToArray();
        Assert.NotEmpty(cmdlets);
        foreach (var cmdlet in cmdlets)
        {
            var file = Path.Combine(tests, $"Avtomat.Ec2.{cmdlet.Replace("-", "", StringComparison.Ordinal)}.Tests.ps1");
            Assert.True(File.Exists(file), $"{cmdlet} has no Pester file {file}");
        }
    }
}
