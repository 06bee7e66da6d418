using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace Avtomat.Ec2.Engine.Copy;

/// <summary>One Copy-AvSnapshot invocation's copies: each request goes to the scheduler of its destination (which checks
/// the source in its region, looks for copies to resume or reuse, starts it in the window of the account and
/// destination and this job's ThrottleLimit, and follows it to its end).</summary>
public sealed class CopyJob : SnapshotJob<SnapshotCopyRequest, SnapshotCopyResult>
{
    internal CopyJob(SnapshotEngine engine, IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
        : base(engine, clients, options, cancellationToken, CheckVault(clients, options))
    {
        ThrottleLimit = Math.Max(1, Math.Min(100, options.ThrottleLimit));
        CopyAgain = options.CopyAgain;
        TimeBasedThroughputQuota = options.TimeBasedThroughputQuota > 0 ? options.TimeBasedThroughputQuota : Scheduling.CopyThroughput.DefaultQuotaMiBps;
        Plan = options.Plan;
        if (SourceClients is not null)
            Verbose($"Vault copy: the sources are read (and shared for the copy) as account {Scheduling.Scheduler.AccountIdOf(SourceAccount!)}; " +
                    $"the copies are made in account {Scheduling.Scheduler.AccountIdOf(Account)}.");
    }

    /// <summary>A vault copy needs both accounts' ids (a permission names an account) and cannot leave without taking
    /// back what it shared (-NoWait).</summary>
    private static IEc2ClientSource? CheckVault(IEc2ClientSource clients, CopyJobOptions options)
    {
        if (options?.SourceClients is not { } source) return null;
        if (options.NoWait)
            throw new ArgumentException("A copy into another account waits for its copies: it removes the permission it added on each source once its copies are final.",
                nameof(options));
        foreach (var account in new[] { source.Account, clients.Account })
            if (!account.StartsWith("account:", StringComparison.Ordinal))
                throw new ArgumentException("The account of both the source and the destination credentials must be known (STS GetCallerIdentity did not answer for one).",
                    nameof(options));
        return source;
    }

    /// <summary>The vault's account id (a vault copy).</summary>
    private string Grantee => Scheduling.Scheduler.AccountIdOf(Account);

    /// <summary>A vault copy's item engages the share of its source (the source account's scheduler owns it).</summary>
    private protected override void BeforeSubmit(JobItem item)
    {
        if (SourceClients is null || DryRun) return;
        var grantee = Grantee;
        SourceScheduler(item.SourceRegion).Post(s => s.EngageShare(item, grantee));
    }

    /// <summary>A vault copy's item is final (or stopped): it lets go of its source's share. A copy still pending in EC2
    /// keeps the share.</summary>
    private protected override void Reported(JobItem item)
    {
        if (SourceClients is null || DryRun) return;
        var copy = (CopyItem)item;
        var grantee = Grantee;
        var markerSeen = (copy.Op as Scheduling.CopyOp)?.Source is { } source && CopyRules.TagOf(source, CopyTagNames.SharedWithPrefix + grantee) is not null;
        // Stopped or timed out with a copy EC2 accepted: it is still pending there.
        var pending = item.SnapshotId is not null && ((SnapshotCopyResult)item.CloneResult()).State is SnapshotState.Pending or SnapshotState.TimedOut;
        SourceScheduler(item.SourceRegion).Post(s => s.DisengageShare(item, grantee, markerSeen, pending));
    }

    /// <summary>Concurrent copies per destination for this job.</summary>
    internal int ThrottleLimit { get; }
    /// <summary>Copy even when an earlier copy of the source exists (no resume): -CopyAgain.</summary>
    internal bool CopyAgain { get; }
    /// <summary>The region pair's throughput quota for time-based copies, MiB/s.</summary>
    internal double TimeBasedThroughputQuota { get; }
    /// <summary>Plan only: read-only lookups, no CopySnapshot.</summary>
    internal bool Plan { get; }

    /// <summary>Queues a copy; never blocks.</summary>
    public void Add(SnapshotCopyRequest request)
    {
        if (request is null) throw new ArgumentNullException(nameof(request));
        Submit(new CopyItem(this, request, NextSequence) { InputOrder = Engine.NextInputOrder() });
    }

    // ------------------------------------------------------------------ what a copy job reports

    private protected override EngineError StoppedError(JobItem item) => EngineErrors.CopyStopped(item.SourceId, item.SnapshotId, item.Region);

    private protected override EngineError TimedOutError(JobItem item) =>
        EngineErrors.CopyTimedOut(item.SourceId, item.SnapshotId, item.Region, Timeout!.Value);

    private protected override string ResumeHint(string region) =>
        "Once this is fixed, running the same command again resumes them: it finds each copy by its avtomat: tags and waits for it instead of copying again.";

    internal override string DuplicateNoun => "copy";
    internal override string DuplicateCause => "a re-sent CopySnapshot";

    private protected override string Summary(string region, IReadOnlyList<JobItem> items)
    {
        var total = items.Count;
        var reused = items.Select(i => (SnapshotCopyResult)i.CloneResult()).Count(r => r.Reused && r.State == SnapshotState.Completed);
        var completed = Count(items, SnapshotState.Completed) - reused;
        var failed = Count(items, SnapshotState.Failed);
        var timedOut = Count(items, SnapshotState.TimedOut);
        var started = NoWait ? Count(items, SnapshotState.Pending) : 0;
        var stopped = Count(items, SnapshotState.Queued) + Count(items, SnapshotState.Pending) - started;
        var notKnown = NotKnownText(items, started, out var unknown);
        stopped -= unknown;
        var text = DryRun
            ? $"{region}: dry run of {total} copies: {Count(items, SnapshotState.DryRun)} would succeed, {failed} failed"
            : NoWait
            ? $"{region}: {started} copies started (not waited for), {completed} already completed, {failed} failed, {timedOut} timed out" +
              (stopped > 0 ? $", {stopped} stopped" : "") + notKnown + $" of {total}"
            : $"{region}: {completed} copied, {failed} failed, {timedOut} timed out" + (stopped > 0 ? $", {stopped} stopped" : "") + notKnown + $" of {total}";
        if (reused > 0) text += $" ({reused} more reused from earlier runs)";
        text += CallsIn(region);
        var sourceCalls = items.Select(i => i.SourceRegion).Distinct(StringComparer.Ordinal).Where(r => r != region)
            .SelectMany(r => Counters.CallsIn(r)).GroupBy(p => p.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value)}").ToList();
        if (sourceCalls.Count > 0) text += "; in the source region(s): " + string.Join(", ", sourceCalls);
        return text + ".";
    }

    /// <summary>From the duration model of the destination (learned from EC2's StartTime and CompletionTime) and its
    /// window: the work left (the queued copies' expected durations plus what is left of those in flight) spread over
    /// the window, but never less than what is left of the slowest in flight. Null while nothing was learned there.</summary>
    private protected override TimeSpan? Estimate(string region, List<InFlightItem> inFlight, int queued)
    {
        if (inFlight.Count == 0 && queued == 0) return TimeSpan.Zero;
        var scheduler = SchedulerIfAttached(region);
        if (scheduler is null || !scheduler.Durations.Knows(Scheduling.SnapshotKind.FullCopy)) return null;
        var window = Math.Max(1, Math.Min(ThrottleLimit, scheduler.View.Window > 0 ? scheduler.View.Window : Engine.RegionCopyLimit));
        var now = Time.GetUtcNow().UtcDateTime;
        var items = ItemsIn(region);
        var bySnapshot = items.Where(i => i.SnapshotId is not null).GroupBy(i => i.SnapshotId!).ToDictionary(g => g.Key, g => g.First());
        var inFlightLeft = inFlight.Select(c =>
        {
            var size = bySnapshot.TryGetValue(c.SnapshotId, out var item) ? item.SourceSizeGiB : null;
            var expected = scheduler.Durations.ExpectedCopySeconds(null, size, mayBeIncremental: false);
            return Math.Max(expected * (1 - c.Progress / 100.0), expected - (now - c.StartTime).TotalSeconds);
        }).ToList();
        var queuedWork = items.Where(i => !i.IsFinished && i.SnapshotId is null)
            .Sum(i => scheduler.Durations.ExpectedCopySeconds(null, i.SourceSizeGiB, mayBeIncremental: false));
        var work = inFlightLeft.Sum() + queuedWork;
        var seconds = Math.Max(inFlightLeft.DefaultIfEmpty(0).Max(), work / window);
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }

    private List<CopyItem> ItemsIn(string region) => AllItems().OfType<CopyItem>().Where(i => i.Region == region).ToList();
}
