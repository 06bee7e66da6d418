using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>Snapshots found by their request-token tag, and the choice of which to keep when a non-idempotent call
/// (CopySnapshot, CreateSnapshot, CreateSnapshots) left more than one: shared by copy and create jobs.</summary>
internal static class RequestTokenLookup
{
    /// <summary>Snapshots in <paramref name="region"/> (Owner self) tagged with any of <paramref name="tokens"/>, in
    /// batches. Null when the lookup failed (<paramref name="onFailure"/> is told why); callers retry on their own loop.</summary>
    public static async Task<List<Snapshot>?> FindAsync(Ec2Calls calls, IEc2ClientSource clients, string region,
        IReadOnlyList<string> tokens, CancellationToken cancellationToken, Action<string> onFailure)
    {
        var result = new List<Snapshot>();
        try
        {
            for (var i = 0; i < tokens.Count; i += SnapshotStatePoller.MaxIdsPerCall)
            {
                var request = new DescribeSnapshotsRequest
                {
                    OwnerIds = new List<string> { "self" },
                    Filters = new List<Filter>
                    {
                        new() { Name = "tag:" + CopyTagNames.RequestToken, Values = tokens.Skip(i).Take(SnapshotStatePoller.MaxIdsPerCall).ToList() },
                    },
                };
                var response = await calls.WithRetriesAsync("DescribeSnapshots", region,
                    ct => clients.For(region).DescribeSnapshotsAsync(request, ct), cancellationToken, request).ConfigureAwait(false);
                if (response.Snapshots is not null) result.AddRange(response.Snapshots);
            }
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            onFailure(FailurePolicy.Describe(ex));
            return null;
        }
    }

    /// <summary>The snapshot to keep among several with one token: the one already reported, else the oldest.</summary>
    public static Snapshot ChooseKept(IReadOnlyCollection<Snapshot> found, string? reportedId) =>
        found.FirstOrDefault(s => s.SnapshotId == reportedId)
        ?? found.OrderBy(s => s.StartTime ?? DateTime.MaxValue).ThenBy(s => s.SnapshotId, StringComparer.Ordinal).First();

    /// <summary>The ids to delete once <paramref name="keep"/> is chosen.</summary>
    public static IEnumerable<string> Extras(IEnumerable<Snapshot> found, Snapshot keep) =>
        found.Where(s => s.SnapshotId != keep.SnapshotId).Select(s => s.SnapshotId).Distinct(StringComparer.Ordinal);

    /// <summary>Deletes a duplicate: Deleted when this call deleted it, AlreadyGone when it no longer existed, otherwise
    /// the reason it could not be deleted.</summary>
    public static async Task<(DuplicateDeletion Outcome, Exception? Failure)> DeleteAsync(Ec2Calls calls, IEc2ClientSource clients, string region, string snapshotId,
        CancellationToken cancellationToken)
    {
        try
        {
            var request = new DeleteSnapshotRequest { SnapshotId = snapshotId };
            await calls.WithRetriesAsync("DeleteSnapshot", region,
                ct => clients.For(region).DeleteSnapshotAsync(request, ct), cancellationToken, request).ConfigureAwait(false);
            return (DuplicateDeletion.Deleted, null);
        }
        catch (Exception ex) when (FailurePolicy.CodeOf(ex) == "InvalidSnapshot.NotFound")
        {
            return (DuplicateDeletion.AlreadyGone, null);
        }
        catch (Exception ex)
        {
            return (DuplicateDeletion.Failed, ex);
        }
    }
}

internal enum DuplicateDeletion { Deleted, AlreadyGone, Failed }
