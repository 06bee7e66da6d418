using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Everything the emulator knows, behind one lock (<see cref="Gate"/>): simple and correct at test scale.
/// Nothing runs in the background; time-dependent state is computed from <see cref="Now"/> when read.</summary>
internal sealed partial class EmulatorState
{
    private readonly Dictionary<(string Account, string Region), RegionState> _regions = new();
    private readonly HashSet<string> _usedIds = new(StringComparer.Ordinal);
    /// <summary>Every snapshot of every account and region by id (ids are unique across the emulator): lookups by id,
    /// also of snapshots another account shared, without a scan. Kept by <see cref="RegionState.AddSnapshot"/> and
    /// <see cref="RegionState.RemoveSnapshot"/>.</summary>
    private readonly Dictionary<string, SnapshotRecord> _snapshots = new(StringComparer.Ordinal);
    /// <summary>Region → ids of the snapshots whose createVolumePermission has the group <c>all</c> (public).</summary>
    private readonly Dictionary<string, HashSet<string>> _publicSnapshots = new(StringComparer.Ordinal);
    private long _sequence;

    public EmulatorState(EmulatorOptions options)
    {
        Options = options;
        Random = new Random(options.RandomSeed);
    }

    public object Gate { get; } = new();
    public EmulatorOptions Options { get; }
    public EmulatorConfig Config => Options.Config;
    public Random Random { get; private set; }
    public StatsCollector Stats { get; private set; } = new();
    public DateTimeOffset Now => Options.TimeProvider.GetUtcNow();

    public RegionState Region(string account, string region)
    {
        if (!_regions.TryGetValue((account, region), out var state))
            _regions[(account, region)] = state = new RegionState(this, account, region);
        return state;
    }

    /// <summary>The (account, region) pairs that have state.</summary>
    public IEnumerable<(string Account, string Region)> KnownRegions => _regions.Keys;

    /// <summary>KMS keys with an owner account (<c>/_emulator/kms/…</c>).</summary>
    public KmsRegistry Kms { get; private set; } = new();

    public bool IsKnownRegion(string region) => Options.Regions.Contains(region, StringComparer.Ordinal);

    /// <summary>Credentials STS issued (kept across <see cref="Reset"/>).</summary>
    public IssuedCredentials Issued { get; } = new();

    /// <summary>The account a key acts in: its role's account when STS issued it, else the configured map, else the default.</summary>
    public string AccountFor(string? accessKeyId) =>
        Issued.Find(accessKeyId) is { } issued ? issued.Account
        : accessKeyId is not null && Options.Accounts.TryGetValue(accessKeyId, out var account) ? account : Options.DefaultAccountId;

    public long NextSequence() => ++_sequence;

    /// <summary>Ids the next <see cref="NewId"/> calls of their prefix return, in order (a seed's <see cref="SeedRequest.Ids"/>).</summary>
    private readonly Dictionary<string, Queue<string>> _presetIds = new(StringComparer.Ordinal);

    /// <summary>Makes the next <see cref="NewId"/> calls of each id's prefix return these ids, in order (for the ids of
    /// documentation examples). Each must be unused, "prefix-" and 8 or 17 lowercase hex digits.</summary>
    public void PresetIds(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var dash = id.IndexOf('-');
            if (dash <= 0 || !System.Text.RegularExpressions.Regex.IsMatch(id[(dash + 1)..], "^([0-9a-f]{8}|[0-9a-f]{17})$"))
                throw new ArgumentException($"'{id}' is not an EC2 id (prefix, '-', 8 or 17 lowercase hex digits).");
            if (_usedIds.Contains(id) || _presetIds.Values.Any(q => q.Contains(id))) throw new ArgumentException($"The id '{id}' is already used.");
            var prefix = id[..dash];
            if (!_presetIds.TryGetValue(prefix, out var queue)) _presetIds[prefix] = queue = new Queue<string>();
            queue.Enqueue(id);
        }
    }

    /// <summary>Drops preset ids no <see cref="NewId"/> call took.</summary>
    public void ClearPresetIds() => _presetIds.Clear();

    /// <summary>"snap-"/"vol-"/"i-"/"r-" + 17 lowercase hex digits from the seeded Random, unique in this emulator (or the
    /// next preset id of that prefix).</summary>
    public string NewId(string prefix)
    {
        if (_presetIds.TryGetValue(prefix, out var preset) && preset.TryDequeue(out var chosen) && _usedIds.Add(chosen)) return chosen;
        Span<byte> bytes = stackalloc byte[9];
        while (true)
        {
            Random.NextBytes(bytes);
            var id = prefix + "-" + Convert.ToHexStringLower(bytes)[..17];
            if (_usedIds.Add(id)) return id;
        }
    }

    /// <summary>Throughput held by time-based copies (<see cref="CopyTransfer.Admit"/>), ended ones dropped lazily.</summary>
    public List<ThroughputGrant> TimeBasedGrants { get; } = new();

    public bool Chance(double rate) => rate > 0 && (rate >= 1 || Random.NextDouble() < rate);

    /// <summary>The call log and its numbering (<see cref="Ec2Emulator.GetCalls()"/>).</summary>
    public CallLog Calls { get; private set; } = new();

    /// <summary>A snapshot by id in any account and region (ids are unique across the emulator).</summary>
    public (RegionState Region, SnapshotRecord Snapshot)? FindSnapshot(string id) =>
        _snapshots.TryGetValue(id, out var snapshot) ? (Region(snapshot.OwnerId, snapshot.Region), snapshot) : null;

    /// <summary>The snapshot <paramref name="id"/> of any account when it lives in <paramref name="region"/>; null when it
    /// exists nowhere there. Whether the caller may see it is <see cref="SnapshotRecord.CanBeSeenBy"/>.</summary>
    public SnapshotRecord? SnapshotIn(string region, string id) =>
        _snapshots.TryGetValue(id, out var snapshot) && snapshot.Region == region ? snapshot : null;

    /// <summary>The public snapshots (group <c>all</c>) of <paramref name="region"/>, every owner's.</summary>
    public IEnumerable<SnapshotRecord> PublicSnapshots(string region) =>
        _publicSnapshots.TryGetValue(region, out var ids) ? ids.Select(id => _snapshots[id]) : [];

    /// <summary>Adds <paramref name="account"/> to the snapshot's createVolumePermission (and to its "shared with me"
    /// index); false when it was there.</summary>
    public bool Share(SnapshotRecord snapshot, string account)
    {
        snapshot.CreateVolumeUserIds ??= new List<string>();
        if (snapshot.CreateVolumeUserIds.Contains(account)) return false;
        snapshot.CreateVolumeUserIds.Add(account);
        if (account != snapshot.OwnerId) Region(account, snapshot.Region).SharedWithMe.Add(snapshot.Id);
        return true;
    }

    /// <summary>Removes <paramref name="account"/> from the snapshot's createVolumePermission; false when it was not there.</summary>
    public bool Unshare(SnapshotRecord snapshot, string account)
    {
        if (snapshot.CreateVolumeUserIds?.Remove(account) != true) return false;
        if (snapshot.CreateVolumeUserIds.Count == 0) snapshot.CreateVolumeUserIds = null;
        if (_regions.TryGetValue((account, snapshot.Region), out var theirs)) theirs.SharedWithMe.Remove(snapshot.Id);
        return true;
    }

    /// <summary>Adds or removes the group <c>all</c> of the snapshot's createVolumePermission.</summary>
    public void SetPublic(SnapshotRecord snapshot, bool isPublic)
    {
        snapshot.CreateVolumePublic = isPublic;
        if (isPublic)
        {
            if (!_publicSnapshots.TryGetValue(snapshot.Region, out var ids)) _publicSnapshots[snapshot.Region] = ids = new(StringComparer.Ordinal);
            ids.Add(snapshot.Id);
        }
        else if (_publicSnapshots.TryGetValue(snapshot.Region, out var ids)) ids.Remove(snapshot.Id);
    }

    /// <summary>Clears the snapshot's createVolumePermission (private to its owner again).</summary>
    public void ResetPermissions(SnapshotRecord snapshot)
    {
        foreach (var account in snapshot.CreateVolumeUserIds?.ToList() ?? []) Unshare(snapshot, account);
        if (snapshot.CreateVolumePublic) SetPublic(snapshot, false);
    }

    internal void Indexed(SnapshotRecord snapshot) => _snapshots.Add(snapshot.Id, snapshot);

    internal void Unindexed(SnapshotRecord snapshot)
    {
        ResetPermissions(snapshot);
        _snapshots.Remove(snapshot.Id);
    }

    public void Reset()
    {
        Calls = new CallLog();
        _regions.Clear();
        _snapshots.Clear();
        _publicSnapshots.Clear();
        Kms = new KmsRegistry();
        _usedIds.Clear();
        _presetIds.Clear();
        _sequence = 0;
        TimeBasedGrants.Clear();
        Random = new Random(Options.RandomSeed);
        Stats = new StatsCollector();
    }

    [GeneratedRegex("^snap-([0-9a-f]{8}|[0-9a-f]{17})$", RegexOptions.CultureInvariant)]
    public static partial Regex SnapshotIdPattern();

    [GeneratedRegex("^vol-([0-9a-f]{8}|[0-9a-f]{17})$", RegexOptions.CultureInvariant)]
    public static partial Regex VolumeIdPattern();

    [GeneratedRegex("^i-([0-9a-f]{8}|[0-9a-f]{17})$", RegexOptions.CultureInvariant)]
    public static partial Regex InstanceIdPattern();
}

/// <summary>One account in one region: its snapshots, volumes and token buckets.</summary>
internal sealed class RegionState(EmulatorState state, string account, string region)
{
    private readonly Dictionary<string, SnapshotRecord> _snapshots = new(StringComparer.Ordinal);

    public string Account { get; } = account;
    public string Name { get; } = region;
    /// <summary>The account's own snapshots here. Changed only through <see cref="AddSnapshot"/> and
    /// <see cref="RemoveSnapshot"/>, which keep the emulator's index by id and the sharing indexes.</summary>
    public IReadOnlyDictionary<string, SnapshotRecord> Snapshots => _snapshots;
    /// <summary>Ids of other accounts' snapshots here whose createVolumePermission names this account.</summary>
    public HashSet<string> SharedWithMe { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, VolumeRecord> Volumes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, InstanceRecord> Instances { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, TokenBucket> Buckets { get; } = new(StringComparer.Ordinal);
    /// <summary>EBS encryption by default in this account and region (off until EnableEbsEncryptionByDefault): new
    /// volumes and snapshot copies are encrypted ("Encryption by default is a Region-specific setting",
    /// https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html).</summary>
    public bool EbsEncryptionByDefault { get; set; }
    /// <summary>The default KMS key for EBS here as a key ARN (ModifyEbsDefaultKmsKeyId); null: the AWS managed key
    /// (alias/aws/ebs), also after ResetEbsDefaultKmsKeyId.</summary>
    public string? EbsDefaultKmsKeyArn { get; set; }

    /// <summary>The key ARN EC2 encrypts with here when a request names none: the default KMS key for EBS
    /// ("If this parameter is not specified, your KMS key for Amazon EBS is used",
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopySnapshot.html).</summary>
    public string DefaultEbsKeyArn => EbsDefaultKmsKeyArn ?? KmsKeys.DefaultKeyArn(Account, Name);

    /// <summary>Start time of the latest snapshot per volume (kept after deletion, for the per-volume rate rule).</summary>
    public Dictionary<string, DateTimeOffset> LastSnapshotPerVolume { get; } = new(StringComparer.Ordinal);

    public string Key => KeyOf(Account, Name);

    /// <summary>"ACCOUNT/REGION": the key of the stats tables.</summary>
    public static string KeyOf(string account, string region) => $"{account}/{region}";

    public int PendingCopies(DateTimeOffset now) => _snapshots.Values.Count(s => s.IsCopy && s.IsPending(now));

    /// <summary>Every copy ever made into this account and region per <see cref="SnapshotRecord.LineageVolume"/>, in
    /// creation order, deleted ones included (EC2's rule asks whether the most recent one still exists).</summary>
    private readonly Dictionary<string, List<SnapshotRecord>> _copiesByLineage = new(StringComparer.Ordinal);

    public IReadOnlyList<SnapshotRecord> CopiesOf(string lineageVolume) =>
        _copiesByLineage.TryGetValue(lineageVolume, out var copies) ? copies : [];

    public void AddSnapshot(SnapshotRecord snapshot)
    {
        if (snapshot.OwnerId != Account || snapshot.Region != Name)
            throw new InvalidOperationException($"Snapshot {snapshot.Id} of {snapshot.OwnerId}/{snapshot.Region} added to {Key}.");
        _snapshots.Add(snapshot.Id, snapshot);
        if (snapshot.IsCopy)
        {
            if (!_copiesByLineage.TryGetValue(snapshot.LineageVolume, out var copies))
                _copiesByLineage[snapshot.LineageVolume] = copies = new List<SnapshotRecord>();
            copies.Add(snapshot);
        }
        state.Indexed(snapshot);
    }

    /// <summary>Deletes the snapshot (and every permission on it); false when it is not this account's here.</summary>
    public bool RemoveSnapshot(string id)
    {
        if (!_snapshots.Remove(id, out var snapshot)) return false;
        state.Unindexed(snapshot);
        return true;
    }
}

/// <summary>Counters behind <see cref="EmulatorStats"/>.</summary>
internal sealed class StatsCollector
{
    private readonly EmulatorStats _stats = new();

    public void Call(string regionKey, string action) { Increment(_stats.Calls, regionKey, action); _stats.TotalCalls++; }
    public void Throttled(string regionKey, string action) => Increment(_stats.Throttled, regionKey, action);
    public void Error(string action, string code) => Increment(_stats.Errors, action, code);
    public void Fault(string kind) => _stats.Faults[kind] = _stats.Faults.GetValueOrDefault(kind) + 1;
    public void VolumeRuleRejection() => _stats.VolumeRuleRejections++;

    public void Copy(string sourceKey, string destinationRegion, string destinationKey, int pendingCopies, DateTimeOffset startTime)
    {
        if (_stats.FirstCopyStartTime is null || startTime < _stats.FirstCopyStartTime) _stats.FirstCopyStartTime = startTime;
        if (!_stats.CopiesPerSource.TryGetValue(sourceKey, out var perDest))
            _stats.CopiesPerSource[sourceKey] = perDest = new Dictionary<string, int>();
        perDest[destinationRegion] = perDest.GetValueOrDefault(destinationRegion) + 1;
        if (!_stats.CopiesPerSourceAndDestination.TryGetValue(sourceKey, out var perAccount))
            _stats.CopiesPerSourceAndDestination[sourceKey] = perAccount = new Dictionary<string, int>();
        perAccount[destinationKey] = perAccount.GetValueOrDefault(destinationKey) + 1;
        _stats.MaxPendingCopies[destinationKey] = Math.Max(_stats.MaxPendingCopies.GetValueOrDefault(destinationKey), pendingCopies);
        _stats.CopiesPerDestination[destinationKey] = _stats.CopiesPerDestination.GetValueOrDefault(destinationKey) + 1;
    }

    public void CopyDetail(string copyId, CopyStats detail)
    {
        _stats.CopyDetails[copyId] = detail;
        _stats.TransferredBytes += detail.TransferredBytes;
    }

    public CopyStats? CopyDetailOf(string copyId) => _stats.CopyDetails.GetValueOrDefault(copyId);

    /// <param name="secondsSincePrevious">Gap to the previous accepted snapshot of the volume, null for its first.</param>
    public void VolumeSnapshot(string volumeId, int pendingSnapshots, double? secondsSincePrevious, DateTimeOffset startTime, DateTimeOffset endTime)
    {
        if (secondsSincePrevious is { } gap && (_stats.MinSecondsBetweenVolumeSnapshots is null || gap < _stats.MinSecondsBetweenVolumeSnapshots))
            _stats.MinSecondsBetweenVolumeSnapshots = gap;
        if (_stats.LastSnapshotStartTime is null || startTime > _stats.LastSnapshotStartTime) _stats.LastSnapshotStartTime = startTime;
        if (_stats.LastSnapshotEndTime is null || endTime > _stats.LastSnapshotEndTime) _stats.LastSnapshotEndTime = endTime;
        _stats.SnapshotsPerVolume[volumeId] = _stats.SnapshotsPerVolume.GetValueOrDefault(volumeId) + 1;
        _stats.MaxPendingSnapshotsPerVolume[volumeId] =
            Math.Max(_stats.MaxPendingSnapshotsPerVolume.GetValueOrDefault(volumeId), pendingSnapshots);
    }

    /// <summary>A deep copy, safe to hand out.</summary>
    public EmulatorStats Snapshot() => new()
    {
        Calls = _stats.Calls.ToDictionary(p => p.Key, p => new Dictionary<string, long>(p.Value)),
        Throttled = _stats.Throttled.ToDictionary(p => p.Key, p => new Dictionary<string, long>(p.Value)),
        Faults = new Dictionary<string, long>(_stats.Faults),
        Errors = _stats.Errors.ToDictionary(p => p.Key, p => new Dictionary<string, long>(p.Value)),
        MaxPendingCopies = new Dictionary<string, int>(_stats.MaxPendingCopies),
        CopiesPerSource = _stats.CopiesPerSource.ToDictionary(p => p.Key, p => new Dictionary<string, int>(p.Value)),
        CopiesPerSourceAndDestination = _stats.CopiesPerSourceAndDestination.ToDictionary(p => p.Key, p => new Dictionary<string, int>(p.Value)),
        CopiesPerDestination = new Dictionary<string, int>(_stats.CopiesPerDestination),
        SnapshotsPerVolume = new Dictionary<string, int>(_stats.SnapshotsPerVolume),
        MaxPendingSnapshotsPerVolume = new Dictionary<string, int>(_stats.MaxPendingSnapshotsPerVolume),
        VolumeRuleRejections = _stats.VolumeRuleRejections,
        MinSecondsBetweenVolumeSnapshots = _stats.MinSecondsBetweenVolumeSnapshots,
        FirstCopyStartTime = _stats.FirstCopyStartTime,
        LastSnapshotStartTime = _stats.LastSnapshotStartTime,
        LastSnapshotEndTime = _stats.LastSnapshotEndTime,
        TotalCalls = _stats.TotalCalls,
        CopyDetails = _stats.CopyDetails.ToDictionary(p => p.Key, p => Clone(p.Value)),
        TransferredBytes = _stats.TransferredBytes,
    };

    private static CopyStats Clone(CopyStats s) => new()
    {
        Source = s.Source, Destination = s.Destination, Kind = s.Kind, Reason = s.Reason, BaseSnapshotId = s.BaseSnapshotId,
        LineageVolume = s.LineageVolume, TransferredBytes = s.TransferredBytes, StartTime = s.StartTime, EndTime = s.EndTime,
        TransferType = s.TransferType, CompletionDurationMinutes = s.CompletionDurationMinutes, TransferStart = s.TransferStart,
        DueTime = s.DueTime, RequiredMiBps = s.RequiredMiBps, GrantedMiBps = s.GrantedMiBps, Late = s.Late,
    };

    private static void Increment(Dictionary<string, Dictionary<string, long>> table, string outer, string inner)
    {
        if (!table.TryGetValue(outer, out var row)) table[outer] = row = new Dictionary<string, long>();
        row[inner] = row.GetValueOrDefault(inner) + 1;
    }
}

/// <summary>Numbers every call that reaches the emulator and keeps the latest <see cref="EmulatorOptions.CallLogCapacity"/>
/// of them. Used under <see cref="EmulatorState.Gate"/>.</summary>
internal sealed class CallLog
{
    private readonly Queue<CallInfo> _kept = new();
    private readonly Dictionary<string, int> _perAction = new(StringComparer.Ordinal);
    private long _total;

    /// <summary>The call's numbers, assigned on arrival.</summary>
    public CallInfo Begin(string service, string action, string account, string region, string? accessKeyId,
        IReadOnlyDictionary<string, string> parameters, DateTimeOffset at)
    {
        var n = _perAction.GetValueOrDefault(action) + 1;
        _perAction[action] = n;
        return new CallInfo
        {
            Number = ++_total, ActionCallNumber = n, Service = service, Action = action, Account = account, Region = region,
            AccessKeyId = accessKeyId, Parameters = parameters, At = at, Stage = CallStage.BeforeAction,
        };
    }

    /// <summary>Keeps the finished call (dropping the oldest beyond <paramref name="capacity"/>).</summary>
    public void Add(CallInfo call, int capacity)
    {
        if (capacity <= 0) { _kept.Clear(); return; }
        _kept.Enqueue(call);
        while (_kept.Count > capacity) _kept.Dequeue();
    }

    public List<CallInfo> Kept => _kept.ToList();
}
