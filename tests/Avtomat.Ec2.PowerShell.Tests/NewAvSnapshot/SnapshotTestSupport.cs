using System.Management.Automation;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.PowerShell.Tests.CopyAvSnapshot;

namespace Avtomat.Ec2.PowerShell.Tests.NewAvSnapshot;

/// <summary>Seeding volumes and instances in the emulator, and reading New-/Wait-AvSnapshot results.</summary>
internal static class SnapshotTestSupport
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(300);

    /// <summary>A <see cref="CopyTestBed"/> whose runspace polls every 0.3 s instead of the engine's 2 s, to keep the
    /// tests fast. The module assembly Import-Module uses is the one this test assembly references, so the internal
    /// per-runspace knob reaches it; other tests' runspaces keep the defaults.</summary>
    public static async Task<CopyTestBed> StartAsync(double seconds = 0.3, Action<Avtomat.Ec2.Emulator.EmulatorConfig>? configure = null)
    {
        var bed = await CopyTestBed.StartAsync(seconds, configure);
        bed.Host.UseFastPolling();
        return bed;
    }

    public static void UseFastPolling(this PowerShellHost host)
    {
        var runspace = (System.Management.Automation.Runspaces.Runspace)host.Run("[runspace]::DefaultRunspace").Single().BaseObject;
        Avtomat.Ec2.Commands.EngineTuning.SetPollInterval(runspace, PollInterval);
    }

    /// <summary>A missing snapshot is called missing after <paramref name="grace"/> instead of the engine's 30 s.</summary>
    public static void UseVisibilityGrace(this PowerShellHost host, TimeSpan grace)
    {
        var runspace = (System.Management.Automation.Runspaces.Runspace)host.Run("[runspace]::DefaultRunspace").Single().BaseObject;
        Avtomat.Ec2.Commands.EngineTuning.SetVisibilityGrace(runspace, grace);
    }

    public static SeedResult SeedVolumes(this CopyTestBed bed, int count, string region = "us-east-1",
        Dictionary<string, string>? tags = null, string? namePrefix = null, string? volumeType = null)
        => bed.Emulator.Seed(new SeedRequest
        {
            Region = region, Volumes = count, Tags = tags, NamePrefix = namePrefix, VolumeType = volumeType,
            AvailabilityZone = region + "a",
        });

    public static SeedResult SeedInstances(this CopyTestBed bed, int count, int dataVolumes = 1, string region = "us-east-1",
        string state = "running", string? namePrefix = null)
        => bed.Emulator.Seed(new SeedRequest
        {
            Region = region, Instances = count, DataVolumesPerInstance = dataVolumes, InstanceState = state, NamePrefix = namePrefix,
            AvailabilityZone = region + "a",
        });

    public static List<SnapshotResultView> Snapshots(this Invocation run) => run.Output.Select(o => new SnapshotResultView(o)).ToList();
}

/// <summary>Reads a SnapshotResult by property name, the way a script does.</summary>
public sealed class SnapshotResultView(PSObject result)
{
    public PSObject Object { get; } = result;
    public string TypeName => Object.BaseObject.GetType().FullName!;
    public string? SnapshotId => Object.Properties["SnapshotId"].Value as string;
    public string Region => (string)Object.Properties["Region"].Value;
    public string? VolumeId => Object.Properties["VolumeId"].Value as string;
    public string? InstanceId => Object.Properties["InstanceId"].Value as string;
    public string State => Object.Properties["State"].Value.ToString()!;
    public int Progress => (int)Object.Properties["Progress"].Value;
    public DateTime? StartTime => Object.Properties["StartTime"].Value as DateTime?;
    public DateTime? CompletionTime => Object.Properties["CompletionTime"].Value as DateTime?;
    public string? Description => Object.Properties["Description"].Value as string;
    public string? StatusMessage => Object.Properties["StatusMessage"].Value as string;
    public IDictionary<string, string> Tags => (IDictionary<string, string>)Object.Properties["Tags"].Value;
    public override string ToString() => $"{VolumeId} ({Region}) → {SnapshotId} {State}";
}
