using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>Messages that lead to the fix: a hint names a parameter that works in that command, a verbose line names
/// where a region truly came from, -Debug in a host that cannot prompt never changes the outcome, and a description
/// longer than EC2 allows stops before anything is sent.</summary>
public sealed class MessageTests
{
    // ------------------------------------------------------------------ hints

    [Fact]
    public async Task NoRegionAnywhere_CopyHint_IsSourceRegion_AndFollowingItWorks()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1, "us-east-1")[0];

        // Get-EC2Snapshot output names no region; none is set anywhere.
        var run = bed.Invoke("[pscustomobject]@{ SnapshotId = $args[0] } | Copy-AvSnapshot -DestinationRegion us-west-2", id);

        var error = Assert.Single(run.Errors);
        Assert.Equal("AwsRegionNotFound,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Contains("Pass -SourceRegion (the region the snapshots are in)", error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.StartsWith("Pass -SourceRegion (e.g. -SourceRegion us-east-1)", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
        Assert.DoesNotContain("Pass -Region", error.ErrorDetails.Message + error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);

        // What the hint says to type works (-Region would be RegionConflictsWithDestinationRegion).
        var followed = bed.Invoke("[pscustomobject]@{ SnapshotId = $args[0] } | Copy-AvSnapshot -DestinationRegion us-west-2 -SourceRegion us-east-1", id);
        Assert.True(followed.Errors.Count == 0, followed.Describe());
        Assert.Equal(("us-west-2", "Completed"), (Assert.Single(followed.Results).Region, Assert.Single(followed.Results).State));
    }

    [Theory]
    [InlineData("[pscustomobject]@{ SnapshotId = $args[0] } | Measure-AvSnapshotCopy @aws -DestinationRegion us-west-2", "MeasureAvSnapshotCopyCommand", "-SourceRegion")]
    [InlineData("Wait-AvSnapshot $args[0]", "WaitAvSnapshotCommand", "-Region")]
    [InlineData("New-AvSnapshot vol-0123456789abcdef0", "NewAvSnapshotCommand", "-Region")]
    public async Task NoRegionAnywhere_EachCommandsHint_NamesItsOwnRegionParameter(string script, string command, string parameter)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke(script, bed.Seed(1)[0]);

        var error = Assert.Single(run.Errors);
        Assert.Equal($"AwsRegionNotFound,Avtomat.Ec2.Commands.{command}", error.FullyQualifiedErrorId);
        Assert.StartsWith($"Pass {parameter} (e.g. {parameter} us-east-1)", error.ErrorDetails!.RecommendedAction, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 us-east-1 'description' $true", "CopyAvSnapshotCommand", "-Encrypted")]
    [InlineData("New-AvSnapshot vol-0123456789abcdef0 'description' $true -Region us-east-1", "NewAvSnapshotCommand", "-DryRun")]
    public async Task ABooleanLeftOver_HintNamesASwitchTheCommandHas(string script, string command, string switchName)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var error = Assert.Single(bed.Invoke(script).Errors);
        Assert.Equal($"PositionalParameterNotFound,Avtomat.Ec2.Commands.{command}", error.FullyQualifiedErrorId);
        Assert.Equal($"Type the switch alone ({switchName}), or with a colon ({switchName}:$true).", error.ErrorDetails!.RecommendedAction);
    }

    // ------------------------------------------------------------------ verbose origins

    [Fact]
    public async Task CopyVerbose_NamesWhereEachSourceRegionCameFrom()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var ids = bed.Seed(6, "us-east-1");
        var profiles = Path.Combine(Directory.CreateTempSubdirectory("avtomat-origins-").FullName, "credentials");
        File.WriteAllText(profiles, "[regional]\naws_access_key_id = AKIDUNUSED\naws_secret_access_key = unused-secret\nregion = us-east-1\n");

        var fromSourceRegion = bed.Invoke("Copy-AvSnapshot $args[0] -SourceRegion us-east-1 -Verbose", ids[0]);
        var fromObject = bed.Invoke("[pscustomobject]@{ SnapshotId = $args[0]; Region = 'us-east-1' } | Copy-AvSnapshot -Region us-east-1 -Verbose", ids[1]);
        // Get-EC2Snapshot output carries no region: the source is assumed to be where the copy is made.
        var fromRegion = bed.Invoke("[pscustomobject]@{ SnapshotId = $args[0] } | Copy-AvSnapshot -Region us-east-1 -Verbose", ids[2]);
        var fromDefault = bed.Invoke("Set-DefaultAWSRegion us-east-1; Copy-AvSnapshot $args[0] -Verbose; Remove-Variable StoredAWSRegion -Scope Global", ids[3]);
        var fromProfile = bed.Invoke("Copy-AvSnapshot $args[0] -ProfileName regional -ProfileLocation $args[1] -Verbose", ids[4], profiles);
        var fromEarlierObject = bed.Invoke(
            "[pscustomobject]@{ SnapshotId = $args[0]; Region = 'us-east-1' }, [pscustomobject]@{ SnapshotId = $args[1] } | Copy-AvSnapshot -Verbose",
            ids[5], ids[0]);

        foreach (var run in new[] { fromSourceRegion, fromObject, fromRegion, fromDefault, fromProfile, fromEarlierObject })
        {
            Assert.True(run.Errors.Count == 0, run.Describe());
        }
        const string assumed = "assumed because neither -SourceRegion nor the input names the snapshot's region.";
        Assert.Contains("Source region us-east-1 from -SourceRegion.", fromSourceRegion.Verbose);
        Assert.Contains("Source region us-east-1 from the piped object.", fromObject.Verbose);
        Assert.Contains($"Source region us-east-1 from the AWS context's region (-Region), {assumed}", fromRegion.Verbose);
        Assert.DoesNotContain("Source region us-east-1 from -Region (the AWS context's region).", fromRegion.Verbose);
        Assert.Contains($"Source region us-east-1 from the AWS context's region ($StoredAWSRegion), {assumed}", fromDefault.Verbose);
        Assert.Contains($"Source region us-east-1 from the AWS context's region (profile 'regional' in '{profiles}'), {assumed}", fromProfile.Verbose);
        Assert.Contains("Source region us-east-1 from the piped object.", fromEarlierObject.Verbose);
        Assert.Contains("Source region us-east-1 from an earlier piped object (no region parameter or default region is set, and this object names no region).",
            fromEarlierObject.Verbose);
    }

    // ------------------------------------------------------------------ -Debug in a host that cannot prompt

    [Fact]
    public async Task Debug_InAHostThatCannotPrompt_NeverChangesTheOutcome()
    {
        await using var bed = await SnapshotTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        // pwsh -NonInteractive's console host: a UI whose prompts throw. Under -Debug, PowerShell asks after every verbose
        // and warning line (the id given twice gives a warning).
        using var runspace = RunspaceFactory.CreateRunspace(new NonInteractiveHost(), InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(@"
            Import-Module $args[0] -ErrorAction Stop
            Copy-AvSnapshot $args[1], $args[1] -Region us-east-1 -EndpointUrl $args[2] -AccessKey $args[3] -SecretKey $args[4] -Debug")
            .AddArgument(PowerShellHost.ModuleManifestPath).AddArgument(id).AddArgument(bed.Url).AddArgument(CopyTestBed.AccessKey).AddArgument(CopyTestBed.SecretKey);

        var output = ps.Invoke();

        Assert.False(ps.HadErrors, string.Join(" | ", ps.Streams.Error.Select(e => e.ToString())));
        Assert.Equal("Completed", new SnapshotCopyResultView(Assert.Single(output)).State);
        Assert.Contains(ps.Streams.Warning, w => w.Message.Contains("was already given", StringComparison.Ordinal));
        Assert.Contains(ps.Streams.Verbose, v => v.Message.StartsWith("Using credentials from", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Debug_InAHostedRunspaceWithoutUI_KeepsTheErrorsAndTheResult()
    {
        // The default host of a hosted runspace has no UI: a warning under -Debug threw HostException.
        const string expiredKey = "AKIDEXPIREDDEBUG";
        await using var bed = await SnapshotTestSupport.StartAsync(3600, c => c.Credentials.ExpiredAccessKeys.Add(expiredKey));
        var ids = bed.Emulator.Seed(new Avtomat.Ec2.Emulator.SeedRequest { Region = "us-east-1", Snapshots = 2, State = "pending" }).SnapshotIds;

        var run = bed.Invoke($"$expired = $aws.Clone(); $expired.AccessKey = '{expiredKey}'; $args | Wait-AvSnapshot @expired -Region us-east-1 -Timeout 30 -Debug 2>&1 3>&1",
            ids.Cast<object>().ToArray());

        Assert.Null(run.Thrown);
        // Errors first, then the warning about them (under -Debug an interactive host asks after the warning).
        var streams = run.Output.Select(o => o.BaseObject switch
        {
            ErrorRecord e => "error:" + e.FullyQualifiedErrorId.Split(',')[0],
            WarningRecord => "warning",
            _ => "result",
        }).Where(s => s != "result").ToList();
        Assert.Equal(new[] { "error:CredentialsExpired", "error:CredentialsExpired", "warning" }, streams);
    }

    // ------------------------------------------------------------------ -Description and EC2's limit

    [Fact]
    public async Task Description_LongerThanEc2Allows_StopsBeforeAnyCall()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        var volume = bed.SeedVolumes(1).VolumeIds[0];
        var calls = bed.Emulator.GetStats().TotalCalls;
        var longText = new string('d', 300);

        var copy = bed.Invoke("Copy-AvSnapshot $args[0] -Region us-east-1 -Description $args[1]", id, longText);
        var create = bed.Invoke("New-AvSnapshot $args[0] -Region us-east-1 -Description $args[1]", volume, longText);
        // With placeholders: 250 characters and the id, at least 263 whatever the id.
        var template = bed.Invoke("Copy-AvSnapshot $args[0] -Region us-east-1 -Description ($args[1] + '{SourceSnapshotId}')", id, new string('d', 250));

        foreach (var (run, command) in new[] { (copy, "CopyAvSnapshotCommand"), (create, "NewAvSnapshotCommand"), (template, "CopyAvSnapshotCommand") })
        {
            var error = Assert.Single(run.Errors);
            Assert.Equal($"DescriptionTooLong,Avtomat.Ec2.Commands.{command}", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.StartsWith(new string('d', 250), (string)error.TargetObject);
            Assert.Contains("255", error.ErrorDetails!.Message, StringComparison.Ordinal);
            Assert.StartsWith("Shorten -Description", error.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
            Assert.Empty(run.Output);
        }
        Assert.Contains("is 300 characters long", copy.Errors[0].ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Contains("at least 263 characters", template.Errors[0].ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Equal(calls, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task Description_TooLongOnlyOnceTheIdIsFilledIn_FailsThatSnapshot_BeforeItsCopy()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0]; // snap- and 17 digits: 22 characters
        var run = bed.Invoke("Copy-AvSnapshot $args[0] -Region us-east-1 -Description ($args[1] + '{SourceSnapshotId}')", id, new string('d', 240));

        var error = Assert.Single(run.Errors);
        Assert.Equal("DescriptionTooLong,Avtomat.Ec2.Commands.CopyAvSnapshotCommand", error.FullyQualifiedErrorId);
        Assert.Contains($"262 characters long with its placeholders filled in for {id} (us-east-1)", error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Empty(run.Output);
        Assert.Equal(0, bed.CopiesIn("us-east-1"));

        var fits = bed.Invoke("Copy-AvSnapshot $args[0] -Region us-east-1 -Description ($args[1] + '{SourceSnapshotId}')", id, new string('d', 233));
        Assert.True(fits.Errors.Count == 0, fits.Describe());
        Assert.Equal(255, (await bed.DescribeAsync("us-east-1", Assert.Single(fits.Results).SnapshotId!)).Description.Length);
    }

    /// <summary>pwsh -NonInteractive's console host, as far as prompts go: every Read and Prompt throws what it throws.</summary>
    private sealed class NonInteractiveHost : PSHost
    {
        private readonly PromptlessUI _ui = new();
        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.GetCultureInfo("en-US");
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override string Name => "NonInteractiveHost";
        public override PSHostUserInterface UI => _ui;
        public override Version Version => new(1, 0);
        public override void EnterNestedPrompt() => throw NonInteractive();
        public override void ExitNestedPrompt() { }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
        public override void SetShouldExit(int exitCode) { }

        private static PSInvalidOperationException NonInteractive() =>
            new("PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.");

        private sealed class PromptlessUI : PSHostUserInterface
        {
            public override PSHostRawUserInterface? RawUI => null;
            public override string ReadLine() => throw NonInteractive();
            public override SecureString ReadLineAsSecureString() => throw NonInteractive();
            public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw NonInteractive();
            public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => throw NonInteractive();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NonInteractive();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NonInteractive();
            public override void Write(string value) { }
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
            public override void WriteLine(string value) { }
            public override void WriteDebugLine(string message) { }
            public override void WriteErrorLine(string value) { }
            public override void WriteProgress(long sourceId, ProgressRecord record) { }
            public override void WriteVerboseLine(string message) { }
            public override void WriteWarningLine(string message) { }
        }
    }
}
