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
    /// destination's default key) or <c>kms:</c> and the key as given. A provenance record only: whether a re-run may
    /// reuse the copy is EC2's to say (<see cref="KeyExpectation"/>); the tag is read only when the default key could not
    /// be resolved, and then only for a copy EC2 says is encrypted.</summary>
    public static string EncryptionTag(SnapshotCopyRequest request) =>
        request.KmsKeyId is { Length: > 0 } key ? "kms:" + key
        : request.Encrypted || request.DestinationOutpostArn is not null ? "default"
        : "none";

    /// <summary>The identity of a copy: requests with the same one are served by one copy.</summary>
    public static string KeyOf(SnapshotCopyRequest request) =>
        request.SourceRegion + "|" + request.SourceSnapshotId + "|" + EncryptionTag(request) + "|" + (request.DestinationOutpostArn ?? "");

    public static string? TokenOf(Snapshot snapshot) => TagOf(snapshot, CopyTagNames.RequestToken);

    public static string? TagOf(Snapshot snapshot, string key) => snapshot.Tags?.FirstOrDefault(t => t.Key == key)?.Value;

    /// <summary>A copy in the destination that <paramref name="request"/> may use instead of copying: same Outpost, and
    /// encrypted as EC2 would encrypt this request's copy (<paramref name="expected"/>, from EC2's own Encrypted and
    /// KmsKeyId on the copy, never from the avtomat:encryption tag alone).</summary>
    public static bool Matches(Snapshot copy, SnapshotCopyRequest request, KeyExpectation expected) =>
        Same(copy.OutpostArn, request.DestinationOutpostArn) && expected.Accepts(copy);

    /// <summary>The copy to use instead of copying again: a completed one (newest first), else a pending one; null when
    /// there is none (copies in <c>error</c> do not count).</summary>
    public static Snapshot? Choose(IEnumerable<Snapshot> matching)
    {
        var list = matching as IReadOnlyCollection<Snapshot> ?? matching.ToList();
        return list.Where(s => s.State?.Value == "completed").OrderByDescending(s => s.StartTime).FirstOrDefault()
               ?? list.Where(s => s.State?.Value == "pending").OrderByDescending(s => s.StartTime).FirstOrDefault();
    }

    internal static bool Same(string? a, string? b) => string.IsNullOrEmpty(a) ? string.IsNullOrEmpty(b) : a == b;

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

/// <summary>
/// How EC2 encrypts the copy a request makes, to judge an earlier copy by what EC2 says of it (its <c>Encrypted</c> and
/// <c>KmsKeyId</c>, the key's ARN: "The Amazon Resource Name (ARN) of the KMS key that was used to protect the volume
/// encryption key", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html). CopySnapshot: an
/// unencrypted source without <c>Encrypted</c> makes an unencrypted copy unless EBS encryption by default is on in the
/// destination ("To encrypt a copy of an unencrypted snapshot if encryption by default is not enabled, enable encryption
/// using this parameter"; https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html, a per-region
/// setting, GetEbsEncryptionByDefault); an encrypted source makes an encrypted copy; without <c>KmsKeyId</c> an
/// encrypted copy gets the account's default KMS key for EBS in the destination ("If this parameter is not specified,
/// your KMS key for Amazon EBS is used": the AWS managed <c>alias/aws/ebs</c> unless ModifyEbsDefaultKmsKeyId chose
/// another; GetEbsDefaultKmsKeyId says which), a same-region copy of an encrypted source may keep the source's key
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html,
/// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html). A key given as a key id, alias name, alias
/// ARN or key ARN names one key: KMS DescribeKey gives its ARN
/// (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html).
/// </summary>
internal sealed class KeyExpectation
{
    private KeyExpectation(bool encrypted, IReadOnlyCollection<string> arns, string? literal, bool defaultUnresolved, string wanted,
        bool acceptsUnencrypted = false)
    {
        Encrypted = encrypted;
        Arns = arns;
        Literal = literal;
        DefaultUnresolved = defaultUnresolved;
        Wanted = wanted;
        AcceptsUnencrypted = acceptsUnencrypted || !encrypted;
    }

    /// <summary>An unencrypted copy.</summary>
    public static readonly KeyExpectation Unencrypted = new(false, Array.Empty<string>(), null, false, "an unencrypted copy");

    /// <summary>A copy encrypted with one of <paramref name="arns"/> (a resolved key, and the source's key where EC2 may keep it).</summary>
    public static KeyExpectation Keys(IReadOnlyCollection<string> arns, string wanted) => new(true, arns, null, false, wanted);

    /// <summary>The key given could not be resolved: a copy encrypted with it as given (EC2 reports key ARNs, so a key id
    /// matches the id inside the ARN; an alias matches nothing), or with one of <paramref name="arns"/>.</summary>
    public static KeyExpectation Unresolved(string key, IReadOnlyCollection<string> arns, string wanted) => new(true, arns, key, false, wanted);

    /// <summary>The destination's default EBS key could not be resolved: an encrypted copy that was asked for with the default
    /// key (EC2 says it is encrypted, and its avtomat:encryption tag says <c>default</c>), or one with <paramref name="arns"/>.</summary>
    public static KeyExpectation DefaultUnknown(IReadOnlyCollection<string> arns, string wanted) => new(true, arns, null, true, wanted);

    /// <summary>Whether EC2 encrypts the copy of an unencrypted source asked for without encryption is not known (EBS
    /// encryption by default could not be read): an unencrypted copy, or one this expectation accepts (the default key).</summary>
    public KeyExpectation OrUnencrypted(string wanted) => new(Encrypted, Arns, Literal, DefaultUnresolved, wanted, acceptsUnencrypted: true);

    /// <summary>An encrypted copy is what EC2 makes of the request (with one of the keys).</summary>
    public bool Encrypted { get; }
    /// <summary>An unencrypted copy is accepted: EC2 makes one (or may, when encryption by default is not known).</summary>
    public bool AcceptsUnencrypted { get; }
    public IReadOnlyCollection<string> Arns { get; }
    public string? Literal { get; }
    public bool DefaultUnresolved { get; }
    /// <summary>What the request asks for, in words (verbose lines).</summary>
    public string Wanted { get; }

    public bool Accepts(Snapshot copy)
    {
        if (copy.Encrypted != true) return AcceptsUnencrypted;
        if (!Encrypted || copy.KmsKeyId is not { Length: > 0 } arn) return false;
        if (Arns.Contains(arn)) return true;
        if (Literal is not null) return arn == Literal || arn.EndsWith(":key/" + Literal, StringComparison.Ordinal);
        return DefaultUnresolved && CopyRules.TagOf(copy, CopyTagNames.Encryption) == "default";
    }

    /// <summary>What EC2 says of a copy's encryption, in words.</summary>
    public static string Describe(Snapshot copy) =>
        copy.Encrypted == true ? $"encrypted with {(string.IsNullOrEmpty(copy.KmsKeyId) ? "an unknown key" : copy.KmsKeyId)}" : "not encrypted";
}
