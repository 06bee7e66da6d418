using System.Globalization;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using Avtomat.Ec2.Commands;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>The about_Avtomat.Ec2* topics, every file in src/Avtomat.Ec2/en-US: laid out with the module and found by
/// Get-Help, plain ASCII in 80 columns, no reference to a topic or README anchor that is not there, and what each
/// must cover, with the numbers read from the code that keeps them (so a changed constant fails here, not at a user's
/// prompt).</summary>
public sealed class AboutTopicTests
{
    private const string HelpSuffix = ".help.txt";

    private static string RepositoryRoot => Path.GetDirectoryName(PowerShellHost.SourceManifestPath)!;

    private static string SourceHelpDirectory => Path.Combine(RepositoryRoot, "src", "Avtomat.Ec2", "en-US");

    /// <summary>Every about topic in the source tree, by name (about_Avtomat.Ec2, about_Avtomat.Ec2_Credentials, ...).</summary>
    private static IReadOnlyList<string> TopicNames =>
        Directory.GetFiles(SourceHelpDirectory, "about_*" + HelpSuffix)
            .Select(f => Path.GetFileName(f)[..^HelpSuffix.Length])
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToList();

    public static TheoryData<string> Topics
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in TopicNames) data.Add(name);
            return data;
        }
    }

    private static string FileOf(string topic) => Path.Combine(SourceHelpDirectory, topic + HelpSuffix);

    /// <summary>The topic's text with every run of white space (line breaks and indents included) as one space, so a
    /// phrase is found wherever the 80-column wrap broke it.</summary>
    private static string Flat(string topic) => Regex.Replace(File.ReadAllText(FileOf(topic)), @"\s+", " ");

    [Fact]
    public void TheTopicsTheDocsName_AllExist()
    {
        // The README, about_Avtomat.Ec2 and CONTRIBUTING.md send users to these four.
        Assert.Superset(new HashSet<string>(TopicNames),
            new HashSet<string> { "about_Avtomat.Ec2", "about_Avtomat.Ec2_Credentials", "about_Avtomat.Ec2_Resume", "about_Avtomat.Ec2_Runbooks" });
    }

    [Fact]
    public void EveryTopic_IsLaidOutWithTheModule_AndGetHelpFindsIt()
    {
        var laidOut = Directory.GetFiles(Path.Combine(PowerShellHost.ModuleDirectory, "en-US"), "about_*" + HelpSuffix)
            .Select(f => Path.GetFileName(f)[..^HelpSuffix.Length]).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(TopicNames, laidOut);

        using var host = new PowerShellHost();
        foreach (var topic in TopicNames)
        {
            Assert.Equal(File.ReadAllBytes(FileOf(topic)), File.ReadAllBytes(Path.Combine(PowerShellHost.ModuleDirectory, "en-US", topic + HelpSuffix)));
            // Get-Help shows the topic itself (not a list of matches): its first short-description line is there.
            var text = string.Join("\n", host.Run("Get-Help -Name $args[0] | Out-String -Width 200", topic).Select(o => o.ToString()));
            var firstLine = File.ReadAllLines(FileOf(topic))[4].Trim();
            Assert.Contains(firstLine, text, StringComparison.Ordinal);
            Assert.Contains("SEE ALSO", text, StringComparison.Ordinal);
        }
        var listed = host.Run("Get-Help -Name about_Avtomat* | ForEach-Object Name").Select(o => o.ToString()).ToList();
        Assert.All(TopicNames, topic => Assert.Contains(topic, listed));
    }

    [Theory]
    [MemberData(nameof(Topics))]
    public void Topic_IsPlainAscii_WithLinesOfAtMost80_InTheAboutLayout(string topic)
    {
        var bytes = File.ReadAllBytes(FileOf(topic));
        Assert.All(bytes, b => Assert.True(b is 0x0A or 0x0D or (>= 0x20 and < 0x7F), $"byte 0x{b:x2} is not plain ASCII"));
        var lines = File.ReadAllLines(FileOf(topic));
        Assert.All(lines.Select((l, i) => (l, i)), x => Assert.True(x.l.Length <= 80, $"line {x.i + 1} has {x.l.Length} characters"));
        Assert.Equal("TOPIC", lines[0]);
        Assert.Equal("    " + topic, lines[1]);
        Assert.Equal("SHORT DESCRIPTION", lines[3]);
        AssertInOrder(string.Join("\n", lines), "\nLONG DESCRIPTION\n", "\nSEE ALSO\n");
    }

    [Theory]
    [MemberData(nameof(Topics))]
    public void Topic_NamesOnlyTopicsAndReadmeAnchorsThatExist(string topic)
    {
        var text = File.ReadAllText(FileOf(topic));
        foreach (Match m in Regex.Matches(text, @"about_Avtomat\.Ec2\w*"))
            Assert.Contains(m.Value, TopicNames);

        // The project's URL goes to the README (the cmdlets' HelpUri too): its anchor must be a README heading.
        var headings = File.ReadAllLines(Path.Combine(RepositoryRoot, "README.md"))
            .Where(l => l.StartsWith('#')).Select(l => Slug(l.TrimStart('#').Trim())).ToHashSet(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(text, @"https://github\.com/avtomat/Avtomat\.Ec2#([\w-]+)"))
            Assert.Contains(m.Groups[1].Value, headings);
    }

    [Fact]
    public void Overview_NamesEveryCmdlet_TheContext_NoWait_AndEveryOtherTopic()
    {
        var text = Flat("about_Avtomat.Ec2");
        foreach (var cmdlet in typeof(CopyAvSnapshotCommand).Assembly.GetTypes()
                     .Select(t => t.GetCustomAttribute<CmdletAttribute>()).OfType<CmdletAttribute>())
            Assert.Contains($"{cmdlet.VerbName}-{cmdlet.NounName}", text, StringComparison.Ordinal);
        foreach (var item in new[]
                 {
                     "THE AWS CONTEXT", "-SourceRegion", "-DestinationRegion", "Copy-EC2Snapshot", "-NoWait", "Wait-AvSnapshot -Any",
                     "PLANNING A COPY", "COMING FROM AWS.TOOLS", "-Force (no confirmation prompt)",
                 })
            Assert.Contains(item, text, StringComparison.Ordinal);
        Assert.Contains(PollBounds(), text, StringComparison.Ordinal);
        foreach (var other in TopicNames.Where(t => t != "about_Avtomat.Ec2"))
            Assert.Contains(other, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_GivesTheContextOrder_AsAwsContextResolverResolvesIt()
    {
        var text = File.ReadAllText(FileOf("about_Avtomat.Ec2_Credentials"));
        AssertInOrder(Section(text, "THE CREDENTIALS ORDER", "THE REGION ORDER"),
            "-AccessKey and -SecretKey", "-ProfileName", "-Credential", "$StoredAWSCredentials", "default chain");
        AssertInOrder(Section(text, "THE REGION ORDER", "    With none of these"),
            "region parameter", "$StoredAWSRegion", "-ProfileName profile", "'default'", "'AWS PS Default'", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_PROFILE profile", "Instance metadata", "AWS_EC2_METADATA_DISABLED");
        var flat = Flat("about_Avtomat.Ec2_Credentials");
        foreach (var item in new[]
                 {
                     "role_arn + source_profile", "credential_source", "web_identity_token_file", "credential_process", "sso_session",
                     "aws sso login", "AWS_WEB_IDENTITY_TOKEN_FILE", "AwsProfileCredentialsUnavailable", "CredentialsExpired",
                     "AWS_ENDPOINT_URL_STS", "-EndpointUrl", "ForEach-Object -ThrottleLimit 8 -Parallel", "-DestinationProfileName", "-DestinationCredential",
                     "SourceKeyNotShareable", "SourceKeyNotAccessible", "kms:CreateGrant",
                 })
            Assert.Contains(item, flat, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_GivesTheLimits_TheTags_AndTheGraces_AsTheCodeKeepsThem()
    {
        var text = Flat("about_Avtomat.Ec2_Resume");
        var engine = SnapshotEngine.Shared;
        var options = new CopyJobOptions();
        var copyTags = CopyTagNames.All.Length;
        var createTags = (int)typeof(NewAvSnapshotCommand).GetField("ProvenanceTags", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var minutes = typeof(CopyAvSnapshotCommand).GetProperty(nameof(CopyAvSnapshotCommand.CompletionDurationMinutes))!.GetCustomAttribute<ValidateRangeAttribute>()!;
        var create = Ec2Buckets.All["CreateSnapshot"];
        var copy = Ec2Buckets.All["CopySnapshot"];
        var describe = Ec2Buckets.All["DescribeSnapshots"];
        Assert.Equal((create.Burst, create.RefillPerSecond), (Ec2Buckets.All["DeleteSnapshot"].Burst, Ec2Buckets.All["DeleteSnapshot"].RefillPerSecond));

        foreach (var item in new[]
                 {
                     $"at most {engine.RegionCopyLimit} copies in progress (pending) per destination region and account",
                     $"-ThrottleLimit (default {new CopyAvSnapshotCommand().ThrottleLimit})",
                     $"grows back by one slot per finished copy and one every {engine.CopyWindowRecovery.TotalSeconds} seconds",
                     $"CreateSnapshot and DeleteSnapshot {create.Burst} calls at once, then {create.RefillPerSecond} a second",
                     $"CopySnapshot {copy.Burst} then {copy.RefillPerSecond}",
                     $"DescribeSnapshots {describe.Burst} then {describe.RefillPerSecond} (filtered)",
                     $"leaves {engine.PacingMargin} calls of each bucket",
                     PollBounds(),
                     $"at most {engine.MaxPendingPerVolume} pending snapshots ({engine.MaxPendingPerThroughputVolume} for st1 and sc1 volumes), and at least {engine.VolumeSnapshotSpacing.TotalSeconds} seconds between",
                     $"-CompletionDurationMinutes, {minutes.MinRange} to {minutes.MaxRange} in steps of {minutes.MinRange}",
                     $"at most {CopyThroughput.MaxPerCopyMiBps} MiB/s",
                     $"{CopyJobOptions.DefaultTimeBasedThroughputQuota.ToString("N0", CultureInfo.InvariantCulture)} MiB/s by default",
                     $"EC2 allows {TagParameter.MaxTagsPerResource} tags on a snapshot. A copy gets {copyTags} provenance tags (below), so -Tag takes at most {TagParameter.MaxTagsPerResource - copyTags}",
                     $"New-AvSnapshot keeps {createTags} for its own, so at most {TagParameter.MaxTagsPerResource - createTags}",
                     $"Description: at most {DescriptionTemplate.MaxLength} characters",
                     $"({EngineJob.SentCallGrace.TotalSeconds} seconds at most)",
                     $"visibility delay ({options.VisibilityGrace.TotalSeconds} seconds)",
                     $"a few looks over {options.VisibilityGrace.TotalSeconds} seconds",
                     "Encrypted and KmsKeyId must match", "-CopyAgain copies every source again", "-Force only skips the confirmation prompt",
                 })
            Assert.Contains(item, text, StringComparison.Ordinal);

        // The table of a copy's tags is exactly the tags the engine writes.
        var table = Section(File.ReadAllText(FileOf("about_Avtomat.Ec2_Resume")), "Every copy gets these tags", "Snapshots that New-AvSnapshot creates");
        Assert.Equal(CopyTagNames.All.OrderBy(t => t, StringComparer.Ordinal),
            Regex.Matches(table, @"avtomat:[a-z-]+").Select(m => m.Value).Distinct().OrderBy(t => t, StringComparer.Ordinal));
    }

    [Fact]
    public void Runbooks_CoversUnattendedUse_AndScalingOut()
    {
        var text = Flat("about_Avtomat.Ec2_Runbooks");
        foreach (var item in new[]
                 {
                     "ConfirmImpact is Medium", "$ProgressPreference = 'SilentlyContinue'", "-Timeout", "TimedOut", "run it again",
                     "samples/runbooks", "Azure Automation", "aws:executeScript", "MaxConcurrency", "ForEach-Object -Parallel",
                     "ResourceLimitExceeded", "-CopyAgain",
                 })
            Assert.Contains(item, text, StringComparison.Ordinal);
    }

    /// <summary>"at least 1 second and at most 5 minutes apart", from the jobs' default floor and ceiling.</summary>
    private static string PollBounds()
    {
        var options = new CopyJobOptions();
        Assert.Equal(TimeSpan.FromSeconds(1), options.PollInterval);
        Assert.Equal(0, options.MaxPollInterval.TotalMinutes % 1);
        return $"at least {options.PollInterval.TotalSeconds} second and at most {options.MaxPollInterval.TotalMinutes} minutes apart";
    }

    /// <summary>GitHub's anchor for a heading: lower case, punctuation other than hyphens dropped, spaces as hyphens.</summary>
    private static string Slug(string heading) =>
        Regex.Replace(heading.ToLowerInvariant(), @"[^\p{L}\p{N}\s-]", "").Replace(' ', '-');

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
