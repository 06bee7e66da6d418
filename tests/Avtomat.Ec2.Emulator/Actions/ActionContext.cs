using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>One EC2 call, as an action sees it: parameters, caller's account and signing region, clock. Runs under the state lock.</summary>
internal sealed class ActionContext(EmulatorState state, Ec2Request request, string account, string region, DateTimeOffset now)
{
    public EmulatorState State { get; } = state;
    public Ec2Request Request { get; } = request;
    public string Account { get; } = account;
    /// <summary>The signing region: where resources are created and looked up.</summary>
    public RegionState Region { get; } = state.Region(account, region);
    public DateTimeOffset Now { get; } = now;
    public EmulatorConfig Config => State.Config;
    /// <summary>Snapshots the action created, in order (for the call log and the interceptor's after-stage).</summary>
    public List<string> CreatedSnapshotIds { get; } = new();

    /// <summary>Call after validating everything: a DryRun stops here with 412 DryRunOperation.</summary>
    public void StopIfDryRun()
    {
        if (Request.GetBool("DryRun")) throw Ec2Error.DryRun();
    }
}

internal delegate void ActionHandler(ActionContext context, XmlOut xml);

/// <summary>An EC2 action: its handler and the token bucket it draws from.</summary>
internal sealed record ActionDefinition(string Name, ActionHandler Handler, Func<Ec2Request, string>? BucketKey = null)
{
    public string BucketFor(Ec2Request request) => BucketKey?.Invoke(request) ?? Name;
}

/// <summary>The actions the emulator speaks. To add one: write a handler in the resource family's file and list it here.</summary>
internal static class ActionRegistry
{
    public static readonly IReadOnlyDictionary<string, ActionDefinition> All = new[]
    {
        new ActionDefinition("CopySnapshot", SnapshotActions.CopySnapshot),
        new ActionDefinition("CreateSnapshot", SnapshotActions.CreateSnapshot),
        new ActionDefinition("CreateSnapshots", SnapshotActions.CreateSnapshots),
        new ActionDefinition("DescribeSnapshots", SnapshotActions.DescribeSnapshots, SnapshotActions.DescribeSnapshotsBucket),
        new ActionDefinition("DeleteSnapshot", SnapshotActions.DeleteSnapshot),
        new ActionDefinition("CreateTags", TagActions.CreateTags),
        new ActionDefinition("DeleteTags", TagActions.DeleteTags),
        new ActionDefinition("ModifySnapshotAttribute", SnapshotAttributeActions.ModifySnapshotAttribute),
        new ActionDefinition("DescribeSnapshotAttribute", SnapshotAttributeActions.DescribeSnapshotAttribute),
        new ActionDefinition("ResetSnapshotAttribute", SnapshotAttributeActions.ResetSnapshotAttribute),
        new ActionDefinition("CreateVolume", VolumeActions.CreateVolume),
        new ActionDefinition("DescribeVolumes", VolumeActions.DescribeVolumes),
        new ActionDefinition("DescribeInstances", InstanceActions.DescribeInstances),
        new ActionDefinition("DescribeRegions", RegionActions.DescribeRegions),
        new ActionDefinition("GetEbsEncryptionByDefault", EbsEncryptionActions.GetEbsEncryptionByDefault),
        new ActionDefinition("EnableEbsEncryptionByDefault", EbsEncryptionActions.EnableEbsEncryptionByDefault),
        new ActionDefinition("DisableEbsEncryptionByDefault", EbsEncryptionActions.DisableEbsEncryptionByDefault),
        new ActionDefinition("GetEbsDefaultKmsKeyId", EbsEncryptionActions.GetEbsDefaultKmsKeyId),
        new ActionDefinition("ModifyEbsDefaultKmsKeyId", EbsEncryptionActions.ModifyEbsDefaultKmsKeyId),
        new ActionDefinition("ResetEbsDefaultKmsKeyId", EbsEncryptionActions.ResetEbsDefaultKmsKeyId),
    }.ToDictionary(a => a.Name, StringComparer.Ordinal);
}
