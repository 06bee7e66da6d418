using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>
/// Finds the copies this module already made of a source in a destination — by an earlier run that was stopped, or by
/// another process still running — so a copy job resumes instead of copying again. Sources are looked up in batches per
/// (destination, source region): one DescribeSnapshots (Owner self, the <c>avtomat:source-snapshot-id</c> tag filter
/// with up to 200 values, the <c>avtomat:source-region</c> tag) per batch, never one per source.
/// </summary>
internal sealed class EarlierCopies
{
    private readonly CopyJob _job;
    private readonly ConcurrentDictionary<string, KeyBatcher<List<Snapshot>>> _batches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyBatcher<List<Snapshot>>> _twinBatches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _sawEarlierCopies = new(StringComparer.Ordinal);

    /// <summary>This job found copies earlier runs made in <paramref name="destination"/>: another run was (or is) at
    /// work there, so a copy of it may have been invisible when this job looked.</summary>
    public bool SawEarlierCopies(string destination) => _sawEarlierCopies.ContainsKey(destination);

    public EarlierCopies(CopyJob job) => _job = job;

    /// <summary>The copy to use instead of copying <paramref name="request"/> again: a completed one with the same
    /// encryption (newest first), else a pending one; null when there is none (copies in <c>error</c> do not count).</summary>
    public async Task<Snapshot?> FindAsync(SnapshotCopyRequest request, bool sourceEncrypted)
    {
        var batcher = _batches.GetOrAdd(request.DestinationRegion + "|" + request.SourceRegion, _ => new KeyBatcher<List<Snapshot>>(
            _job.Time, SourceChecker.CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => FetchAsync(request.DestinationRegion, request.SourceRegion, ids), _job.StopToken));
        var found = await batcher.GetAsync(request.SourceSnapshotId).ConfigureAwait(false);
        var matching = (found ?? new List<Snapshot>())
            .Where(s => Same(s.OutpostArn, request.DestinationOutpostArn) && SameEncryption(s, request, sourceEncrypted)).ToList();
        var chosen = matching.Where(s => s.State?.Value == "completed").OrderByDescending(s => s.StartTime).FirstOrDefault()
                     ?? matching.Where(s => s.State?.Value == "pending").OrderByDescending(s => s.StartTime).FirstOrDefault();
        // A run that was stopped before its final sweep may have left a twin of one request (a call sent again after a
        // lost answer): same request token, so certainly a duplicate. Keep the chosen one, delete the rest.
        if (chosen is not null && TokenOf(chosen) is { } token)
        {
            var twins = matching.Where(s => TokenOf(s) == token && s.State?.Value is "pending" or "completed").ToList();
            if (twins.Count > 1) await _job.KeepOneAsync(request.DestinationRegion, chosen.SnapshotId, twins).ConfigureAwait(false);
        }
        return chosen;
    }

    private static string? TokenOf(Snapshot snapshot) => snapshot.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.RequestToken)?.Value;

    /// <summary>A copy of the same source and encryption that another run (a stopped one, or another process) started
    /// when this run could not see it — at most the visibility grace before this run looked, or after — and earlier
    /// than ours: the one to keep, ours being the duplicate. Every run applies the same rule (the earliest start wins,
    /// then the lowest id), so two runs never both delete. Null when ours is the one to keep. Batched like
    /// <see cref="FindAsync"/>.</summary>
    /// <returns>The twin to keep (null: ours stays) and what goes when a twin is kept: every copy this run's request made
    /// (ours and any earlier attempt's, by the request token) and the kept one's own twins (by its token).</returns>
    public async Task<(Snapshot? Keep, List<Snapshot> Ours)> EarlierTwinAsync(SnapshotCopyRequest request, bool sourceEncrypted, string ourId,
        string ourToken, DateTime ourStart, DateTime lookedUpAt)
    {
        var unseenSince = lookedUpAt - _job.VisibilityGrace;
        var batcher = _twinBatches.GetOrAdd(request.DestinationRegion + "|" + request.SourceRegion, _ => new KeyBatcher<List<Snapshot>>(
            _job.Time, SourceChecker.CollectDelay, SnapshotStatePoller.MaxIdsPerCall,
            ids => FetchAsync(request.DestinationRegion, request.SourceRegion, ids), _job.StopToken));
        var found = await batcher.GetAsync(request.SourceSnapshotId).ConfigureAwait(false) ?? new List<Snapshot>();
        var ours = found.Where(s => s.SnapshotId == ourId || TokenOf(s) == ourToken).ToList();
        var keep = found
            .Where(s => s.SnapshotId != ourId && TokenOf(s) != ourToken && s.State?.Value is "pending" or "completed" && s.StartTime is { } started
                        && DateTime.SpecifyKind(started, DateTimeKind.Utc) >= unseenSince
                        && Same(s.OutpostArn, request.DestinationOutpostArn) && SameEncryption(s, request, sourceEncrypted))
            .Where(s => (s.StartTime!.Value, s.SnapshotId).CompareTo((ourStart, ourId)) < 0)
            .OrderBy(s => s.StartTime).ThenBy(s => s.SnapshotId, StringComparer.Ordinal)
            .FirstOrDefault();
        // The kept run may have left twins of its own request too (a call sent again after a lost answer): same token.
        if (keep is not null && TokenOf(keep) is { } keptToken)
            ours.AddRange(found.Where(s => s.SnapshotId != keep.SnapshotId && TokenOf(s) == keptToken && !ours.Contains(s)));
        return (keep, ours);
    }

    /// <summary>What a copy is tagged with to say how it was asked to be encrypted: <c>none</c>, <c>default</c> (the
    /// destination's default key) or <c>kms:</c> and the key as given. EC2 reports key ARNs, so an alias given by the
    /// user can only be compared through this tag.</summary>
    public static string EncryptionTag(SnapshotCopyRequest request) =>
        request.KmsKeyId is { Length: > 0 } key ? "kms:" + key
        : request.Encrypted || request.DestinationOutpostArn is not null ? "default"
        : "none";

    /// <summary>Encrypted as this request asks. Copies without the tag (made before it existed) are judged by what EC2
    /// says: encrypted when encryption was asked for (with the same key when one was given), anything otherwise.</summary>
    private static bool SameEncryption(Snapshot copy, SnapshotCopyRequest request, bool sourceEncrypted)
    {
        var wanted = EncryptionTag(request);
        if (copy.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.Encryption)?.Value is { } tagged) return tagged == wanted;
        if (wanted == "none") return !sourceEncrypted || copy.Encrypted == true;
        return copy.Encrypted == true && (request.KmsKeyId is not { Length: > 0 } key || KeyMatches(copy.KmsKeyId, key));
    }

    private static bool KeyMatches(string? arn, string key) =>
        arn is not null && (arn == key || arn.EndsWith("/" + key, StringComparison.Ordinal));

    private static bool Same(string? a, string? b) => string.IsNullOrEmpty(a) ? string.IsNullOrEmpty(b) : a == b;

    private async Task<Dictionary<string, List<Snapshot>>> FetchAsync(string destination, string sourceRegion, List<string> sourceIds)
    {
        var found = new List<Snapshot>();
        string? next = null;
        do
        {
            var request = new DescribeSnapshotsRequest
            {
                OwnerIds = new List<string> { "self" },
                Filters = new List<Filter>
                {
                    new() { Name = "tag:" + CopyTagNames.SourceSnapshotId, Values = sourceIds },
                    new() { Name = "tag:" + CopyTagNames.SourceRegion, Values = new List<string> { sourceRegion } },
                },
                NextToken = next,
            };
            var response = await _job.Calls.WithRetriesAsync("DescribeSnapshots", destination,
                ct => _job.Clients.For(destination).DescribeSnapshotsAsync(request, ct), _job.StopToken, request).ConfigureAwait(false);
            found.AddRange(response.Snapshots ?? new List<Snapshot>());
            next = response.NextToken;
        } while (!string.IsNullOrEmpty(next));
        if (found.Count > 0) _sawEarlierCopies[destination] = true;
        return found.GroupBy(s => s.Tags?.FirstOrDefault(t => t.Key == CopyTagNames.SourceSnapshotId)?.Value ?? "", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }
}
