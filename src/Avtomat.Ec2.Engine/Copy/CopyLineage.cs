using System;
using System.Collections.Generic;
using System.Linq;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>Whether EC2 makes a copy full or incremental.</summary>
public enum CopyKind
{
    /// <summary>EC2 copies every written block of the source.</summary>
    Full,
    /// <summary>EC2 copies the blocks changed since the destination's most recent copy of the lineage.</summary>
    Incremental,
}

/// <summary>A copy's kind and why.</summary>
public sealed class LineageDecision(CopyKind kind, string reason, string? baseSnapshotId)
{
    public CopyKind Kind { get; } = kind;
    public string Reason { get; } = reason;
    /// <summary>The copy in the destination an incremental copy builds on.</summary>
    public string? BaseSnapshotId { get; } = baseSnapshotId;
}

/// <summary>
/// EC2's rules for full and incremental copies, applied to what the destination holds of a lineage (a source volume):
/// the copies this module made there, found by their <see cref="CopyTagNames.SourceVolumeId"/> tag.
/// <para>From "Incremental snapshot copying" (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html,
/// checked 2026-12-07): whether a copy is incremental is determined by the most recently completed snapshot copy; across
/// Regions or accounts a copy is incremental when the snapshot was copied to the destination before, the most recent copy
/// still exists there, it has not been archived, and all copies there are unencrypted or use the same KMS key. If the most
/// recent copy was deleted, the next copy is full. Considerations on the same page: a copy to a new Region and a copy
/// encrypted to a new KMS key are complete (non-incremental) copies; copies within one account and Region copy no data
/// while the encryption does not change.</para>
/// <para>What this cannot see: a more recent copy that was deleted while an older one of the lineage remains (EC2 then
/// copies in full; DescribeSnapshots no longer lists the deleted one), and copies of the lineage made by other tools (they
/// carry no lineage tag).</para>
/// </summary>
public static class CopyLineage
{
    /// <summary>What a copy's volume id is (EC2: "an arbitrary source volume ID").</summary>
    public const string CopyVolumeId = "vol-ffffffff";

    /// <summary>The lineage of <paramref name="source"/>: its volume, or for a source that is itself a copy, the volume its
    /// lineage tag names.</summary>
    public static string? VolumeOf(Snapshot source)
    {
        if (!string.IsNullOrEmpty(source.VolumeId) && source.VolumeId != CopyVolumeId) return source.VolumeId;
        return CopyRules.TagOf(source, CopyTagNames.SourceVolumeId) is { Length: > 0 } tagged ? tagged : null;
    }

    /// <summary>Full or incremental, for <paramref name="request"/> of <paramref name="source"/> into
    /// <paramref name="destinationRegion"/> of account <paramref name="destinationAccount"/>, given
    /// <paramref name="lineage"/>: the copies of the source's volume EC2 lists there (Owner self, lineage tag).</summary>
    public static LineageDecision Decide(SnapshotCopyRequest request, Snapshot source, string destinationRegion, string? destinationAccount,
        IEnumerable<Snapshot> lineage)
    {
        var sourceEncrypted = source.Encrypted == true;
        var reencrypts = request.KmsKeyId is { Length: > 0 } key && !(sourceEncrypted && KeyMatches(source.KmsKeyId, key));
        var encrypts = !sourceEncrypted && (request.Encrypted || request.KmsKeyId is not null);
        if (request.SourceRegion == destinationRegion && (destinationAccount is null || source.OwnerId is null || source.OwnerId == destinationAccount))
        {
            if (!reencrypts && !encrypts)
                return new LineageDecision(CopyKind.Incremental, "within one account and region with the same encryption: no data is copied", source.SnapshotId);
            return new LineageDecision(CopyKind.Full, request.KmsKeyId is not null ? "encrypted to a new key" : "encrypted for the first time", null);
        }
        var volume = VolumeOf(source);
        var copies = lineage.Where(s => s.State?.Value != "error" && s.SnapshotId != null).ToList();
        var latest = copies.Where(s => s.State?.Value == "completed")
            .OrderByDescending(s => s.CompletionTime ?? s.StartTime ?? DateTime.MinValue)
            .ThenByDescending(s => s.StartTime ?? DateTime.MinValue)
            .FirstOrDefault();
        if (volume is null) return new LineageDecision(CopyKind.Full, "the source's volume is not known", null);
        if (latest is null)
            return new LineageDecision(CopyKind.Full, copies.Count > 0
                ? $"no completed copy of {volume} in {destinationRegion} yet"
                : $"first copy of {volume} to {destinationRegion}", null);
        if (latest.StorageTier?.Value is { } tier && !string.Equals(tier, "standard", StringComparison.OrdinalIgnoreCase))
            return new LineageDecision(CopyKind.Full, $"the most recent copy {latest.SnapshotId} is archived", null);
        var wanted = KeyOfNew(request, sourceEncrypted);
        var other = copies.FirstOrDefault(c => !SameKey(KeyOfCopy(c), wanted));
        if (other is not null)
            return new LineageDecision(CopyKind.Full, wanted.Kind == "none"
                ? $"copy {other.SnapshotId} there is encrypted"
                : $"a new key: copy {other.SnapshotId} there uses {(other.Encrypted == true ? "another key" : "no key")}", null);
        return new LineageDecision(CopyKind.Incremental, $"incremental against {latest.SnapshotId}", latest.SnapshotId);
    }

    private readonly struct Key(string kind, string? id)
    {
        /// <summary>none, default (the destination's default EBS key) or kms.</summary>
        public string Kind { get; } = kind;
        public string? Id { get; } = id;
    }

    private static Key KeyOfNew(SnapshotCopyRequest request, bool sourceEncrypted) =>
        request.KmsKeyId is { Length: > 0 } key ? new Key("kms", key)
        : request.Encrypted || sourceEncrypted || request.DestinationOutpostArn is not null ? new Key("default", null)
        : new Key("none", null);

    /// <summary>A copy's key by the encryption tag it was made with (an alias given by the user is compared as given),
    /// and by what EC2 reports.</summary>
    private static Key KeyOfCopy(Snapshot copy)
    {
        if (copy.Encrypted != true) return new Key("none", null);
        var tag = CopyRules.TagOf(copy, CopyTagNames.Encryption);
        if (tag is not null && tag.StartsWith("kms:", StringComparison.Ordinal)) return new Key("kms", tag.Substring(4));
        return new Key("default", copy.KmsKeyId);
    }

    private static bool SameKey(Key copy, Key wanted)
    {
        if (copy.Kind != wanted.Kind) return false;
        return copy.Kind != "kms" || copy.Id == wanted.Id;
    }

    private static bool KeyMatches(string? arn, string key) =>
        arn is not null && (arn == key || arn.EndsWith("/" + key, StringComparison.Ordinal));
}
