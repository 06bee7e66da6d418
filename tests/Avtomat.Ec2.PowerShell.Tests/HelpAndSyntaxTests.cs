using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Text.RegularExpressions;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>The module's help as a user meets it: the about topic, where -Online goes, and a syntax without the hidden
/// pipeline parameter -InputObject (which still binds every pipeline object).</summary>
public sealed class HelpAndSyntaxTests
{
    public const string ProjectHelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage";

    public static readonly TheoryData<string> Cmdlets = new() { "Copy-AvSnapshot", "Measure-AvSnapshotCopy", "New-AvSnapshot", "Wait-AvSnapshot" };

    private static string AboutFile => Path.Combine(Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!, "src", "Avtomat.Ec2", "en-US", "about_Avtomat.Ec2.help.txt");

    [Fact]
    public void AboutTopic_IsLaidOutWithTheModule_AndGetHelpFindsIt()
    {
        Assert.True(File.Exists(Path.Combine(PowerShellHost.ModuleDirectory, "en-US", "about_Avtomat.Ec2.help.txt")));
        using var host = new PowerShellHost();
        var text = string.Join("\n", host.Run("Get-Help -Name about_Avtomat.Ec2 | Out-String -Width 200").Select(o => o.ToString()));
        Assert.Contains("about_Avtomat.Ec2", text, StringComparison.Ordinal);
        Assert.Contains("THE AWS CONTEXT", text, StringComparison.Ordinal);
        var listed = host.Run("Get-Help -Name about_Avtomat* | ForEach-Object Name").Select(o => o.ToString());
        Assert.Contains("about_Avtomat.Ec2", listed);
    }

    [Fact]
    public void AboutTopic_IsPlainAscii_WithLinesOfAtMost80()
    {
        var bytes = File.ReadAllBytes(AboutFile);
        Assert.All(bytes, b => Assert.True(b is 0x0A or 0x0D or (>= 0x20 and < 0x7F), $"byte 0x{b:x2} is not plain ASCII"));
        var lines = File.ReadAllLines(AboutFile);
        Assert.All(lines.Select((l, i) => (l, i)), x => Assert.True(x.l.Length <= 80, $"line {x.i + 1} has {x.l.Length} characters"));
        Assert.Equal("TOPIC", lines[0]);
        Assert.Equal("    about_Avtomat.Ec2", lines[1]);
    }

    [Fact]
    public void AboutTopic_CoversTheContextOrder_TheLimits_ProvenanceNoWaitAndRunbooks()
    {
        var text = File.ReadAllText(AboutFile);
        // Credentials and region, in the order AwsContextResolver resolves them.
        AssertInOrder(Section(text, "    Credentials, the first", "    Region, the first"),
            "-AccessKey and -SecretKey", "-ProfileName", "-Credential", "$StoredAWSCredentials", "default chain");
        AssertInOrder(Section(text, "    Region, the first", "    With none of these"),
            "region parameter", "$StoredAWSRegion", "-ProfileName profile", "'default'", "'AWS PS Default'", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_PROFILE profile", "Instance metadata", "AWS_EC2_METADATA_DISABLED");
        foreach (var topic in new[]
                 {
                     "20 copies in progress", "-ThrottleLimit", "100 calls at once", "5 a", "5 pending snapshots", "15 seconds",
                     "avtomat:source-snapshot-id", "avtomat:source-region", "avtomat:encryption", "Reused", "-Force", "-CopyAgain",
                     "-NoWait", "Wait-AvSnapshot", "$ProgressPreference", "-Timeout", "run it again", "-SourceRegion",
                     "-DestinationRegion", "Copy-EC2Snapshot",
                 })
        {
            Assert.Contains(topic, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void OnlineHelp_PointsAtTheProject(string name)
    {
        using var host = new PowerShellHost();
        // The cmdlet's HelpUri: what -Online opens when no MAML help is installed.
        Assert.Equal(ProjectHelpUri, host.Run("(Get-Command -Name $args[0]).HelpUri", name).Single().ToString());

        // With the MAML, Get-Help -Online opens the first related link that has a URI (BaseCommandHelpInfo.
        // GetUriForOnlineHelp → GetUriFromCommandPSObject). Ask PowerShell's own function, then check the MAML by eye.
        var help = host.Run("Get-Help -Name $args[0] -Full", name).Single();
        var online = typeof(PSObject).Assembly.GetType("System.Management.Automation.BaseCommandHelpInfo", throwOnError: true)!
            .GetMethod("GetUriFromCommandPSObject", BindingFlags.NonPublic | BindingFlags.Static)!;
        var uri = (Uri?)online.Invoke(null, [help]);
        Assert.Equal(ProjectHelpUri, uri?.OriginalString);

        var links = host.Run("(Get-Help -Name $args[0] -Full).relatedLinks.navigationLink | ForEach-Object { $_.linkText + '|' + $_.uri }", name)
            .Select(o => o.ToString().Split('|')).ToList();
        Assert.Equal(["Online Version:", ProjectHelpUri], links[0]);
        Assert.Contains(links, l => l[0] == "about_Avtomat.Ec2");
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void Syntax_DoesNotShowInputObject(string name)
    {
        using var host = new PowerShellHost();
        var syntax = string.Join("\n", host.Run("Get-Command -Name $args[0] -Syntax", name).Select(o => o.ToString()));
        Assert.Contains($"{name} [", syntax, StringComparison.Ordinal);
        Assert.DoesNotContain("InputObject", syntax, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(host.Run("(Get-Command -Name $args[0]).Parameters.Keys | Where-Object { $_ -eq 'InputObject' }", name));
        var helpSyntax = string.Join("\n", host.Run("Get-Help -Name $args[0] | Out-String -Width 200", name).Select(o => o.ToString()));
        Assert.DoesNotContain("InputObject", helpSyntax, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Piping_StillBindsTheWholeObject()
    {
        var capture = new CapturingHost();
        using var runspace = RunspaceFactory.CreateRunspace(capture, InitialSessionState.CreateDefault2());
        runspace.Open();
        using (var ps = System.Management.Automation.PowerShell.Create())
        {
            ps.Runspace = runspace;
            // -WhatIf makes no AWS call. Copy-AvSnapshot reads where a result's SnapshotId lives from its Region (not its
            // SourceRegion, where the earlier copy came from); New-AvSnapshot reads the region of a volume object that
            // has only an AvailabilityZone. Both need the whole object, through -InputObject.
            ps.AddScript(@"
                Import-Module -Name $args[0] -ErrorAction Stop
                $StoredAWSRegion = 'us-east-1'
                $copy = [Avtomat.Ec2.SnapshotCopyResult]::new()
                $copy.SnapshotId = 'snap-0123456789abcdef0'; $copy.Region = 'us-west-2'
                $copy.SourceSnapshotId = 'snap-0fedcba9876543210'; $copy.SourceRegion = 'us-east-1'; $copy.State = 'Completed'
                $copy | Copy-AvSnapshot -DestinationRegion eu-west-1 -AccessKey AKIDEXAMPLE -SecretKey secret -WhatIf
                [pscustomobject]@{ VolumeId = 'vol-0123456789abcdef0'; AvailabilityZone = 'eu-central-2a' } |
                    New-AvSnapshot -AccessKey AKIDEXAMPLE -SecretKey secret -WhatIf
                'snap-0123456789abcdef1' | Copy-AvSnapshot -DestinationRegion eu-west-1 -AccessKey AKIDEXAMPLE -SecretKey secret -WhatIf")
                .AddArgument(PowerShellHost.ModuleManifestPath);
            ps.Invoke();
            Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));
        }
        // Input handed to the API (no upstream command) is pipeline input too.
        using (var ps = System.Management.Automation.PowerShell.Create())
        {
            ps.Runspace = runspace;
            ps.AddCommand("New-AvSnapshot").AddParameter("AccessKey", "AKIDEXAMPLE").AddParameter("SecretKey", "secret").AddParameter("WhatIf");
            ps.Invoke(new[] { PSObjectWith(("VolumeId", "vol-0123456789abcdef1"), ("AvailabilityZone", "ap-southeast-5b")) });
            Assert.False(ps.HadErrors, string.Join("; ", ps.Streams.Error));
        }

        var lines = capture.Text.Split('\n').Where(l => l.Contains("What if", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("snap-0123456789abcdef0 (us-west-2)", StringComparison.Ordinal) && l.Contains("eu-west-1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("vol-0123456789abcdef0 (eu-central-2)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("snap-0123456789abcdef1 (us-east-1)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("vol-0123456789abcdef1 (ap-southeast-5)", StringComparison.Ordinal));
    }

    private static PSObject PSObjectWith(params (string Name, object Value)[] properties)
    {
        var o = new PSObject();
        foreach (var (n, v) in properties) o.Properties.Add(new PSNoteProperty(n, v));
        return o;
    }

    private static string Section(string text, string from, string to)
    {
        var start = text.IndexOf(from, StringComparison.Ordinal);
        var end = text.IndexOf(to, start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"no section '{from}'...'{to}'");
        return text.Substring(start, end - start);
    }

    private static void AssertInOrder(string text, params string[] items)
    {
        var at = -1;
        foreach (var item in items)
        {
            var next = text.IndexOf(item, at + 1, StringComparison.Ordinal);
            Assert.True(next > at, $"'{item}' should come after the previous item in:\n{text}");
            at = next;
        }
    }
}
