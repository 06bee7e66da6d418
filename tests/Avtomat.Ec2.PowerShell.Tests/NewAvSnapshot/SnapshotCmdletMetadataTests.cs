using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

/// <summary>The surfaces of New-AvSnapshot and Wait-AvSnapshot (and Copy-AvSnapshot -NoWait): parameter metadata,
/// sets, help for every module cmdlet, completion, the format view and the manifest.</summary>
public sealed class SnapshotCmdletMetadataTests
{
    private static readonly string[] CommonParameters =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    ];

    private static readonly string[] AwsParameters = ["AccessKey", "SecretKey", "SessionToken", "ProfileName", "ProfileLocation", "Credential", "EndpointUrl"];

    private static CmdletInfo GetCommand(PowerShellHost host, string name) =>
        (CmdletInfo)host.Run("Get-Command -Name $args[0] -Module Avtomat.Ec2", name).Single().BaseObject;

    private static IEnumerable<string> ByPropertyName(CmdletInfo command) =>
        command.Parameters.Values.Where(v => v.ParameterSets.Values.Any(s => s.ValueFromPipelineByPropertyName)).Select(v => v.Name).OrderBy(n => n);

    [Fact]
    public void NewAvSnapshot_HasTwoSets_VolumeIdFromThePipeline_InstanceIdByPropertyName()
    {
        using var host = new PowerShellHost();
        var command = GetCommand(host, "New-AvSnapshot");
        var p = command.Parameters;

        Assert.Equal("ByVolume", command.DefaultParameterSet);
        Assert.Equal(new[] { "ByInstance", "ByVolume" }, command.ParameterSets.Select(s => s.Name).OrderBy(n => n));

        var volume = p["VolumeId"].ParameterSets["ByVolume"];
        Assert.Equal(typeof(string[]), p["VolumeId"].ParameterType);
        Assert.True(volume.IsMandatory);
        Assert.Equal(0, volume.Position);
        Assert.True(volume.ValueFromPipeline);
        Assert.True(volume.ValueFromPipelineByPropertyName);
        Assert.False(p["VolumeId"].ParameterSets.ContainsKey("ByInstance"));

        var instance = p["InstanceId"].ParameterSets["ByInstance"];
        Assert.Equal(typeof(string[]), p["InstanceId"].ParameterType);
        Assert.True(instance.IsMandatory);
        Assert.True(instance.ValueFromPipelineByPropertyName);
        Assert.False(p["InstanceId"].ParameterSets.ContainsKey("ByVolume"));
        Assert.Equal(new[] { "ByInstance" }, p["ExcludeBootVolume"].ParameterSets.Keys);

        Assert.Equal(new[] { "InstanceId", "Region", "VolumeId" }, ByPropertyName(command));
        // As in New-EC2Snapshot: -Description is position 1 and -Region has the alias -RegionToCall.
        Assert.All(p["Description"].ParameterSets.Values, s => Assert.Equal(1, s.Position));
        Assert.Contains("RegionToCall", p["Region"].Aliases);
        Assert.Equal(typeof(object[]), p["TagSpecification"].ParameterType);
        Assert.Contains("TagSpecifications", p["TagSpecification"].Aliases);
        foreach (var name in new[] { "NoWait", "DryRun", "CopyVolumeTags", "ExcludeBootVolume", "Force" })
        {
            Assert.Equal(typeof(SwitchParameter), p[name].ParameterType);
        }
        Assert.Equal(typeof(Hashtable), p["Tag"].ParameterType);
        Assert.Contains("TimeoutSec", p["Timeout"].Aliases);
        var location = p["Location"].Attributes.OfType<ValidateSetAttribute>().Single();
        Assert.Equal(new[] { "local", "regional" }, location.ValidValues.OrderBy(v => v));
        foreach (var name in AwsParameters.Concat(["Description", "OutpostArn", "WhatIf", "Confirm"]))
        {
            Assert.True(p.ContainsKey(name), $"-{name} is missing");
        }
        Assert.DoesNotContain(p.Values, v => v.ParameterType.Namespace?.StartsWith("Amazon", StringComparison.Ordinal) == true);

        Assert.Equal("Avtomat.Ec2.SnapshotResult", Assert.Single(command.OutputType).Name);
        var attribute = (CmdletAttribute)command.ImplementingType.GetCustomAttributes(typeof(CmdletAttribute), false).Single();
        Assert.True(attribute.SupportsShouldProcess);
        Assert.Equal(ConfirmImpact.Medium, attribute.ConfirmImpact);
        Assert.True(typeof(IDisposable).IsAssignableFrom(command.ImplementingType));
        Assert.True(command.ImplementingType.IsSealed);
    }

    [Fact]
    public void WaitAvSnapshot_BindsSnapshotIdAndRegionFromObjects_AndHasTimeoutAndAny()
    {
        using var host = new PowerShellHost();
        var command = GetCommand(host, "Wait-AvSnapshot");
        var p = command.Parameters;

        var id = Assert.Single(p["SnapshotId"].ParameterSets.Values);
        Assert.Equal(typeof(string[]), p["SnapshotId"].ParameterType);
        Assert.True(id.IsMandatory);
        Assert.Equal(0, id.Position);
        Assert.True(id.ValueFromPipeline);
        Assert.True(id.ValueFromPipelineByPropertyName);
        // Only the id and the region bind from input objects: a copy result's SourceSnapshotId/SourceRegion never do.
        Assert.Equal(new[] { "Region", "SnapshotId" }, ByPropertyName(command));
        // The AWS CLI waiter's --snapshot-ids and AWS Tools' -RegionToCall.
        Assert.Equal(new[] { "SnapshotIds" }, p["SnapshotId"].Aliases);
        Assert.Equal(new[] { "RegionToCall" }, p["Region"].Aliases);
        Assert.Contains("TimeoutSec", p["Timeout"].Aliases);
        Assert.Equal(typeof(int), p["Timeout"].ParameterType);
        Assert.Equal(typeof(SwitchParameter), p["Any"].ParameterType);
        foreach (var name in AwsParameters)
        {
            Assert.True(p.ContainsKey(name), $"-{name} is missing");
        }
        Assert.False(p.ContainsKey("WhatIf")); // waiting changes nothing

        Assert.Equal("Avtomat.Ec2.SnapshotResult", Assert.Single(command.OutputType).Name);
        Assert.Equal("Wait", command.Verb);
        Assert.True(typeof(IDisposable).IsAssignableFrom(command.ImplementingType));
    }

    [Fact]
    public void CopyAvSnapshot_HasNoWait()
    {
        using var host = new PowerShellHost();
        var p = GetCommand(host, "Copy-AvSnapshot").Parameters;
        Assert.Equal(typeof(SwitchParameter), p["NoWait"].ParameterType);
        Assert.True(p["NoWait"].ParameterSets.ContainsKey("__AllParameterSets"));
    }

    [Theory]
    [InlineData("New-AvSnapshot", new[] { "consistent", "freeze", "-InstanceId", "-NoWait", "Wait-AvSnapshot", "progress", "15", "root" })]
    [InlineData("Wait-AvSnapshot", new[] { "-Timeout", "-Any", "OperationTimeout", "error", "Copy-AvSnapshot -NoWait", "New-AvSnapshot -NoWait", "DescribeSnapshots" })]
    [InlineData("Copy-AvSnapshot", new[] { "-NoWait", "started" })]
    public void Help_HasSynopsisDescriptionExamples_AndDocumentsEveryParameter(string name, string[] topics)
    {
        using var host = new PowerShellHost();
        var help = host.Run("Get-Help -Name $args[0] -Full", name).Single();
        var synopsis = help.Properties["Synopsis"].Value?.ToString();
        Assert.False(string.IsNullOrWhiteSpace(synopsis));
        Assert.DoesNotContain($"{name} [-", synopsis); // a real synopsis, not the generated syntax

        var description = string.Join(" ", host.Run("(Get-Help -Name $args[0] -Full).description | ForEach-Object { $_.Text }", name).Select(o => o.ToString()));
        var parameterText = string.Join(" ", host.Run("(Get-Help -Name $args[0] -Full).parameters.parameter | ForEach-Object { $_.description | ForEach-Object { $_.Text } }", name).Select(o => o.ToString()));
        foreach (var topic in topics)
        {
            Assert.True(description.Contains(topic, StringComparison.OrdinalIgnoreCase) || parameterText.Contains(topic, StringComparison.OrdinalIgnoreCase),
                $"{name}'s help does not mention '{topic}'");
        }

        var examples = host.Run("(Get-Help -Name $args[0] -Full).examples.example | ForEach-Object { $_.code }", name).Select(o => o.ToString()).ToList();
        Assert.True(examples.Count >= 3, $"{examples.Count} examples");

        var documented = host.Run("(Get-Help -Name $args[0] -Full).parameters.parameter | ForEach-Object { $_.name + '|' + (($_.description | ForEach-Object { $_.Text }) -join ' ') }", name)
            .Select(o => o.ToString().Split('|', 2)).ToDictionary(a => a[0], a => a[1]);
        foreach (var parameter in GetCommand(host, name).Parameters.Values)
        {
            if (CommonParameters.Contains(parameter.Name) || parameter.Attributes.OfType<ParameterAttribute>().Any(a => a.DontShow))
            {
                continue;
            }
            Assert.True(documented.TryGetValue(parameter.Name, out var text) && !string.IsNullOrWhiteSpace(text), $"{name} -{parameter.Name} is not documented");
        }
        Assert.NotEmpty(host.Run("(Get-Help -Name $args[0] -Full).relatedLinks.navigationLink", name));
    }

    [Fact]
    public void Help_ShowsTheOneLineBackupPipeline()
    {
        using var host = new PowerShellHost();
        var examples = host.Run("(Get-Help -Name New-AvSnapshot -Full).examples.example | ForEach-Object { $_.code }").Select(o => o.ToString()).ToList();
        Assert.Contains(examples, e => e.Contains("Get-EC2Volume", StringComparison.Ordinal) && e.Contains("| New-AvSnapshot -CopyVolumeTags | Copy-AvSnapshot", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("-InstanceId", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("-NoWait", StringComparison.Ordinal) && e.Contains("Wait-AvSnapshot", StringComparison.Ordinal));
        var waitExamples = host.Run("(Get-Help -Name Wait-AvSnapshot -Full).examples.example | ForEach-Object { $_.code }").Select(o => o.ToString()).ToList();
        Assert.Contains(waitExamples, e => e.Contains("Copy-AvSnapshot", StringComparison.Ordinal) && e.Contains("-NoWait", StringComparison.Ordinal));
        Assert.Contains(waitExamples, e => e.Contains("-Any", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("New-AvSnapshot -Region us-we")]
    [InlineData("Wait-AvSnapshot -Region us-we")]
    public void RegionParameters_CompleteRegionNames(string input)
    {
        using var host = new PowerShellHost();
        using var ps = host.Create("");
        var completion = CommandCompletion.CompleteInput(input, input.Length, new Hashtable(), ps);
        var texts = completion.CompletionMatches.Select(m => m.CompletionText).ToList();
        Assert.Contains("us-west-1", texts);
        Assert.Contains("us-west-2", texts);
        Assert.All(texts, t => Assert.StartsWith("us-we", t, StringComparison.Ordinal));
    }

    [Fact]
    public void LocationParameter_CompletesItsValues()
    {
        using var host = new PowerShellHost();
        using var ps = host.Create("");
        const string input = "New-AvSnapshot -Location ";
        var completion = CommandCompletion.CompleteInput(input, input.Length, new Hashtable(), ps);
        Assert.Equal(new[] { "local", "regional" }, completion.CompletionMatches.Select(m => m.CompletionText).OrderBy(t => t));
    }

    [Fact]
    public void TheImportedModule_IsTheAssemblyTheTestsTune()
    {
        // The short poll interval of these tests (SnapshotTestSupport) only reaches the cmdlets if Import-Module reused
        // the Avtomat.Ec2 this test assembly references; it is set per runspace, so other tests keep the defaults.
        using var host = new PowerShellHost();
        var imported = (Type)host.Run("(Get-Command New-AvSnapshot).ImplementingType").Single().BaseObject;
        Assert.Same(typeof(Avtomat.Ec2.Commands.NewAvSnapshotCommand).Assembly, imported.Assembly);
    }

    [Fact]
    public void Manifest_ExportsTheThreeCmdlets()
    {
        var manifest = PowerShellHost.ReadSourceManifest();
        Assert.Equal(new[] { "Copy-AvSnapshot", "Measure-AvSnapshotCopy", "New-AvSnapshot", "Wait-AvSnapshot" },
            ((object[])manifest["CmdletsToExport"]!).Cast<string>().OrderBy(n => n));
    }

    [Fact]
    public void FormatView_ShowsSnapshotResultsAsATable()
    {
        var capture = new CapturingHost();
        using var runspace = RunspaceFactory.CreateRunspace(capture, InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(@"
            Import-Module -Name $args[0] -ErrorAction Stop
            $r = [Avtomat.Ec2.SnapshotResult]::new()
            $r.SnapshotId = 'snap-0123456789abcdef0'; $r.Region = 'us-east-1'; $r.VolumeId = 'vol-0123456789abcdef0'
            $r.State = 'Completed'; $r.Progress = 100; $r.VolumeSize = 8
            $r.StartTime = [datetime]::new(2026, 11, 23, 10, 0, 0, [System.DateTimeKind]::Utc); $r.CompletionTime = $r.StartTime.AddSeconds(75)
            $r | Out-Host")
            .AddArgument(PowerShellHost.ModuleManifestPath);
        ps.Invoke();
        Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));

        var plain = System.Text.RegularExpressions.Regex.Replace(capture.Text, "\u001b\\[[0-9;]*m", "");
        var lines = plain.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        var header = lines.FindIndex(l => l.StartsWith("SnapshotId", StringComparison.Ordinal) && l.Contains("VolumeId", StringComparison.Ordinal));
        Assert.True(header >= 0, plain);
        foreach (var column in new[] { "Region", "VolumeId", "State", "Duration" })
        {
            Assert.Contains(column, lines[header], StringComparison.Ordinal);
        }
        Assert.StartsWith("----------", lines[header + 1], StringComparison.Ordinal);
        Assert.Contains("snap-0123456789abcdef0", lines[header + 2], StringComparison.Ordinal);
        Assert.EndsWith("00:01:15", lines[header + 2], StringComparison.Ordinal);
    }
}
