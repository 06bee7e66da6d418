using Avtomat.Ec2.Emulator.Http;

namespace Avtomat.Ec2.Emulator.Model;

/// <summary>What a copy transfers (full or incremental, and how many bytes), and how a time-based copy is admitted
/// against the throughput quotas. Used under <see cref="EmulatorState.Gate"/>.</summary>
internal static class CopyTransfer
{
    public const string Full = "Full";
    public const string Incremental = "Incremental";
    private const double BytesPerGiB = 1024.0 * 1024 * 1024;
    private const double BytesPerMiB = 1024.0 * 1024;

    /// <summary>Full or incremental, why, the copy it is incremental against, the bytes it transfers, and whether it is a
    /// copy within one account and region (no data moves).</summary>
    public sealed record Decision(string Kind, string Reason, string? BaseSnapshotId, long TransferredBytes, bool SamePlace);

    /// <summary>EC2's rules, "Incremental snapshot copying"
    /// (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html#ebs-incremental-copy, verified):
    /// "Whether a snapshot copy is incremental is determined by the most recently completed snapshot copy. When you copy a
    /// snapshot across Regions or accounts, the copy is an incremental copy if the following conditions are met: the
    /// snapshot was copied to the destination Region or account previously; the most recent snapshot copy still exists in
    /// the destination Region or account; the most recent snapshot copy has not been archived; all copies of the snapshot
    /// in the destination Region or account are either unencrypted or were encrypted using the same KMS key." "If the most
    /// recent snapshot copy was deleted, the next copy is a full copy." The page recommends tagging copies "with the volume
    /// ID and creation time so that you can keep track of the most recent snapshot copy of a volume": the lineage is the
    /// source volume (<see cref="SnapshotRecord.LineageVolume"/>), not one source snapshot. Same page, considerations: "If
    /// you copy a snapshot and encrypt it to a new KMS key, a complete (non-incremental) copy is created", "If you copy a
    /// snapshot to a new Region, a complete (non-incremental) copy is created", and copies "within a single account and
    /// Region do not copy any actual data ... as long as the encryption status of the snapshot copy does not change"
    /// (modelled: same account, region and key ⇒ incremental with 0 bytes).
    /// <para>Emulator choices: "most recently completed" is the copy of the lineage into this account and region that
    /// completed last by the clock (a pending or failed one is no base); copies in <c>error</c> do not count among "all
    /// copies"; nothing is ever archived here. Bytes: a full copy transfers the source's size (VolumeSize GiB: the emulator
    /// has no notion of written blocks; FullSnapshotSizeInBytes is only an upper bound), an incremental one
    /// <see cref="DurationConfig.IncrementalChangedShare"/> of it (the blocks changed since the base, deterministic).</para></summary>
    public static Decision Decide(RegionState destination, SnapshotRecord source, string? copyKeyArn, DateTimeOffset now,
        DurationConfig durations)
    {
        var fullBytes = (long)(source.VolumeSize * BytesPerGiB);
        if (source.OwnerId == destination.Account && source.Region == destination.Name && source.KmsKeyId == copyKeyArn)
            return new Decision(Incremental, "same account, region and key: no data is copied", source.Id, 0, true);

        var history = destination.CopiesOf(source.LineageVolume);
        SnapshotRecord? latest = null;
        foreach (var copy in history)
            if (copy.Lifecycle.FinalState == "completed" && copy.Lifecycle.End <= now
                && (latest is null || copy.Lifecycle.End > latest.Lifecycle.End
                    || copy.Lifecycle.End == latest.Lifecycle.End && copy.Sequence > latest.Sequence))
                latest = copy;
        if (latest is null)
            return new Decision(Full, "no earlier completed copy of the volume here", null, fullBytes, false);
        if (!destination.Snapshots.ContainsKey(latest.Id))
            return new Decision(Full, $"the most recent copy {latest.Id} was deleted", null, fullBytes, false);
        if (latest.StorageTier != "standard")
            return new Decision(Full, $"the most recent copy {latest.Id} is archived", null, fullBytes, false);
        var otherKey = history.FirstOrDefault(s => destination.Snapshots.ContainsKey(s.Id) && s.Lifecycle.FinalState != "error"
            && s.KmsKeyId != copyKeyArn);
        if (otherKey is not null)
            return new Decision(Full, copyKeyArn is null
                ? $"copy {otherKey.Id} here is encrypted"
                : $"copy {otherKey.Id} here uses {(otherKey.KmsKeyId is null ? "no key" : "another key")}", null, fullBytes, false);
        var share = Math.Clamp(durations.IncrementalChangedShare ?? durations.IncrementalFactor, 0, 1);
        return new Decision(Incremental, $"incremental against {latest.Id}", latest.Id, (long)Math.Round(fullBytes * share), false);
    }

    /// <summary>A time-based copy's admission: when its completion duration starts, the throughput it gets, how long it
    /// stays pending from the call, and when it was due.</summary>
    public sealed record TimeBased(DateTimeOffset TransferStart, double RequiredMiBps, double GrantedMiBps, double Seconds,
        DateTimeOffset Due, bool Late);

    /// <summary>Time-based copies (https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html, verified):
    /// "Snapshot copy operation throughput quota: the maximum throughput that can be achieved by a single time-based snapshot
    /// copy operation, 500 MiB/s, not adjustable"; "Cumulative snapshot copy throughput quota: the maximum cumulative
    /// throughput that can be achieved by concurrent time-based snapshot copy operations between a source and destination
    /// Region, 2,000 MiB/s, adjustable" (quota code L-E137849C); "The throughput used by the request is determined by the
    /// size of the snapshot data and the requested completion duration" (size ÷ duration); with the available cumulative
    /// quota "greater than or equal to the required throughput rate, the copy completes within the requested completion
    /// duration; less than the required throughput rate but greater than zero, the request succeeds but it will take longer
    /// than you requested. The copy is completed using your available throughput quota; zero (quota reached), the request
    /// fails." Considerations: "If you initiate two time-based copy operations for the same snapshot ..., the second copy
    /// operation's completion duration starts only after the first copy operation completes."
    /// <para>A duration shorter than the data allows at 500 MiB/s ("minimum completion duration = Max(15 minutes, snapshot
    /// data size ÷ 500 MiB/s)") is accepted and completes late at 500 MiB/s: plausible, and supported by the copySnapshot
    /// event's documented missedCompletionDurationCause "Snapshot copy was not able to meet the specified completion duration
    /// because your snapshot copy operation throughput quota was exceeded" — the per-copy quota's name
    /// (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html); no error for it is documented.</para>
    /// <para>Emulator model: the pool is per destination account and (source, destination) region pair; the "snapshot
    /// data" is what the copy transfers (<see cref="Decision.TransferredBytes"/>); the throughput is fixed when the copy is
    /// admitted (min of the required rate, the per-copy quota and what the pool has left when its duration starts) and held
    /// until it leaves pending — a late copy does not speed up when others finish. A copy deleted while pending keeps its
    /// share until its planned end. "Same snapshot" means the same source snapshot copied by the same account.</para></summary>
    /// <param name="plannedSeconds">How long it would take unconstrained (sampled or given), capped by the duration.</param>
    public static TimeBased Admit(EmulatorState state, string account, string sourceRegion, string sourceId,
        string destinationRegion, long transferredBytes, int minutes, double plannedSeconds, DateTimeOffset now)
    {
        var limits = state.Config.Limits;
        var window = minutes * 60.0;
        var start = now;
        foreach (var grant in state.TimeBasedGrants)
            if (grant.Account == account && grant.SourceRegion == sourceRegion && grant.SourceId == sourceId && grant.To > start)
                start = grant.To;
        var used = 0.0;
        foreach (var grant in state.TimeBasedGrants)
            if (grant.Account == account && grant.SourceRegion == sourceRegion && grant.DestinationRegion == destinationRegion
                && grant.From <= start && start < grant.To)
                used += grant.MiBps;
        var available = limits.TimeBasedCopyThroughputMiBps - used;
        // Code and wording plausible (unverified): the time-based-copies page says only "the request fails".
        if (available <= 1e-9)
            throw Ec2Error.BadRequest("ResourceLimitExceeded",
                $"The cumulative snapshot copy throughput quota for time-based copies from {sourceRegion} to {destinationRegion} has been reached.");
        var dataMiB = transferredBytes / BytesPerMiB;
        var required = dataMiB / window;
        var granted = Math.Min(required, Math.Min(limits.TimeBasedCopyMaxPerCopyMiBps, available));
        var late = granted < required;
        var transferSeconds = late ? dataMiB / granted : Math.Min(plannedSeconds, window);
        var wait = (start - now).TotalSeconds;
        return new TimeBased(start, required, granted, wait + transferSeconds, start + TimeSpan.FromSeconds(window), late);
    }

    /// <summary>Holds the admitted copy's throughput from its start until <paramref name="end"/> (dropping grants that ended).</summary>
    public static void Commit(EmulatorState state, string account, string sourceRegion, string sourceId, string destinationRegion,
        TimeBased admitted, DateTimeOffset end, DateTimeOffset now)
    {
        state.TimeBasedGrants.RemoveAll(g => g.To <= now);
        state.TimeBasedGrants.Add(new ThroughputGrant(account, sourceRegion, sourceId, destinationRegion, admitted.TransferStart,
            end, admitted.GrantedMiBps));
    }
}

/// <summary>Throughput a time-based copy holds from <see cref="From"/> until <see cref="To"/>.</summary>
internal sealed record ThroughputGrant(string Account, string SourceRegion, string SourceId, string DestinationRegion,
    DateTimeOffset From, DateTimeOffset To, double MiBps);
