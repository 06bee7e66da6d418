using System;
using System.Collections.Generic;
using System.Linq;
using Amazon.EC2;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// What a copy is and which copies count as the same: the CopySnapshot request a copy job sends (description, the tags
/// the module adds, encryption), and the rules by which a copy found in the destination is the one a request asks for
/// (same source, same Outpost, same encryption), so a re-run resumes instead of copying again.
/// </summary>
internal static class CopyRules
{
    /// <summary>EC2's limit of tags per snapshot.</summary>
    public const int MaxTags = 50;

    /// <summary>What a copy is tagged with to say how it was asked to be encrypted: <c>none</c>, <c>default</c> (the
    /// destination's default key) or <c>kms:</c> and the key as given. EC2 reports key ARNs, so an alias given by the
    /// user can only be compared through this tag.</summary>
    public static string EncryptionTag(SnapshotCopyRequest request) =>
        request.KmsKeyId is { Length: > 0 } key ? "kms:" + key
        : request.Encrypted || request.DestinationOutpostArn is not null ? "default"
        : "none";

    /// <summary>The identity of a copy: requests with the same one are served by one copy.</summary>
    public static string KeyOf(SnapshotCopyRequest request) =>
        request.SourceRegion + "|" + request.SourceSnapshotId + "|" + EncryptionTag(request) + "|" + (request.DestinationOutpostArn ?? "");

    public static string? TokenOf(Snapshot snapshot) => TagOf(snapshot, CopyTagNames.RequestToken);

    public static string? TagOf(Snapshot snapshot, string key) => snapshot.Tags?.FirstOrDefault(t => t.Key == key)?.Value;

    /// <summary>A copy in the destination that <paramref name="request"/> may use instead of copying: same Outpost, same
    /// encryption, not in error.</summary>
    public static bool Matches(Snapshot copy, SnapshotCopyRequest request, bool sourceEncrypted) =>
        Same(copy.OutpostArn, request.DestinationOutpostArn) && SameEncryption(copy, request, sourceEncrypted);

    /// <summary>The copy to use instead of copying again: a completed one (newest first), else a pending one; null when
    /// there is none (copies in <c>error</c> do not count).</summary>
    public static Snapshot? Choose(IEnumerable<Snapshot> matching)
    {
        var list = matching as IReadOnlyCollection<Snapshot> ?? matching.ToList();
        return list.Where(s => s.State?.Value == "completed").OrderByDescending(s => s.StartTime).FirstOrDefault()
               ?? list.Where(s => s.State?.Value == "pending").OrderByDescending(s => s.StartTime).FirstOrDefault();
    }

    /// <summary>Encrypted as this request asks. Copies without the tag (made before it existed) are judged by what EC2
    /// says: encrypted when encryption was asked for (with the same key when one was given), anything otherwise.</summary>
    private static bool SameEncryption(Snapshot copy, SnapshotCopyRequest request, bool sourceEncrypted)
    {
        var wanted = EncryptionTag(request);
        if (TagOf(copy, CopyTagNames.Encryption) is { } tagged) return tagged == wanted;
        if (wanted == "none") return !sourceEncrypted || copy.Encrypted == true;
        return copy.Encrypted == true && (request.KmsKeyId is not { Length: > 0 } key || KeyMatches(copy.KmsKeyId, key));
    }

    private static bool KeyMatches(string? arn, string key) =>
        arn is not null && (arn == key || arn.EndsWith("/" + key, StringComparison.Ordinal));

    private static bool Same(string? a, string? b) => string.IsNullOrEmpty(a) ? string.IsNullOrEmpty(b) : a == b;

    /// <summary>The snapshot to keep among several with one token: the one already reported, else the oldest.</summary>
    public static Snapshot ChooseKept(IReadOnlyCollection<Snapshot> found, string? reportedId) =>
        found.FirstOrDefault(s => s.SnapshotId == reportedId)
        ?? found.OrderBy(s => s.StartTime ?? DateTime.MaxValue).ThenBy(s => s.SnapshotId, StringComparer.Ordinal).First();

    /// <summary>The CopySnapshot request for <paramref name="request"/> of <paramref name="source"/> with
    /// <paramref name="token"/>; the tags that did not fit (EC2 allows 50: the source's copied tags give way, in key
    /// order) are listed in <paramref name="dropped"/>.</summary>
    public static CopySnapshotRequest Build(SnapshotCopyRequest request, Snapshot source, string token, out string description,
        out Dictionary<string, string> tags, out List<string> dropped)
    {
        description = DescriptionTemplate.Expand(request.DescriptionTemplate, request.SourceSnapshotId, request.SourceRegion, source.Description);
        tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.CopyTags && source.Tags is not null)
        {
            foreach (var tag in source.Tags)
                if (tag.Key is not null && !tag.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase)) tags[tag.Key] = tag.Value ?? "";
        }
        foreach (var pair in request.Tags) tags[pair.Key] = pair.Value ?? "";
        tags[CopyTagNames.SourceSnapshotId] = request.SourceSnapshotId;
        tags[CopyTagNames.SourceRegion] = request.SourceRegion;
        tags[CopyTagNames.RequestToken] = token;
        tags[CopyTagNames.Encryption] = EncryptionTag(request);
        tags[CopyTagNames.SourceVolumeId] = CopyLineage.VolumeOf(source) ?? "";
        tags[CopyTagNames.SourceStartTime] = source.StartTime is { } started
            ? DateTime.SpecifyKind(started, DateTimeKind.Utc).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture)
            : "";
        dropped = new List<string>();
        if (tags.Count > MaxTags)
        {
            // Ours and -Tag are needed (resume, duplicate removal, the user's own): the source's copied tags give way.
            var copied = tags.Keys.Where(k => !request.Tags.ContainsKey(k) && Array.IndexOf(CopyTagNames.All, k) < 0)
                .OrderBy(k => k, StringComparer.Ordinal).ToList();
            dropped = copied.Skip(MaxTags - (tags.Count - copied.Count)).ToList();
            foreach (var key in dropped) tags.Remove(key);
        }
        var call = new CopySnapshotRequest
        {
            SourceRegion = request.SourceRegion,
            SourceSnapshotId = request.SourceSnapshotId,
            Description = description,
            TagSpecifications = new List<TagSpecification>
            {
                new() { ResourceType = ResourceType.Snapshot, Tags = tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() },
            },
        };
        if (request.Encrypted || request.KmsKeyId is not null)
        {
            call.Encrypted = true;
            call.KmsKeyId = request.KmsKeyId;
        }
        if (!string.IsNullOrEmpty(request.DestinationOutpostArn)) call.DestinationOutpostArn = request.DestinationOutpostArn;
        if (!string.IsNullOrEmpty(request.DestinationAvailabilityZone)) call.DestinationAvailabilityZone = request.DestinationAvailabilityZone;
        if (request.CompletionDurationMinutes is { } minutes) call.CompletionDurationMinutes = minutes;
        return call;
    }
}
