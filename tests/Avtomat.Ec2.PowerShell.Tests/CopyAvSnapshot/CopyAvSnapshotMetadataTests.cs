using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

/// <summary>The command's surface: parameter metadata, help, completion and the format view.</summary>
public sealed class CopyAvSnapshotMetadataTests
{
    private static readonly string[] CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    ];

    private static CmdletInfo GetCommand(PowerShellHost host) =>
        (CmdletInfo)host.Run("Get-Command -Name Copy-AvSnapshot -Module Avtomat.Ec2").Single().BaseObject;

    [Fact]
    public void Parameters_HaveTheDocumentedNamesAliasesAndPipelineBinding()
    {
        using var host = new PowerShellHost();
        var command = GetCommand(host);
        var p = command.Parameters;

        var snapshotId = p["SnapshotId"];
        Assert.Equal(typeof(string[]), snapshotId.ParameterType);
        Assert.Contains("SourceSnapshotId", snapshotId.Aliases);
        // -SnapshotId belongs to every parameter set (ToRegion, ToOutpost, ToLocalZone), so its one entry is __AllParameterSets.
        Assert.Equal(new[] { ParameterAttribute.AllParameterSets }, snapshotId.ParameterSets.Keys);
        foreach (var set in snapshotId.ParameterSets.Values)
        {
            Assert.True(set.IsMandatory);
            Assert.Equal(0, set.Position);
            Assert.True(set.ValueFromPipeline);
            Assert.True(set.ValueFromPipelineByPropertyName);
        }

        // As in Copy-EC2Snapshot: -SourceRegion is position 1, -Description position 2, and -Region (alias -RegionToCall)
        // is its own parameter, where the copy is made (no longer an alias of -SourceRegion), never bound from objects.
        Assert.DoesNotContain("Region", p["SourceRegion"].Aliases);
        Assert.All(p["SourceRegion"].ParameterSets.Values, s => { Assert.True(s.ValueFromPipelineByPropertyName); Assert.Equal(1, s.Position); });
        Assert.All(p["Description"].ParameterSets.Values, s => Assert.Equal(2, s.Position));
        Assert.Equal(typeof(string), p["Region"].ParameterType);
        Assert.Contains("RegionToCall", p["Region"].Aliases);
        Assert.All(p["Region"].ParameterSets.Values, s => { Assert.False(s.ValueFromPipelineByPropertyName); Assert.Equal(int.MinValue, s.Position); });
        Assert.Equal(typeof(object[]), p["TagSpecification"].ParameterType);
        Assert.Contains("TagSpecifications", p["TagSpecification"].Aliases);
        Assert.Contains("CompletionDurationMinute", p["CompletionDurationMinutes"].Aliases);
        Assert.Equal(typeof(string[]), p["DestinationRegion"].ParameterType);
        Assert.Contains("TargetRegion", p["DestinationRegion"].Aliases);
        Assert.Contains("PendingLimit", p["ThrottleLimit"].Aliases);
        Assert.Contains("TimeoutSec", p["Timeout"].Aliases);
        Assert.Equal(typeof(SwitchParameter), p["Encrypted"].ParameterType);
        Assert.Equal(typeof(SwitchParameter), p["CopyTags"].ParameterType);
        Assert.Equal(typeof(SwitchParameter), p["DryRun"].ParameterType);
        Assert.Equal(typeof(Hashtable), p["Tag"].ParameterType);
        Assert.Equal(typeof(int?), p["CompletionDurationMinutes"].ParameterType);
        Assert.Contains("AK", p["AccessKey"].Aliases);
        Assert.Contains("SK", p["SecretKey"].Aliases);
        Assert.Contains("ST", p["SessionToken"].Aliases);
        Assert.Contains("StoredCredentials", p["ProfileName"].Aliases);
        Assert.Contains("ProfilesLocation", p["ProfileLocation"].Aliases);
        Assert.True(p.ContainsKey("Credential"));
        Assert.True(p.ContainsKey("EndpointUrl"));
        Assert.True(p.ContainsKey("WhatIf"));
        Assert.True(p.ContainsKey("Confirm"));

        // Only -SnapshotId and -SourceRegion bind from input objects (never -Encrypted or -KmsKeyId of a Snapshot).
        var byPropertyName = p.Values.Where(v => v.ParameterSets.Values.Any(s => s.ValueFromPipelineByPropertyName)).Select(v => v.Name).OrderBy(n => n);
        Assert.Equal(new[] { "SnapshotId", "SourceRegion" }, byPropertyName);
        // No SDK types in the surface.
        Assert.DoesNotContain(p.Values, v => v.ParameterType.Namespace?.StartsWith("Amazon", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void ParameterSets_SeparateOutpostAndLocalZone_AndTheCommandDeclaresItsOutputAndShouldProcess()
    {
        using var host = new PowerShellHost();
        var command = GetCommand(host);

        Assert.Equal("ToRegion", command.DefaultParameterSet);
        Assert.Equal(new[] { "ToLocalZone", "ToOutpost", "ToRegion" }, command.ParameterSets.Select(s => s.Name).OrderBy(n => n));
        Assert.True(command.Parameters["DestinationOutpostArn"].ParameterSets["ToOutpost"].IsMandatory);
        Assert.False(command.Parameters["DestinationOutpostArn"].ParameterSets.ContainsKey("ToLocalZone"));
        Assert.True(command.Parameters["DestinationAvailabilityZone"].ParameterSets["ToLocalZone"].IsMandatory);

        Assert.Equal("Avtomat.Ec2.SnapshotCopyResult", Assert.Single(command.OutputType).Name);
        var attribute = (CmdletAttribute)command.ImplementingType.GetCustomAttributes(typeof(CmdletAttribute), false).Single();
        Assert.True(attribute.SupportsShouldProcess);
        Assert.Equal(ConfirmImpact.Medium, attribute.ConfirmImpact);
        Assert.True(typeof(IDisposable).IsAssignableFrom(command.ImplementingType));
        Assert.True(command.ImplementingType.IsSealed);
    }

    [Fact]
    public void Help_HasSynopsisDescriptionExamples_AndDocumentsEveryParameter()
    {
        using var host = new PowerShellHost();
        var help = host.Run("Get-Help -Name Copy-AvSnapshot -Full").Single();

        var synopsis = help.Properties["Synopsis"].Value?.ToString();
        Assert.False(string.IsNullOrWhiteSpace(synopsis));
        Assert.DoesNotContain("Copy-AvSnapshot [-SnapshotId]", synopsis); // a real synopsis, not the generated syntax

        var description = string.Join(" ", host.Run("(Get-Help -Name Copy-AvSnapshot -Full).description | ForEach-Object { $_.Text }").Select(o => o.ToString()));
        foreach (var topic in new[] { "20", "Ctrl+C", "Duplicate", "progress", "-Timeout" })
        {
            Assert.Contains(topic, description, StringComparison.OrdinalIgnoreCase);
        }

        var examples = host.Run("(Get-Help -Name Copy-AvSnapshot -Full).examples.example | ForEach-Object { $_.code }").Select(o => o.ToString()).ToList();
        Assert.True(examples.Count >= 3, $"{examples.Count} examples");
        Assert.Contains(examples, e => e.Contains("Get-EC2Snapshot", StringComparison.Ordinal) && e.Contains("| ", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("-KmsKeyId", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("-WhatIf", StringComparison.Ordinal) || e.Contains("-DryRun", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains(".SnapshotId", StringComparison.Ordinal));

        var documented = host.Run("(Get-Help -Name Copy-AvSnapshot -Full).parameters.parameter | ForEach-Object { $_.name + '|' + (($_.description | ForEach-Object { $_.Text }) -join ' ') }")
            .Select(o => o.ToString().Split('|', 2)).ToDictionary(a => a[0], a => a[1]);
        var command = GetCommand(host);
        foreach (var parameter in command.Parameters.Values)
        {
            if (CommonParameters.Contains(parameter.Name) || parameter.Attributes.OfType<ParameterAttribute>().Any(a => a.DontShow))
            {
                continue;
            }
            Assert.True(documented.TryGetValue(parameter.Name, out var text) && !string.IsNullOrWhiteSpace(text), $"-{parameter.Name} is not documented");
        }
        Assert.NotEmpty(host.Run("(Get-Help -Name Copy-AvSnapshot -Full).relatedLinks.navigationLink"));
    }

    [Fact]
    public void RegionParameters_CompleteRegionNames()
    {
        using var host = new PowerShellHost();
        foreach (var input in new[] { "Copy-AvSnapshot -DestinationRegion us-we", "Copy-AvSnapshot -SourceRegion us-we", "Copy-AvSnapshot -TargetRegion us-we", "Copy-AvSnapshot -Region us-we" })
        {
            using var ps = host.Create("");
            var completion = CommandCompletion.CompleteInput(input, input.Length, new Hashtable(), ps);
            var texts = completion.CompletionMatches.Select(m => m.CompletionText).ToList();
            Assert.Contains("us-west-1", texts);
            Assert.Contains("us-west-2", texts);
            Assert.All(texts, t => Assert.StartsWith("us-we", t, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task FormatView_ShowsResultsAsATable()
    {
        await using var bed = await CopyTestBed.StartAsync();
        var ids = bed.Seed(1);
        var capture = new CapturingHost();
        using var runspace = RunspaceFactory.CreateRunspace(capture, InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(@"
            Import-Module -Name $args[0] -ErrorAction Stop
            Copy-AvSnapshot $args[1] -SourceRegion us-east-1 -DestinationRegion us-west-2 -EndpointUrl $args[2] -AccessKey AKID -SecretKey s | Out-Host
            Copy-AvSnapshot $args[1] -SourceRegion us-east-1 -DestinationRegion eu-west-1 -EndpointUrl $args[2] -AccessKey AKID -SecretKey s -WhatIf")
            .AddArgument(PowerShellHost.ModuleManifestPath).AddArgument(ids[0]).AddArgument(bed.Url);
        ps.Invoke();
        Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));

        var plain = System.Text.RegularExpressions.Regex.Replace(capture.Text, "\u001b\\[[0-9;]*m", "");
        var lines = plain.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        var header = lines.FindIndex(l => l.StartsWith("SnapshotId", StringComparison.Ordinal));
        Assert.True(header >= 0, plain);
        foreach (var column in new[] { "SourceSnapshotId", "Region", "State", "Duration" })
        {
            Assert.Contains(column, lines[header], StringComparison.Ordinal);
        }
        Assert.StartsWith("----------", lines[header + 1], StringComparison.Ordinal);
        Assert.Contains(ids[0], lines[header + 2], StringComparison.Ordinal);
        Assert.Contains("Completed", lines[header + 2], StringComparison.Ordinal);
        Assert.Matches(@"\d\d:\d\d:\d\d$", lines[header + 2]); // Duration

        // -WhatIf speaks through the host: one line per snapshot and destination, naming both.
        Assert.Contains(lines, l => l.Contains("What if", StringComparison.Ordinal) && l.Contains($"{ids[0]} (us-east-1)", StringComparison.Ordinal) && l.Contains("Copy to eu-west-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Manifest_ListsTheFormatFile_AndTheCmdlet()
    {
        var manifest = PowerShellHost.ReadSourceManifest();
        Assert.Contains("Avtomat.Ec2.Format.ps1xml", ((object[])manifest["FormatsToProcess"]!).Cast<string>());
        Assert.Contains("Copy-AvSnapshot", ((object[])manifest["CmdletsToExport"]!).Cast<string>());
        Assert.True(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, "Avtomat.Ec2.Format.ps1xml")));
        Assert.True(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, "en-US", "Avtomat.Ec2.dll-Help.xml")));
    }
}
