using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;

namespace Avtomat.Ec2.PowerShell.Tests.HelpExamples;

/// <summary>
/// AWS Tools' cmdlets the help examples use, shaped as AWS.Tools has them (the same names, parameters and output types:
/// Amazon.EC2.Model.Snapshot and Volume objects, AWSCredentials), but talking to the test's emulator: the endpoint is the
/// runspace variable $AvExampleEndpoint, and "the shared credentials file" (~/.aws/credentials) is $AvExampleProfileFile.
/// Credentials as AWS Tools finds them: -ProfileName, else $StoredAWSCredentials; region: -Region, else $StoredAWSRegion.
/// </summary>
internal static class AwsToolsStandIns
{
    public static void AddTo(InitialSessionState state)
    {
        state.Commands.Add(new SessionStateCmdletEntry("Get-EC2Snapshot", typeof(GetEc2SnapshotStandIn), null));
        state.Commands.Add(new SessionStateCmdletEntry("Get-EC2Volume", typeof(GetEc2VolumeStandIn), null));
        state.Commands.Add(new SessionStateCmdletEntry("Get-AWSCredential", typeof(GetAwsCredentialStandIn), null));
        // AWS Tools' Set-DefaultAWSRegion sets $StoredAWSRegion (global scope by default).
        state.Commands.Add(new SessionStateFunctionEntry("Set-DefaultAWSRegion",
            "[CmdletBinding()] param([Parameter(Position = 0, Mandatory)][string] $Region, [string] $Scope) $global:StoredAWSRegion = $Region"));
    }

    /// <summary>A profile of the test's credentials file, as the SDK's AWSCredentials.</summary>
    public static AWSCredentials Profile(string file, string name)
    {
        string? section = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(file))
        {
            var line = raw.Trim();
            if (line.StartsWith('[')) { section = line.Trim('[', ']'); continue; }
            var eq = line.IndexOf('=');
            if (section == name && eq > 0) values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        if (!values.TryGetValue("aws_access_key_id", out var key)) throw new ItemNotFoundException($"No profile '{name}' in {file}.");
        return values.TryGetValue("aws_session_token", out var token)
            ? new SessionAWSCredentials(key, values["aws_secret_access_key"], token)
            : new BasicAWSCredentials(key, values["aws_secret_access_key"]);
    }
}

public abstract class StandInCmdlet : PSCmdlet
{
    [Parameter]
    public string? Region { get; set; }

    [Parameter]
    [Alias("StoredCredentials", "AWSProfileName")]
    public string? ProfileName { get; set; }

    [Parameter]
    public string? ProfileLocation { get; set; }

    private protected AmazonEC2Client Client()
    {
        var file = ProfileLocation is { } location ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(location)
            : (string)SessionState.PSVariable.GetValue("AvExampleProfileFile");
        var credentials = ProfileName is { } profile ? AwsToolsStandIns.Profile(file, profile)
            : SessionState.PSVariable.GetValue("StoredAWSCredentials") is var stored && (stored is PSObject pso ? pso.BaseObject : stored) is AWSCredentials c ? c
            : AwsToolsStandIns.Profile(file, "default");
        var region = Region ?? (string)SessionState.PSVariable.GetValue("StoredAWSRegion");
        return new AmazonEC2Client(credentials, new AmazonEC2Config
        {
            ServiceURL = (string)SessionState.PSVariable.GetValue("AvExampleEndpoint"), AuthenticationRegion = region, MaxErrorRetry = 0,
        });
    }
}

/// <summary>Get-EC2Snapshot: -SnapshotId, -OwnerId, -Filter (Amazon.EC2.Model.Filter; hashtables convert), -RestorableByUserId.</summary>
[Cmdlet(VerbsCommon.Get, "EC2Snapshot")]
[OutputType(typeof(Snapshot))]
public sealed class GetEc2SnapshotStandIn : StandInCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[]? SnapshotId { get; set; }

    [Parameter]
    public string[]? OwnerId { get; set; }

    [Parameter]
    public Filter[]? Filter { get; set; }

    [Parameter]
    public string[]? RestorableByUserId { get; set; }

    protected override void ProcessRecord()
    {
        using var client = Client();
        var request = new DescribeSnapshotsRequest { SnapshotIds = SnapshotId?.ToList(), OwnerIds = OwnerId?.ToList(), Filters = Filter?.ToList(), RestorableByUserIds = RestorableByUserId?.ToList() };
        foreach (var snapshot in client.DescribeSnapshotsAsync(request).GetAwaiter().GetResult().Snapshots ?? []) WriteObject(snapshot);
    }
}

/// <summary>Get-EC2Volume: -VolumeId, -Filter.</summary>
[Cmdlet(VerbsCommon.Get, "EC2Volume")]
[OutputType(typeof(Volume))]
public sealed class GetEc2VolumeStandIn : StandInCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string[]? VolumeId { get; set; }

    [Parameter]
    public Filter[]? Filter { get; set; }

    protected override void ProcessRecord()
    {
        using var client = Client();
        var request = new DescribeVolumesRequest { VolumeIds = VolumeId?.ToList(), Filters = Filter?.ToList() };
        foreach (var volume in client.DescribeVolumesAsync(request).GetAwaiter().GetResult().Volumes ?? []) WriteObject(volume);
    }
}

/// <summary>Get-AWSCredential -ProfileName [-ProfileLocation]: the profile's AWSCredentials.</summary>
[Cmdlet(VerbsCommon.Get, "AWSCredential")]
[OutputType(typeof(AWSCredentials))]
public sealed class GetAwsCredentialStandIn : PSCmdlet
{
    [Parameter(Mandatory = true)]
    [Alias("StoredCredentials", "AWSProfileName")]
    public string ProfileName { get; set; } = "";

    [Parameter]
    public string? ProfileLocation { get; set; }

    protected override void ProcessRecord()
    {
        var file = ProfileLocation is { } location ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(location)
            : (string)SessionState.PSVariable.GetValue("AvExampleProfileFile");
        WriteObject(AwsToolsStandIns.Profile(file, ProfileName));
    }
}
