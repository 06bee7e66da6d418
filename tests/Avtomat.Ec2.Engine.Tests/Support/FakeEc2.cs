using System.Net;
using System.Reflection;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>An in-memory EC2 in virtual time: snapshots, copies that finish by the clock, the 20-copy limit, EC2's API
/// token buckets per account, region and action (evaluated exactly in virtual time), and hooks to inject failures.
/// Reached through a DispatchProxy over IAmazonEC2 (only the calls the engine makes).</summary>
public sealed partial class FakeEc2
{
    public const string DefaultAccount = "account:111111111111";

    private readonly object _gate = new();
    private readonly object _bucketGate = new();
    private readonly Dictionary<string, (double Tokens, DateTimeOffset Last)> _buckets = new();
    private int _nextId = 1;

    public FakeEc2(FakeTimeProvider clock) => Clock = clock;

    public FakeTimeProvider Clock { get; }
    public Dictionary<string, FakeSnapshot> Snapshots { get; } = new();
    public int CopyLimit { get; set; } = 20;
    public TimeSpan CopyDuration { get; set; } = TimeSpan.FromSeconds(4);
    /// <summary>Copies pending in a region started by someone else (count against the limit).</summary>
    public Func<string, int> ExternalPending { get; set; } = _ => 0;
    /// <summary>Runs before a CopySnapshot is performed: throw to fail it (nothing happens). Args: request, call number (1-based).</summary>
    public Action<CopySnapshotRequest, int>? BeforeCopy { get; set; }
    /// <summary>Runs after a copy was created: throw to lose the response. Args: request, new snapshot, call number.</summary>
    public Action<CopySnapshotRequest, FakeSnapshot, int>? AfterCopy { get; set; }
    /// <summary>Adjusts a new copy (final state, visibility, duration).</summary>
    public Action<FakeSnapshot>? OnCopyCreated { get; set; }
    /// <summary>Runs before a DescribeSnapshots: throw to fail it. Args: region, request.</summary>
    public Action<string, DescribeSnapshotsRequest>? BeforeDescribe { get; set; }

    /// <summary>EC2's token buckets (burst, refill per second) by bucket name, written out here on their own (not the
    /// engine's table). A Describe that is neither filtered nor paginated draws from "Action.Unfiltered".</summary>
    public Dictionary<string, (int Burst, double RefillPerSecond)> Buckets { get; } = new()
    {
        ["CopySnapshot"] = (50, 5),
        ["CreateSnapshot"] = (100, 5),
        ["CreateSnapshots"] = (100, 5),
        ["DeleteSnapshot"] = (100, 5),
        ["CreateTags"] = (100, 10),
        ["DescribeSnapshots"] = (100, 20),
        ["DescribeSnapshots.Unfiltered"] = (50, 10),
        ["DescribeVolumes"] = (100, 20),
        ["DescribeVolumes.Unfiltered"] = (50, 10),
        ["DescribeInstances"] = (100, 20),
        ["DescribeInstances.Unfiltered"] = (50, 10),
    };
    /// <summary>RequestLimitExceeded answers from the buckets (not injected ones), in all and per bucket.</summary>
    public int Throttles { get { lock (_bucketGate) return ThrottlesByBucket.Values.Sum(); } }
    public Dictionary<string, int> ThrottlesByBucket { get; } = new();
    /// <summary>When each bucket throttle happened.</summary>
    public List<DateTimeOffset> ThrottledAt { get; } = new();

    public List<CallRecord> Calls { get; } = new();
    public Dictionary<string, int> MaxPending { get; } = new();
    public int CopyCalls { get { lock (_gate) return Calls.Count(c => c.Action == "CopySnapshot"); } }

    public sealed class CallRecord
    {
        public string Action { get; set; } = "";
        public string Account { get; set; } = "";
        public string Region { get; set; } = "";
        public DateTimeOffset At { get; set; }
        public object Request { get; set; } = null!;
    }

    public List<CallRecord> CallsOf(string action, string? region = null, string? account = null)
    {
        lock (_gate) return Calls.Where(c => c.Action == action && (region is null || c.Region == region) && (account is null || c.Account == account)).ToList();
    }

    public string Seed(string region, string state = "completed", string? description = null, Dictionary<string, string>? tags = null,
        bool encrypted = false, string? outpostArn = null, TimeSpan? completesIn = null, string? statusMessage = null)
    {
        lock (_gate)
        {
            var s = new FakeSnapshot
            {
                Id = NewId(), Region = region, StartTime = Clock.GetUtcNow(), Description = description, Encrypted = encrypted,
                OutpostArn = outpostArn, FinalState = state == "pending" ? "completed" : state, StatusMessage = statusMessage,
                Duration = state == "pending" ? completesIn ?? TimeSpan.FromSeconds(5) : TimeSpan.Zero,
                Tags = tags is null ? new() : new(tags), VisibleFrom = Clock.GetUtcNow(), VolumeSize = 8,
            };
            Snapshots[s.Id] = s;
            return s.Id;
        }
    }

    public List<string> SeedMany(string region, int count) => Enumerable.Range(0, count).Select(_ => Seed(region)).ToList();

    public IAmazonEC2 ClientFor(string region, string account = DefaultAccount)
    {
        var proxy = DispatchProxy.Create<IAmazonEC2, Ec2Proxy>();
        ((Ec2Proxy)(object)proxy).Bind(this, region, account);
        return proxy;
    }

    public int PendingCopies(string region)
    {
        lock (_gate) return Snapshots.Values.Count(s => s.Region == region && s.IsCopy && s.StateAt(Clock.GetUtcNow()) == "pending");
    }

    /// <summary>A second snapshot made by the same request (a re-send nobody saw): same tags and source, started a
    /// moment later. No call, no token.</summary>
    public FakeSnapshot Twin(FakeSnapshot original)
    {
        lock (_gate)
        {
            var twin = new FakeSnapshot
            {
                Id = NewId(), Account = original.Account, Region = original.Region, StartTime = original.StartTime + TimeSpan.FromMilliseconds(10), Duration = original.Duration,
                FinalState = original.FinalState, IsCopy = original.IsCopy, SourceId = original.SourceId, VolumeId = original.VolumeId,
                Description = original.Description, Encrypted = original.Encrypted, KmsKeyId = original.KmsKeyId, VolumeSize = original.VolumeSize,
                VisibleFrom = original.VisibleFrom, Tags = new(original.Tags),
            };
            Snapshots[twin.Id] = twin;
            return twin;
        }
    }

    public List<FakeSnapshot> CopiesOf(string sourceId)
    {
        lock (_gate) return Snapshots.Values.Where(s => s.IsCopy && s.SourceId == sourceId).ToList();
    }

    internal string NewId() => $"snap-{_nextId++:x17}";

    internal void Record(string action, string region, object request, string account = DefaultAccount)
    {
        lock (_gate) Calls.Add(new CallRecord { Action = action, Account = account, Region = region, At = Clock.GetUtcNow(), Request = request });
    }

    /// <summary>Takes a token from the account's bucket in the region, or answers RequestLimitExceeded (503) as EC2 does.</summary>
    internal void TakeToken(string account, string region, string bucket)
    {
        if (!Buckets.TryGetValue(bucket, out var size)) return;
        lock (_bucketGate)
        {
            var key = account + "|" + region + "|" + bucket;
            var now = Clock.GetUtcNow();
            var (tokens, last) = _buckets.TryGetValue(key, out var b) ? b : (size.Burst, now);
            tokens = Math.Min(size.Burst, tokens + (now - last).TotalSeconds * size.RefillPerSecond);
            if (tokens < 1)
            {
                _buckets[key] = (tokens, now);
                ThrottlesByBucket[bucket] = ThrottlesByBucket.GetValueOrDefault(bucket) + 1;
                ThrottledAt.Add(now);
                throw Error("RequestLimitExceeded", HttpStatusCode.ServiceUnavailable, "Request limit exceeded.");
            }
            _buckets[key] = (tokens - 1, now);
        }
    }

    /// <summary>Someone else in the account spends <paramref name="count"/> tokens of a bucket now (may go below zero: EC2
    /// would have throttled them, which makes no difference to this account's next calls).</summary>
    public void SpendTokens(string bucket, int count, string region, string account = DefaultAccount)
    {
        lock (_bucketGate)
        {
            var size = Buckets[bucket];
            var key = account + "|" + region + "|" + bucket;
            var now = Clock.GetUtcNow();
            var (tokens, last) = _buckets.TryGetValue(key, out var b) ? b : (size.Burst, now);
            tokens = Math.Min(size.Burst, tokens + (now - last).TotalSeconds * size.RefillPerSecond);
            _buckets[key] = (Math.Max(0, tokens - count), now);
        }
    }

    /// <summary>Filters, MaxResults or NextToken make a Describe "filtered or paginated" (the stricter reading: ids or
    /// owners alone do not).</summary>
    internal static string DescribeBucket(string action, List<Filter>? filters, int? maxResults, string? nextToken) =>
        filters is { Count: > 0 } || maxResults is not null || !string.IsNullOrEmpty(nextToken) ? action : action + ".Unfiltered";

    public static AmazonEC2Exception Error(string code, HttpStatusCode status = HttpStatusCode.BadRequest, string message = "")
        => new(message, status >= HttpStatusCode.InternalServerError ? ErrorType.Receiver : ErrorType.Sender, code, "req-1", status);

    internal CopySnapshotResponse Copy(string account, string region, CopySnapshotRequest request)
    {
        int callNumber;
        lock (_gate)
        {
            Record("CopySnapshot", region, request, account);
            callNumber = Calls.Count(c => c.Action == "CopySnapshot");
        }
        TakeToken(account, region, "CopySnapshot");
        BeforeCopy?.Invoke(request, callNumber);
        FakeSnapshot copy;
        lock (_gate)
        {
            if (!Snapshots.TryGetValue(request.SourceSnapshotId, out var source) || source.Region != request.SourceRegion)
                throw Error("InvalidSnapshot.NotFound");
            if (request.DryRun == true) throw Error("DryRunOperation", HttpStatusCode.PreconditionFailed, "Request would have succeeded, but DryRun flag is set.");
            var now = Clock.GetUtcNow();
            var pending = Snapshots.Values.Count(s => s.Account == account && s.Region == region && s.IsCopy && s.StateAt(now) == "pending") + ExternalPending(region);
            if (pending >= CopyLimit)
                throw Error("ResourceLimitExceeded", message: $"Too many snapshot copies in progress. The limit is {CopyLimit} for this destination region.");
            copy = new FakeSnapshot
            {
                Id = NewId(), Account = account, Region = region, StartTime = now, Duration = CopyDuration, FinalState = "completed", IsCopy = true,
                SourceId = source.Id, Description = request.Description, Encrypted = request.Encrypted == true || source.Encrypted,
                KmsKeyId = request.KmsKeyId, VisibleFrom = now, VolumeSize = source.VolumeSize,
                Tags = (request.TagSpecifications ?? []).SelectMany(t => t.Tags ?? []).ToDictionary(t => t.Key, t => t.Value ?? ""),
            };
            OnCopyCreated?.Invoke(copy);
            Snapshots[copy.Id] = copy;
            MaxPending[region] = Math.Max(MaxPending.GetValueOrDefault(region), pending + 1);
        }
        AfterCopy?.Invoke(request, copy, callNumber);
        return new CopySnapshotResponse { SnapshotId = copy.Id };
    }

    internal DescribeSnapshotsResponse Describe(string account, string region, DescribeSnapshotsRequest request)
    {
        Record("DescribeSnapshots", region, request, account);
        TakeToken(account, region, DescribeBucket("DescribeSnapshots", request.Filters, request.MaxResults, request.NextToken));
        BeforeDescribe?.Invoke(region, request);
        lock (_gate)
        {
            var now = Clock.GetUtcNow();
            IEnumerable<FakeSnapshot> items = Snapshots.Values.Where(s => s.Region == region && s.VisibleFrom <= now);
            if (request.SnapshotIds is { Count: > 0 } ids)
            {
                foreach (var id in ids) if (!items.Any(s => s.Id == id)) throw Error("InvalidSnapshot.NotFound");
                items = items.Where(s => ids.Contains(s.Id));
            }
            foreach (var f in request.Filters ?? [])
            {
                if (f.Name == "snapshot-id") items = items.Where(s => f.Values.Contains(s.Id));
                else if (f.Name == "volume-id") items = items.Where(s => s.VolumeId is not null && f.Values.Contains(s.VolumeId));
                else if (f.Name == "status") items = items.Where(s => f.Values.Contains(s.StateAt(now)));
                else if (f.Name.StartsWith("tag:")) items = items.Where(s => s.Tags.TryGetValue(f.Name[4..], out var v) && f.Values.Contains(v));
                else throw new NotSupportedException(f.Name);
            }
            return new DescribeSnapshotsResponse { Snapshots = items.OrderBy(s => s.StartTime).Select(s => s.ToSdk(now)).ToList() };
        }
    }

    internal DeleteSnapshotResponse Delete(string account, string region, DeleteSnapshotRequest request)
    {
        Record("DeleteSnapshot", region, request, account);
        TakeToken(account, region, "DeleteSnapshot");
        lock (_gate)
        {
            if (!Snapshots.Remove(request.SnapshotId)) throw Error("InvalidSnapshot.NotFound");
        }
        return new DeleteSnapshotResponse();
    }
}

public sealed class FakeSnapshot
{
    public string Id { get; set; } = "";
    /// <summary>The account that made it (the 20-copy limit is per account).</summary>
    public string Account { get; set; } = FakeEc2.DefaultAccount;
    public string Region { get; set; } = "";
    public DateTimeOffset StartTime { get; set; }
    public TimeSpan Duration { get; set; }
    public string FinalState { get; set; } = "completed";
    public string? StatusMessage { get; set; }
    public bool IsCopy { get; set; }
    public string? SourceId { get; set; }
    /// <summary>The volume of a created snapshot (copies: null, reported as vol-ffffffff).</summary>
    public string? VolumeId { get; set; }
    public string? Description { get; set; }
    public bool Encrypted { get; set; }
    public string? KmsKeyId { get; set; }
    public string? OutpostArn { get; set; }
    public int VolumeSize { get; set; }
    public DateTimeOffset VisibleFrom { get; set; }
    public Dictionary<string, string> Tags { get; set; } = new();

    public string StateAt(DateTimeOffset now) => now >= StartTime + Duration ? FinalState : "pending";

    public Snapshot ToSdk(DateTimeOffset now)
    {
        var state = StateAt(now);
        var progress = state == "completed" ? 100 : Duration <= TimeSpan.Zero ? 0 : (int)(99 * Math.Min(1, (now - StartTime) / Duration));
        return new Snapshot
        {
            SnapshotId = Id, State = new Amazon.EC2.SnapshotState(state), Progress = $"{progress}%", StartTime = StartTime.UtcDateTime,
            StateMessage = state == "error" ? StatusMessage : null, Description = Description, Encrypted = Encrypted,
            KmsKeyId = KmsKeyId, OutpostArn = OutpostArn, VolumeSize = VolumeSize, VolumeId = VolumeId ?? "vol-ffffffff",
            Tags = Tags.Count == 0 ? null : Tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList(),
        };
    }
}

public class Ec2Proxy : DispatchProxy
{
    private FakeEc2 _model = null!;
    private string _region = "";
    private string _account = "";

    internal void Bind(FakeEc2 model, string region, string account)
    {
        _model = model;
        _region = region;
        _account = account;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        switch (method!.Name)
        {
            case "CopySnapshotAsync": return Run(() => _model.Copy(_account, _region, (CopySnapshotRequest)args![0]!));
            case "DescribeSnapshotsAsync": return Run(() => _model.Describe(_account, _region, (DescribeSnapshotsRequest)args![0]!));
            case "DeleteSnapshotAsync": return Run(() => _model.Delete(_account, _region, (DeleteSnapshotRequest)args![0]!));
            case "CreateSnapshotAsync": return Run(() => _model.CreateSnapshot(_account, _region, (CreateSnapshotRequest)args![0]!));
            case "CreateSnapshotsAsync": return Run(() => _model.CreateSnapshots(_account, _region, (CreateSnapshotsRequest)args![0]!));
            case "DescribeVolumesAsync": return Run(() => _model.DescribeVolumes(_account, _region, (DescribeVolumesRequest)args![0]!));
            case "DescribeInstancesAsync": return Run(() => _model.DescribeInstances(_account, _region, (DescribeInstancesRequest)args![0]!));
            case "Dispose": return null;
            default: throw new NotImplementedException(method.Name);
        }
    }

    private static Task<T> Run<T>(Func<T> call)
    {
        try { return Task.FromResult(call()); }
        catch (Exception ex) { return Task.FromException<T>(ex); }
    }
}

public sealed class FakeClientSource(FakeEc2 ec2, string endpoint = "https://fake.ec2/", string account = FakeEc2.DefaultAccount) : IEc2ClientSource
{
    public string Account => account;
    public IAmazonEC2 For(string region) => ec2.ClientFor(region, account);
    public IAmazonEC2 ForCopy(string region) => ec2.ClientFor(region, account);
    public string EndpointKey(string region) => endpoint;
}
