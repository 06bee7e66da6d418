namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Provenance tags every copy gets at creation. The request token finds a copy again after a lost response; the
/// source tags let a re-run find what an earlier run copied.</summary>
public static class CopyTagNames
{
    public const string SourceSnapshotId = "avtomat:source-snapshot-id";
    public const string SourceRegion = "avtomat:source-region";
    public const string RequestToken = "avtomat:request-token";
    /// <summary>How the copy was asked to be encrypted (none, default, kms:KEY), as given. Never decides reuse alone: a
    /// re-run reuses a copy only when EC2's own Encrypted and KmsKeyId on it match what it asks for.</summary>
    public const string Encryption = "avtomat:encryption";
    /// <summary>The source's volume: the lineage a later run looks up in the destination (EC2's own advice: tag copies
    /// "with the volume ID and creation time so that you can keep track of the most recent snapshot copy of a volume",
    /// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html, incremental snapshot copying).</summary>
    public const string SourceVolumeId = "avtomat:source-volume-id";
    /// <summary>The source snapshot's StartTime (ISO-8601 UTC): where the copy stands in its lineage.</summary>
    public const string SourceStartTime = "avtomat:source-start-time";

    /// <summary>On a source of a vault copy, followed by the vault's account id: this module shared the source with that
    /// account (written before the permission, deleted after it is removed), so only that permission is ever removed.</summary>
    public const string SharedWithPrefix = "avtomat:shared-with:";

    /// <summary>Every tag the module sets on a copy.</summary>
    public static readonly string[] All = { SourceSnapshotId, SourceRegion, RequestToken, Encryption, SourceVolumeId, SourceStartTime };
}
