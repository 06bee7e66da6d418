using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Accounts;

/// <summary>What every job in the process shares in one account and region: the copy window (EC2's 20 pending copies),
/// the batched poller, a client-side token bucket per EC2 bucket (<see cref="Ec2Buckets"/>), a rate per throttled bucket
/// and the per-volume rule keepers. Lives while a job leases it (see <see cref="AccountRegistry"/>); buckets not full
/// again outlive it there.</summary>
internal sealed class AccountRegion : IDisposable
{
    private readonly SnapshotEngine _engine;
    private readonly ConcurrentDictionary<string, RequestPacer> _pacers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VolumeGate> _volumes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AdaptiveRate> _rates = new(StringComparer.Ordinal);

    public AccountRegion(SnapshotEngine engine, string key, string region)
    {
        _engine = engine;
        Key = key;
        Region = region;
        CopyWindow = new CopyWindow(key, engine.RegionCopyLimit, engine.TimeProvider, engine.CopyWindowRecovery, engine.CopyOrderingDelay);
        Poller = new SnapshotStatePoller(key, region, engine.TimeProvider);
    }

    /// <summary>endpoint|account|region.</summary>
    public string Key { get; }
    public string Region { get; }
    public CopyWindow CopyWindow { get; }
    /// <summary>What copies into this account and region took: the copy window's order.</summary>
    public CopyDurations CopyDurations { get; } = new();
    public SnapshotStatePoller Poller { get; }

    /// <summary>Jobs holding it (guarded by the registry).</summary>
    internal int Leases { get; set; }

    /// <summary>EC2's token bucket <paramref name="bucket"/> here (a name from <see cref="Ec2Buckets.NameOf"/>), less
    /// <see cref="SnapshotEngine.PacingMargin"/> tokens kept in reserve for other clients and network jitter.</summary>
    public RequestPacer Pacer(string bucket) => _pacers.GetOrAdd(bucket, b =>
    {
        var size = Ec2Buckets.Of(b);
        return new RequestPacer(Key + "|" + b, _engine.TimeProvider, Math.Max(1, size.Burst - _engine.PacingMargin), size.RefillPerSecond);
    });

    /// <summary>How fast calls drawing from <paramref name="bucket"/> may be sent here, learned from EC2's throttling.</summary>
    public AdaptiveRate Rate(string bucket) => _rates.GetOrAdd(bucket, _ => new AdaptiveRate(_engine.TimeProvider));

    /// <summary>The buckets not full again yet (by name): EC2's do not refill any faster because this process stopped
    /// using them, so the registry keeps these for the next job here.</summary>
    internal Dictionary<string, RequestPacer> Refilling() =>
        _pacers.Where(p => !p.Value.IsFull).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Takes over the buckets an earlier lease left refilling (before any job here used them).</summary>
    internal void Resume(Dictionary<string, RequestPacer> refilling)
    {
        foreach (var pair in refilling)
            if (!pair.Value.IsFull) _pacers.TryAdd(pair.Key, pair.Value);
    }

    /// <summary>The per-volume rule keeper (pending count, spacing) of one volume.</summary>
    public VolumeGate Volume(string volumeId) => _volumes.GetOrAdd(volumeId,
        id => new VolumeGate(id, _engine.TimeProvider, _engine.MaxPendingPerVolume, _engine.VolumeSnapshotSpacing));

    public void Dispose() => CopyWindow.Dispose();
}
