using System.Management.Automation;
using System.Reflection;

namespace Avtomat.Ec2.PowerShell.Tests;

public sealed class ModuleManifestTests
{
    [Fact]
    public void BuildOutput_IsAnImportableModuleFolder()
    {
        Assert.True(File.Exists(PowerShellHost.ModuleManifestPath), $"dotnet build should lay out {PowerShellHost.ModuleManifestPath}");
        foreach (var dll in new[] { "Avtomat.Ec2.dll", "Avtomat.Ec2.Loader.dll" })
        {
            Assert.True(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, dll)), $"module folder lacks {dll}");
        }
        // The engine and its AWSSDK copy sit in Dependencies/, out of reach of the default load context's probing
        // beside the cmdlet assembly: only the loader decides where they load.
        foreach (var dll in new[] { "Avtomat.Ec2.Engine.dll", "AWSSDK.Core.dll", "AWSSDK.EC2.dll", "AWSSDK.SecurityToken.dll", "AWSSDK.KeyManagementService.dll", "AWSSDK.SSO.dll", "AWSSDK.SSOOIDC.dll" })
        {
            Assert.True(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, "Dependencies", dll)), $"module folder lacks Dependencies/{dll}");
            Assert.False(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, dll)), $"{dll} must not sit beside the cmdlet assembly");
        }
        // The host supplies System.Management.Automation; shipping the reference assembly would break loading.
        Assert.Empty(Directory.GetFiles(PowerShellHost.ModuleDirectory, "System.Management.Automation.dll", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("Avtomat.Ec2.dll")]
    [InlineData("Avtomat.Ec2.Loader.dll")]
    public void AssembliesPowerShellLoads_ReferenceNoAwsSdk(string dll)
    {
        // What the default load context holds may name only the host, the runtime and (for the cmdlets) the engine:
        // an AWSSDK reference there would pull the SDK into the default context, beside or against AWS.Tools' copy.
        using var stream = File.OpenRead(Path.Combine(PowerShellHost.ModuleDirectory, dll));
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        var references = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var allowed = new[] { "netstandard", "System.Management.Automation", "Avtomat.Ec2.Engine", "System.Runtime.Loader", "System.Runtime", "System.Runtime.InteropServices.RuntimeInformation" };
        Assert.All(references, name => Assert.Contains(name, allowed));
        Assert.DoesNotContain(references, name => name.StartsWith("AWSSDK.", StringComparison.Ordinal) || name.StartsWith("Microsoft.Bcl.", StringComparison.Ordinal));
    }

    [Fact]
    public void LaidOutManifest_IsTheRootManifest()
    {
        Assert.Equal(File.ReadAllText(PowerShellHost.SourceManifestPath), File.ReadAllText(PowerShellHost.ModuleManifestPath));
    }

    [Fact]
    public void ImportModule_LoadsTheModuleWithItsManifestVersion()
    {
        using var host = new PowerShellHost();
        var module = host.Run("Get-Module -Name Avtomat.Ec2").Single();
        Assert.Equal("Avtomat.Ec2", module.Properties["Name"].Value);
        Assert.Equal(new Version(0, 1, 0), module.Properties["Version"].Value);
        Assert.Equal("Binary", module.Properties["ModuleType"].Value.ToString());
    }

    [Fact]
    public void TestModuleManifest_Passes()
    {
        using var host = new PowerShellHost(importModule: false);
        var info = (PSModuleInfo)host.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", PowerShellHost.ModuleManifestPath).Single().BaseObject;
        Assert.Equal("Avtomat.Ec2", info.Name);
        Assert.Contains("Desktop", info.CompatiblePSEditions);
        Assert.Contains("Core", info.CompatiblePSEditions);
        Assert.Equal(new Version(5, 1), info.PowerShellVersion);
    }

    [Fact]
    public void Manifest_ExportsExactlyTheCmdletTypesAndNothingElse()
    {
        var manifest = PowerShellHost.ReadSourceManifest();

        var declared = ((object[])manifest["CmdletsToExport"]!).Cast<string>().OrderBy(n => n).ToArray();
        var moduleAssembly = Assembly.LoadFrom(Path.Combine(PowerShellHost.ModuleDirectory, "Avtomat.Ec2.dll"));
        var implemented = moduleAssembly.GetExportedTypes()
            .Select(t => t.GetCustomAttribute<CmdletAttribute>())
            .Where(a => a is not null)
            .Select(a => $"{a!.VerbName}-{a.NounName}")
            .OrderBy(n => n)
            .ToArray();
        Assert.Equal(implemented, declared);

        foreach (var key in new[] { "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
        {
            Assert.Empty((object[])manifest[key]!);
        }
    }

    [Fact]
    public void ImportedModule_ExportsOnlyTheDeclaredCommands()
    {
        using var host = new PowerShellHost();
        var exported = host.Run("(Get-Module -Name Avtomat.Ec2).ExportedCommands.Keys").Select(o => o.BaseObject.ToString()).OrderBy(n => n);
        var manifest = PowerShellHost.ReadSourceManifest();
        var declared = ((object[])manifest["CmdletsToExport"]!).Cast<string>().OrderBy(n => n);
        Assert.Equal(declared, exported);
    }
}
