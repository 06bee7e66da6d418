using System.Text.Json.Serialization;

namespace Avtomat.Ec2.Emulator;

/// <summary>Start-up settings of an emulator instance. <see cref="Config"/> can also be changed while it runs.</summary>
public sealed class EmulatorOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Clock that drives snapshot lifecycles and token buckets. Tests pass a FakeTimeProvider.</summary>
    [JsonIgnore]
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>In-process only: how long a new snapshot or copy stays <c>pending</c>, in seconds, in place of the sampled
    /// <see cref="DurationConfig"/> durations and their factors; null samples as usual. In EC2 a copy's duration depends
    /// on the data, not on the order of the calls; sampling from one seeded Random makes it depend on the order. Set this
    /// to give several runs (strategies) exactly the same durations. Called under the emulator's lock: keep it quick.
    /// Time-based copies are still capped at their CompletionDurationMinutes, and injected errors still shorten it.</summary>
    [JsonIgnore]
    public Func<NewSnapshotInfo, double?>? DurationOf { get; set; }

    /// <summary>In-process only: shapes each new snapshot or copy EC2 accepts (CopySnapshot, CreateSnapshot,
    /// CreateSnapshots): its exact duration, how it ends (completed, or error with a statusMessage) and how long it stays
    /// invisible to DescribeSnapshots. Null, or a null member, leaves that part to <see cref="DurationOf"/>, the sampled
    /// durations and the fault rates. Called under the emulator's lock on the calling thread: keep it quick.</summary>
    [JsonIgnore]
    public Func<NewSnapshotInfo, SnapshotShape?>? ShapeOf { get; set; }

    /// <summary>In-process only: consulted for every EC2 and STS call that passed the credential checks, twice — with
    /// <see cref="CallStage.BeforeAction"/> before injected faults, token buckets and the action (an answer then means
    /// nothing happened), and with <see cref="CallStage.AfterAction"/> once the action ran (an error replaces its answer,
    /// a drop loses it; the action's effects stay). Null (or a null answer) lets the call go on as usual. Deterministic:
    /// decide from <see cref="CallInfo.ActionCallNumber"/>, the parameters or the clock, not from chance. Called under
    /// the emulator's lock on the calling thread: keep it quick; it may call the emulator (<see cref="Ec2Emulator.Seed"/>,
    /// <see cref="Ec2Emulator.Duplicate"/>), whose lock is re-entrant. Can be set or replaced while the emulator runs.</summary>
    [JsonIgnore]
    public Func<CallInfo, CallDecision?>? Interceptor { get; set; }

    /// <summary>How many calls the call log keeps (<see cref="Ec2Emulator.GetCalls()"/>, <c>GET /_emulator/calls</c>):
    /// the latest ones; 0 keeps none. Numbering and per-action counts go on regardless.</summary>
    public int CallLogCapacity { get; set; } = 10_000;

    /// <summary>Seed for every random choice (durations, progress jumps, faults), so runs are repeatable.</summary>
    public int RandomSeed { get; set; } = 20261123;

    /// <summary>Access key id → 12-digit account id. Keys not listed belong to <see cref="DefaultAccountId"/>.</summary>
    public Dictionary<string, string> Accounts { get; set; } = new(StringComparer.Ordinal);

    public string DefaultAccountId { get; set; } = "123456789012";

    /// <summary>Regions the emulator serves (signing region and SourceRegion must be one of them).</summary>
    public List<string> Regions { get; set; } = new(EmulatorRegions.Default);

    /// <summary>Behaviour that can also be read and changed at run time (control API <c>/_emulator/config</c>).</summary>
    public EmulatorConfig Config { get; set; } = new();
}

/// <summary>Run-time behaviour: durations, limits, faults, consistency and credentials. JSON shape of <c>/_emulator/config</c>.</summary>
public sealed class EmulatorConfig
{
    public DurationConfig Durations { get; set; } = new();
    public LimitConfig Limits { get; set; } = new();
    public FaultConfig Faults { get; set; } = new();
    public CredentialConfig Credentials { get; set; } = new();
}

public enum DurationKind { Fixed, Uniform, LogNormal }

/// <summary>What <see cref="EmulatorOptions.DurationOf"/> is told about a snapshot or copy EC2 just accepted.</summary>
/// <param name="IsCopy">CopySnapshot (true) or CreateSnapshot/CreateSnapshots (false).</param>
/// <param name="Region">Where the new snapshot lives (a copy's destination).</param>
/// <param name="SourceRegion">A copy's source region; null for a created snapshot.</param>
/// <param name="SourceSnapshotId">A copy's source snapshot; null for a created snapshot.</param>
/// <param name="VolumeId">The volume the data comes from: the snapshotted volume, or the copy's source's volume id.</param>
/// <param name="VolumeSizeGiB">Its size.</param>
/// <param name="Start">The emulator's clock when the call was accepted (the snapshot's start time).</param>
public sealed record NewSnapshotInfo(bool IsCopy, string Region, string? SourceRegion, string? SourceSnapshotId, string VolumeId,
    int VolumeSizeGiB, DateTimeOffset Start)
{
    /// <summary>The account the snapshot belongs to (the caller's).</summary>
    public string Account { get; init; } = "";
    /// <summary>The action that made it: CopySnapshot, CreateSnapshot or CreateSnapshots.</summary>
    public string Action { get; init; } = "";
    public string? Description { get; init; }
    /// <summary>The tags it is created with (TagSpecification, and CreateSnapshots' CopyTagsFromSource).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>A time-based copy's CompletionDurationMinutes; null otherwise.</summary>
    public int? CompletionDurationMinutes { get; init; }
}

/// <summary>How long something takes, in seconds of the emulator's clock.</summary>
public sealed class DurationModel
{
    public DurationKind Kind { get; set; } = DurationKind.Uniform;
    /// <summary>Fixed: the duration. LogNormal: the median.</summary>
    public double Seconds { get; set; } = 2;
    /// <summary>Uniform: lower bound.</summary>
    public double MinSeconds { get; set; } = 1;
    /// <summary>Uniform: upper bound.</summary>
    public double MaxSeconds { get; set; } = 3;
    /// <summary>LogNormal: standard deviation of ln(duration).</summary>
    public double Sigma { get; set; } = 0.5;
    /// <summary>When set, the sampled duration is multiplied by volumeSizeGiB / ReferenceSizeGiB.</summary>
    public double? ReferenceSizeGiB { get; set; }
}

public sealed class DurationConfig
{
    /// <summary>CreateSnapshot: pending → completed.</summary>
    public DurationModel Snapshot { get; set; } = new();
    /// <summary>CopySnapshot within a region (full copy).</summary>
    public DurationModel Copy { get; set; } = new();
    /// <summary>Multiplier for a copy to another region or to an Outpost.</summary>
    public double CrossRegionFactor { get; set; } = 1.5;
    /// <summary>Multiplier for an incremental copy across regions or accounts (EC2's rules: the destination holds the most
    /// recently completed copy of the source volume's lineage, not deleted, and every copy there uses the same key). A copy
    /// within one account and region with the same key is incremental but moves no data: it takes the plain
    /// <see cref="Copy"/> duration.</summary>
    public double IncrementalFactor { get; set; } = 0.3;
    /// <summary>Share of the volume size an incremental copy transfers (the blocks changed since its base copy), in [0, 1];
    /// null: <see cref="IncrementalFactor"/>, so bytes and duration agree. A full copy transfers the volume size.</summary>
    public double? IncrementalChangedShare { get; set; }
    /// <summary>CreateVolume: creating → available.</summary>
    public double VolumeCreateSeconds { get; set; } = 1;
}

/// <summary>A token bucket: <see cref="Burst"/> tokens, refilled at <see cref="RefillPerSecond"/>.</summary>
public sealed class BucketConfig
{
    public BucketConfig() { }
    public BucketConfig(int burst, double refillPerSecond) { Burst = burst; RefillPerSecond = refillPerSecond; }
    public int Burst { get; set; }
    public double RefillPerSecond { get; set; }
}

public sealed class LimitConfig
{
    /// <summary>Pending copies per destination region per account (EC2: 20, not adjustable). 0 disables.</summary>
    public int MaxPendingCopiesPerRegion { get; set; } = 20;
    /// <summary>Time-based copies: the cumulative throughput in MiB/s of all time-based copies between one source and one
    /// destination region in an account (EC2's "Cumulative snapshot copy throughput quota", 2,000 MiB/s by default,
    /// adjustable: quota code L-E137849C, https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html).</summary>
    public double TimeBasedCopyThroughputMiBps { get; set; } = 2000;
    /// <summary>Time-based copies: the most one copy gets in MiB/s (EC2's "Snapshot copy operation throughput quota", 500
    /// MiB/s, not adjustable).</summary>
    public double TimeBasedCopyMaxPerCopyMiBps { get; set; } = 500;
    /// <summary>Pending (and error) snapshots per volume. 0 disables.</summary>
    public int MaxPendingSnapshotsPerVolume { get; set; } = 5;
    /// <summary>The same for st1/sc1 volumes.</summary>
    public int MaxPendingSnapshotsPerThroughputVolume { get; set; } = 1;
    /// <summary>Minimum seconds between two snapshots of one volume. 0 disables.</summary>
    public double MinSecondsBetweenVolumeSnapshots { get; set; } = 15;
    /// <summary>Token buckets on or off.</summary>
    public bool RequestRateLimits { get; set; } = true;
    /// <summary>Bucket per action name (per account and region). The key "DescribeSnapshots" is used when the call is
    /// filtered or paginated, "DescribeSnapshots.Unfiltered" otherwise. Actions not listed use <see cref="DefaultBucket"/>.
    /// Sizes from "Request throttling for the Amazon EC2 API"
    /// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html): ModifySnapshotAttribute (100/5) and
    /// DeleteTags (100/10) are among its uncategorized actions with their own buckets; ResetSnapshotAttribute is a
    /// mutating action (50/5); DescribeSnapshotAttribute a non-mutating one (100/20, not in the unfiltered subset).</summary>
    public Dictionary<string, BucketConfig> Buckets { get; set; } = new(StringComparer.Ordinal)
    {
        ["CopySnapshot"] = new(50, 5),
        ["DescribeSnapshots"] = new(100, 20),
        ["DescribeSnapshots.Unfiltered"] = new(50, 10),
        ["CreateSnapshot"] = new(100, 5),
        ["CreateSnapshots"] = new(100, 5),
        ["DeleteSnapshot"] = new(100, 5),
        ["CreateTags"] = new(100, 10),
        ["DeleteTags"] = new(100, 10),
        ["ModifySnapshotAttribute"] = new(100, 5),
        ["ResetSnapshotAttribute"] = new(50, 5),
        ["DescribeSnapshotAttribute"] = new(100, 20),
        ["CreateVolume"] = new(100, 5),
        ["DescribeInstances"] = new(100, 20),
        // Get* actions are non-mutating (100/20); Enable/Disable/Modify/Reset are mutating ones (50/5).
        ["GetEbsEncryptionByDefault"] = new(100, 20),
        ["GetEbsDefaultKmsKeyId"] = new(100, 20),
        ["EnableEbsEncryptionByDefault"] = new(50, 5),
        ["DisableEbsEncryptionByDefault"] = new(50, 5),
        ["ModifyEbsDefaultKmsKeyId"] = new(50, 5),
        ["ResetEbsDefaultKmsKeyId"] = new(50, 5),
    };
    public BucketConfig DefaultBucket { get; set; } = new(100, 20);
}

/// <summary>Injected faults. Every rate is a probability in [0, 1] per call (or per snapshot).</summary>
public sealed class FaultConfig
{
    /// <summary>When non-empty, call-level faults hit only these actions.</summary>
    public List<string> Actions { get; set; } = new();
    /// <summary>Extra <c>RequestLimitExceeded</c> (503) beyond the buckets.</summary>
    public double ThrottleRate { get; set; }
    /// <summary>HTTP 500 <c>InternalError</c>.</summary>
    public double InternalErrorRate { get; set; }
    /// <summary>HTTP 503 <c>Unavailable</c>.</summary>
    public double UnavailableRate { get; set; }
    /// <summary>Connection dropped before the action runs (nothing happened).</summary>
    public double DropBeforeActionRate { get; set; }
    /// <summary>Connection dropped after the action ran (the "lost response": the resource exists).</summary>
    public double DropAfterActionRate { get; set; }
    /// <summary>Responses delayed by <see cref="SlowResponseSeconds"/> (wall-clock).</summary>
    public double SlowResponseRate { get; set; }
    public double SlowResponseSeconds { get; set; } = 5;
    /// <summary>Copies that end in <c>error</c> with a statusMessage.</summary>
    public double CopyErrorRate { get; set; }
    /// <summary>Created snapshots that end in <c>error</c>.</summary>
    public double SnapshotErrorRate { get; set; }
    /// <summary>Eventual consistency: share of new snapshots invisible to DescribeSnapshots for <see cref="InvisibleSeconds"/>.</summary>
    public double InvisibleRate { get; set; }
    public double InvisibleSeconds { get; set; } = 2;
    /// <summary>KMS key ids, ARNs or aliases that exist but are not accessible: copies encrypted with them end in error.</summary>
    public List<string> InaccessibleKmsKeys { get; set; } = new();
}

/// <summary>Credential and permission faults. A call they hit is rejected before injected faults, token buckets and the
/// action (nothing happens); it is counted as a call and as an error. Checked in AWS's order: the key is known, then not
/// expired, then the region is enabled, then the action is allowed.</summary>
public sealed class CredentialConfig
{
    /// <summary>Access key ids whose credentials have expired. EC2: 400 <c>RequestExpired</c>; STS: 403 <c>ExpiredToken</c>.</summary>
    public List<string> ExpiredAccessKeys { get; set; } = new();
    /// <summary>Access key ids AWS does not know. EC2: 401 <c>AuthFailure</c>; STS: 403 <c>InvalidClientTokenId</c>.</summary>
    public List<string> InvalidAccessKeys { get; set; } = new();
    /// <summary>Access key id → EC2 action names it may not call (<c>*</c>: every action): 403 <c>UnauthorizedOperation</c>.
    /// STS GetCallerIdentity is never denied, as in AWS.</summary>
    public Dictionary<string, List<string>> DeniedActions { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Served regions the accounts have not enabled: every EC2 call signed for one fails 401 <c>OptInRequired</c>
    /// (STS is not affected).</summary>
    public List<string> OptInRequiredRegions { get; set; } = new();

    /// <summary>Lifetime in seconds of the credentials STS issues (AssumeRole, AssumeRoleWithWebIdentity) and the SSO
    /// portal hands out, in place of the DurationSeconds asked for; null: what was asked (STS's default, 3600, when
    /// nothing was). From their Expiration on, EC2 answers 400 <c>RequestExpired</c> and STS 403 <c>ExpiredToken</c> for
    /// them. 60 makes them expire "in a minute".</summary>
    public int? IssuedLifetimeSeconds { get; set; }

    /// <summary>Role ARNs that may not be assumed (<c>*</c>: every role): AssumeRole and AssumeRoleWithWebIdentity answer
    /// 403 <c>AccessDenied</c>, the SSO portal 403 <c>ForbiddenException</c>.</summary>
    public List<string> DeniedRoles { get; set; } = new();

    /// <summary>Web identity tokens AssumeRoleWithWebIdentity rejects (<c>*</c>: every token) with 400
    /// <c>InvalidIdentityToken</c>. Any other token of 4 characters or more is accepted.</summary>
    public List<string> RejectedWebIdentityTokens { get; set; } = new();

    /// <summary>SSO access tokens the SSO portal's GetRoleCredentials rejects (<c>*</c>: every token) with 401
    /// <c>UnauthorizedException</c>, as it rejects an empty one. Any other token is accepted.</summary>
    public List<string> RejectedSsoTokens { get; set; } = new();
}

public static class EmulatorRegions
{
    public static readonly IReadOnlyList<string> Default = new[]
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
        "ap-south-1", "ap-east-1", "sa-east-1", "me-south-1", "af-south-1",
    };
}
