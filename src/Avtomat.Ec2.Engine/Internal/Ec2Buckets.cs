using System;
using System.Collections.Generic;
using Amazon.EC2.Model;

namespace Avtomat.Ec2.Engine.Internal;

/// <summary>One of EC2's API token buckets: <see cref="Burst"/> calls at once, then <see cref="RefillPerSecond"/> a second.</summary>
internal sealed class Ec2Bucket
{
    public Ec2Bucket(int burst, double refillPerSecond)
    {
        Burst = burst;
        RefillPerSecond = refillPerSecond;
    }

    public int Burst { get; }
    public double RefillPerSecond { get; }
}

/// <summary>
/// The one table of EC2's API token buckets the engine paces under, per account, region and action (EC2's documented
/// request rate limits): every call a scheduler sends first takes a token from the scheduler's client-side copy of its
/// bucket (<see cref="Scheduling.RequestBuckets"/>: one per account and region, shared by every job in the process). A Describe call is "filtered or paginated" (the larger bucket) only when the request says so; anything
/// else, and a Describe whose request is not known, is paced under the smaller one.
/// </summary>
internal static class Ec2Buckets
{
    /// <summary>The suffix of a Describe action's bucket for calls that are neither filtered nor paginated.</summary>
    public const string UnfilteredSuffix = ".Unfiltered";

    /// <summary>Bucket name → size. DescribeVolumes and DescribeInstances are not in EC2-FACTS: they get EC2's documented
    /// non-mutating sizes (100/20 filtered or paginated, 50/10 otherwise).</summary>
    public static readonly IReadOnlyDictionary<string, Ec2Bucket> All = new Dictionary<string, Ec2Bucket>(StringComparer.Ordinal)
    {
        ["CopySnapshot"] = new(50, 5),
        ["CreateSnapshot"] = new(100, 5),
        ["CreateSnapshots"] = new(100, 5),
        ["DeleteSnapshot"] = new(100, 5),
        ["CreateTags"] = new(100, 10),
        ["DescribeSnapshots"] = new(100, 20),
        ["DescribeSnapshots" + UnfilteredSuffix] = new(50, 10),
        ["DescribeVolumes"] = new(100, 20),
        ["DescribeVolumes" + UnfilteredSuffix] = new(50, 10),
        ["DescribeInstances"] = new(100, 20),
        ["DescribeInstances" + UnfilteredSuffix] = new(50, 10),
        // Vault copies (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html): ModifySnapshotAttribute
        // and DeleteTags have buckets of their own; DescribeSnapshotAttribute is a non-mutating action outside the
        // unfiltered subset.
        ["ModifySnapshotAttribute"] = new(100, 5),
        ["DeleteTags"] = new(100, 10),
        ["DescribeSnapshotAttribute"] = new(100, 20),
        // What EC2 makes of a copy without a key: Get* actions are non-mutating ones ("Describe*, List*, Search*, and Get*"),
        // 100/20, and not in the unfiltered subset (same page).
        ["GetEbsEncryptionByDefault"] = new(100, 20),
        ["GetEbsDefaultKmsKeyId"] = new(100, 20),
    };

    /// <summary>An action not in the table: the smallest bucket there is (50 at once, 5 a second).</summary>
    public static readonly Ec2Bucket Unknown = new(50, 5);

    /// <summary>The size of a bucket named by <see cref="NameOf"/>.</summary>
    public static Ec2Bucket Of(string bucket) => All.TryGetValue(bucket, out var size) ? size : Unknown;

    /// <summary>The bucket a call of <paramref name="action"/> draws from: the action itself, except a Describe call
    /// that is neither filtered nor paginated (or whose request is not given), which draws from "action.Unfiltered".</summary>
    public static string NameOf(string action, object? request)
    {
        // Only the Describe actions EC2 gives a smaller bucket for unfiltered calls have one (and any Describe not in
        // the table is paced under the smallest bucket either way).
        if (!action.StartsWith("Describe", StringComparison.Ordinal) || All.ContainsKey(action) && !All.ContainsKey(action + UnfilteredSuffix)) return action;
        return FilteredOrPaginated(request) ? action : action + UnfilteredSuffix;
    }

    /// <summary>Filters, MaxResults or NextToken. Ids or owners alone are not counted as filters: EC2's documentation
    /// does not say they are, so such calls are paced under the smaller bucket.</summary>
    private static bool FilteredOrPaginated(object? request) => request switch
    {
        DescribeSnapshotsRequest r => r.Filters is { Count: > 0 } || r.MaxResults is not null || !string.IsNullOrEmpty(r.NextToken),
        DescribeVolumesRequest r => r.Filters is { Count: > 0 } || r.MaxResults is not null || !string.IsNullOrEmpty(r.NextToken),
        DescribeInstancesRequest r => r.Filters is { Count: > 0 } || r.MaxResults is not null || !string.IsNullOrEmpty(r.NextToken),
        _ => false,
    };
}
