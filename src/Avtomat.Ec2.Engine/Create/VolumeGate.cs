using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>
/// EC2's per-volume rules for one volume, kept process-wide (per endpoint, region and account) so every job in the
/// process respects them together, by queueing instead of failing:
/// <list type="bullet">
/// <item>at most <see cref="Limit"/> snapshots of the volume pending at once (5; 1 for st1/sc1). Snapshots in
/// <c>error</c> count too (until deleted), and so do snapshots started outside this process (learned from EC2 by
/// <see cref="Refresh"/>);</item>
/// <item>at least <see cref="Spacing"/> (15 s) between two snapshots of the volume, measured from when EC2 answered
/// the previous CreateSnapshot (never earlier than EC2's own acceptance time).</item>
/// </list>
/// A slot is held from before CreateSnapshot until the snapshot is seen completed; starts are serialized per volume
/// by <see cref="StartLock"/>.
/// </summary>
internal sealed class VolumeGate
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly OrderedWaiters<VolumeTicket> _waiters;
    private readonly Dictionary<string, DateTimeOffset> _ours = new(StringComparer.Ordinal);
    private readonly HashSet<string> _external = new(StringComparer.Ordinal);
    private readonly HashSet<string> _errored = new(StringComparer.Ordinal);
    private int _reserved;
    private int _peak;
    private DateTimeOffset? _lastStart;

    public VolumeGate(string volumeId, TimeProvider time, int limit, TimeSpan spacing)
    {
        VolumeId = volumeId;
        _time = time;
        Limit = Math.Max(1, limit);
        Spacing = spacing;
        _waiters = new OrderedWaiters<VolumeTicket>(_gate);
    }

    public string VolumeId { get; }
    public int Limit { get; private set; }
    public TimeSpan Spacing { get; }

    /// <summary>Held from the spacing wait through the CreateSnapshot call: one start at a time per volume.</summary>
    public SemaphoreSlim StartLock { get; } = new(1, 1);

    /// <summary>Snapshots counting against the limit now (in-flight calls, pending, errored, external).</summary>
    public int Used { get { lock (_gate) return UsedLocked; } }
    public int Errored { get { lock (_gate) return _errored.Count; } }
    public int External { get { lock (_gate) return _external.Count; } }
    public int PeakUsedByUs { get { lock (_gate) return _peak; } }

    private int UsedLocked => _reserved + _ours.Count + _external.Count + _errored.Count;

    /// <summary>Sets the limit from the volume type (st1/sc1: 1).</summary>
    public void SetLimit(int limit)
    {
        List<OrderedWaiters<VolumeTicket>.Waiter> granted;
        lock (_gate)
        {
            Limit = Math.Max(1, limit);
            granted = GrantLocked();
        }
        OrderedWaiters<VolumeTicket>.Complete(granted);
    }

    /// <summary>Waits for a free slot, first come first served (<paramref name="atFront"/> re-queues ahead of newer ones).</summary>
    public Task<VolumeTicket> AcquireAsync(CancellationToken cancellationToken, bool atFront = false) =>
        _waiters.AcquireAsync(() => UsedLocked < Limit, GrantOne, atFront, cancellationToken);

    /// <summary>How long until the next snapshot of this volume may start.</summary>
    public TimeSpan SpacingWait()
    {
        lock (_gate)
        {
            if (_lastStart is not { } last) return TimeSpan.Zero;
            var wait = last + Spacing - _time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
    }

    /// <summary>EC2 accepted a snapshot with this ticket: it now counts as pending; the spacing starts now.</summary>
    public void Accepted(VolumeTicket ticket, string snapshotId)
    {
        lock (_gate)
        {
            if (ticket.TryUse()) _reserved--;
            _ours[snapshotId] = _time.GetUtcNow();
            var now = _time.GetUtcNow();
            if (_lastStart is null || _lastStart < now) _lastStart = now;
        }
    }

    /// <summary>The ticket was not used (the call failed, a dry run, a stop).</summary>
    public void Release(VolumeTicket ticket)
    {
        List<OrderedWaiters<VolumeTicket>.Waiter> granted;
        lock (_gate)
        {
            if (!ticket.TryUse()) return;
            _reserved--;
            granted = GrantLocked();
        }
        OrderedWaiters<VolumeTicket>.Complete(granted);
    }

    /// <summary>EC2 said SnapshotCreationPerVolumeRateExceeded: someone else started one just now.</summary>
    public void NoteStartedElsewhere()
    {
        lock (_gate) _lastStart = _time.GetUtcNow();
    }

    /// <summary>A snapshot of the volume was seen final (or is no longer watched). Errored ones keep counting.</summary>
    public void Finished(string snapshotId, bool errored)
    {
        List<OrderedWaiters<VolumeTicket>.Waiter> granted;
        lock (_gate)
        {
            var known = _ours.Remove(snapshotId) | _external.Remove(snapshotId);
            if (errored && known) _errored.Add(snapshotId);
            granted = GrantLocked();
        }
        OrderedWaiters<VolumeTicket>.Complete(granted);
    }

    /// <summary>What EC2 says now: the volume's snapshots in <c>pending</c> or <c>error</c> (owned by the account).
    /// Snapshots of ours that EC2 no longer lists as such, and that are older than <paramref name="visibilityGrace"/>
    /// (a new one may not be listed yet), are done. Returns the ids started elsewhere that are pending (to be watched).</summary>
    public List<string> Refresh(IEnumerable<Snapshot> pendingOrError, TimeSpan visibilityGrace)
    {
        var newlyExternal = new List<string>();
        List<OrderedWaiters<VolumeTicket>.Waiter> granted;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var listed = pendingOrError.Where(s => s.SnapshotId is not null).ToList();
            var ids = new HashSet<string>(listed.Select(s => s.SnapshotId), StringComparer.Ordinal);
            foreach (var stale in _ours.Where(p => !ids.Contains(p.Key) && now - p.Value > visibilityGrace).Select(p => p.Key).ToList())
                _ours.Remove(stale);
            _errored.Clear();
            var external = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in listed)
            {
                if (s.State?.Value == "error") { _ours.Remove(s.SnapshotId); _errored.Add(s.SnapshotId); continue; }
                if (_ours.ContainsKey(s.SnapshotId)) continue;
                external.Add(s.SnapshotId);
                if (!_external.Contains(s.SnapshotId)) newlyExternal.Add(s.SnapshotId);
                if (s.StartTime is { } started)
                {
                    var at = new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc));
                    if (_lastStart is null || _lastStart < at) _lastStart = at;
                }
            }
            _external.Clear();
            _external.UnionWith(external);
            granted = GrantLocked();
        }
        OrderedWaiters<VolumeTicket>.Complete(granted);
        return newlyExternal;
    }

    public override string ToString() => $"{VolumeId}: {Used}/{Limit}";

    private VolumeTicket GrantOne()
    {
        _reserved++;
        var ours = _reserved + _ours.Count;
        if (ours > _peak) _peak = ours;
        return new VolumeTicket();
    }

    private List<OrderedWaiters<VolumeTicket>.Waiter> GrantLocked() => _waiters.GrantWhile(() => UsedLocked < Limit, GrantOne);
}

/// <summary>One reserved slot of a <see cref="VolumeGate"/>, used (accepted) or released once.</summary>
internal sealed class VolumeTicket
{
    private int _used;
    public bool TryUse() => Interlocked.Exchange(ref _used, 1) == 0;
}
