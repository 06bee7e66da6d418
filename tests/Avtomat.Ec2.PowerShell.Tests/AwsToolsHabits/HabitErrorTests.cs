using System.Management.Automation;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;
using Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.AwsToolsHabits;

/// <summary>AWS.Tools habits that cannot be kept stop the command before any call, with an error that says what to type
/// instead: a switch written with a Boolean (Copy-EC2Snapshot's -Encrypted and New-EC2Snapshot's -DryRun take one), and
/// -Select, -PassThru, -PresignedUrl and -ClientConfig.</summary>
public sealed class HabitErrorTests
{
    private const string Copy = "Avtomat.Ec2.Commands.CopyAvSnapshotCommand";
    private const string New = "Avtomat.Ec2.Commands.NewAvSnapshotCommand";

    [Theory]
    // $true would land on -Description (position 2: the id went by position, -SourceRegion by name).
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -Encrypted $true", true)]
    // Every positional parameter named, as AWS.Tools users write it: PowerShell alone would say PositionalParameterNotFound.
    [InlineData("Copy-AvSnapshot -SourceSnapshotId snap-0123456789abcdef0 -SourceRegion us-east-1 -Description 'x' -Encrypted $true -Region us-west-2", true)]
    // $false would even turn encryption on.
    [InlineData("Copy-AvSnapshot -SourceSnapshotId snap-0123456789abcdef0 -SourceRegion us-east-1 -Encrypted $false", false)]
    // A variable holding a Boolean, and a unique prefix of the switch's name.
    [InlineData("$encrypt = $true; Copy-AvSnapshot -SourceSnapshotId snap-0123456789abcdef0 -SourceRegion us-east-1 -Encrypt $encrypt", true)]
    public async Task EncryptedWithABoolean_StopsWithSwitchWithValue_SayingWhatToType(string script, bool value)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke(script);

        var error = Assert.Single(run.Errors);
        Assert.Equal($"SwitchWithValue,{Copy}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(value, error.TargetObject);
        Assert.Contains("-Encrypted is a switch in Copy-AvSnapshot (in Copy-EC2Snapshot it takes a Boolean)", error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Equal(value ? "Type -Encrypted alone (or -Encrypted:$true)." : "Leave -Encrypted out (or type -Encrypted:$false).", error.ErrorDetails.RecommendedAction);
        Assert.Empty(run.Output);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task EncryptedWithABoolean_LandingOnSourceRegion_IsABindingError_SayingWhatToType()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        // -SourceRegion (position 1) is free, so $true lands there before the command runs.
        var run = bed.Invoke("Copy-AvSnapshot snap-0123456789abcdef0 -Encrypted $true");

        var error = Assert.Single(run.Errors);
        Assert.IsAssignableFrom<ParameterBindingException>(error.Exception);
        Assert.Contains("SourceRegion", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("-Encrypted:$true", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task SwitchesWrittenAsSwitches_KeepWorking_IncludingAPositionalIdAfterASwitch()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var ids = bed.Seed(2);
        var run = bed.Invoke(@"
            Copy-AvSnapshot -Encrypted:$true -SourceRegion us-east-1 -SourceSnapshotId $args[0] -Region us-west-2
            Copy-AvSnapshot -Encrypted $args[1] us-east-1 -Region us-west-2", ids[0], ids[1]);

        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(2, run.Results.Count);
        Assert.All(run.Results, r => Assert.True(r.Encrypted));
    }

    [Fact]
    public async Task NewAvSnapshot_DryRunWithABoolean_StopsBeforeCreatingASnapshot()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var volume = bed.SeedVolumes(1).VolumeIds[0];
        // Without the check, $true would land on -Description (position 1) and a real snapshot would be made.
        var run = bed.Invoke("New-AvSnapshot -VolumeId $args[0] -Region us-east-1 -DryRun $true", volume);

        var error = Assert.Single(run.Errors);
        Assert.Equal($"SwitchWithValue,{New}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal(true, error.TargetObject);
        Assert.Contains("(in New-EC2Snapshot it takes a Boolean)", error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
        Assert.Empty(bed.Emulator.GetStats().SnapshotsPerVolume);
    }

    [Fact]
    public async Task AnExtraPositionalValue_IsPositionalParameterNotFound()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke("Copy-AvSnapshot snap-0123456789abcdef0 us-east-1 'description' 'one too many'");
        var error = Assert.Single(run.Errors);
        Assert.Equal($"PositionalParameterNotFound,{Copy}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Equal("one too many", error.TargetObject);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Theory]
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -Select SnapshotId", "SelectNotSupported", Copy, "SnapshotId", ").SnapshotId")]
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -Select '*'", "SelectNotSupported", Copy, "*", "leave -Select out")]
    [InlineData("New-AvSnapshot vol-0123456789abcdef0 -Region us-east-1 -Select Snapshot", "SelectNotSupported", New, "Snapshot", "(New-AvSnapshot ...).SnapshotId")]
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -PassThru", "PassThruNotSupported", Copy, true, "SourceSnapshotId")]
    [InlineData("New-AvSnapshot vol-0123456789abcdef0 -Region us-east-1 -PassThru", "PassThruNotSupported", New, true, "Leave -PassThru out")]
    [InlineData("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-east-1 -ClientConfig @{ Timeout = 5 }", "ClientConfigNotSupported", Copy, null, "-EndpointUrl")]
    public async Task AwsToolsParametersWeDoNotHave_StopWithNotImplemented_SayingWhatToType(string script, string id, string command, object? target, string instead)
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var run = bed.Invoke(script);

        var error = Assert.Single(run.Errors);
        Assert.Equal($"{id},{command}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotImplemented, error.CategoryInfo.Category);
        if (target is not null)
        {
            Assert.Equal(target, error.TargetObject);
        }
        Assert.Contains(instead, error.ErrorDetails!.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorDetails.RecommendedAction));
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task PresignedUrl_StopsWithNotImplemented_NamingTheUrlWithoutItsSignature()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        const string url = "https://ec2.us-west-2.amazonaws.com/?Action=CopySnapshot&X-Amz-Signature=abc123&X-Amz-Security-Token=session-token-do-not-print";
        var run = bed.Invoke("Copy-AvSnapshot snap-0123456789abcdef0 -SourceRegion us-west-2 -Region us-east-1 -PresignedUrl $args[0]", url);

        var error = Assert.Single(run.Errors);
        Assert.Equal($"PresignedUrlNotSupported,{Copy}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.NotImplemented, error.CategoryInfo.Category);
        Assert.Equal("https://ec2.us-west-2.amazonaws.com/", error.TargetObject);
        Assert.Contains("Leave -PresignedUrl out", error.ErrorDetails!.RecommendedAction, StringComparison.Ordinal);
        Assert.DoesNotContain("session-token-do-not-print", error.ToString() + error.ErrorDetails.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Emulator.GetStats().TotalCalls);
    }

    [Fact]
    public async Task CompletionDurationMinute_TheAwsToolsName_MakesATimeBasedCopy()
    {
        await using var bed = await HabitTestSupport.StartAsync();
        var id = bed.Seed(1)[0];
        var run = bed.Invoke("Copy-AvSnapshot -SourceSnapshotId $args[0] -SourceRegion us-east-1 -Region us-west-2 -CompletionDurationMinute 45", id);
        Assert.True(run.Errors.Count == 0, run.Describe());
        Assert.Equal(45, (await bed.DescribeAsync("us-west-2", Assert.Single(run.Results).SnapshotId!)).CompletionDurationMinutes);
    }
}
