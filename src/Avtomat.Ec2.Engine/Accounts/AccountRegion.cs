using System;
using System.Collections.Concurrent;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Internal;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine.Accounts;

/// <summary>What every job in the process shares in one account and region: the copy window (EC2's 20 pending copies),
/// the batched poller, a token bucket per paced action, a rate per throttled action and the per-volume rule keepers. Lives while a job leases it
/// (see <see cref="AccountRegistry"/>).</summary>
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

    /// <summary>EC2's token bucket for <paramref name="action"/> here, less a small reserve for other clients.</summary>
    public RequestPacer Pacer(string action) => _pacers.GetOrAdd(action,
        a => new RequestPacer(Key + "|" + a, _engine.TimeProvider, Math.Max(1, _engine.CreateBurst - _engine.PacingMargin), _engine.CreateRefillPerSecond));

    /// <summary>How fast <paramref name="action"/> may be called here, learned from EC2's throttling.</summary>
    public AdaptiveRate Rate(string action) => _rates.GetOrAdd(action, _ => new AdaptiveRate(_engine.TimeProvider));

    /// <summary>The per-volume rule keeper (pending count, spacing) of one volume.</summary>
    public VolumeGate Volume(string volumeId) => _volumes.GetOrAdd(volumeId,
        id => new VolumeGate(id, _engine.TimeProvider, _engine.MaxPendingPerVolume, _engine.VolumeSnapshotSpacing));

    public void Dispose() => CopyWindow.Dispose();
}
