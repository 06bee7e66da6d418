using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Scheduling;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// The process-wide snapshot engine: starts copy, create and wait jobs, and keeps one <see cref="Scheduler"/> per
/// (endpoint, account, region) — the single owner of what every job in the process shares there: the copy window (EC2's
/// 20 pending copies per region and account), the per-volume rules, request pacing, batched lookups and polls, and one
/// duration model — so concurrent invocations respect EC2's limits together and learn from each other.
/// </summary>
public sealed class SnapshotEngine
{
    /// <summary>Schedulers kept while nothing uses them (their duration models and refilling buckets are worth keeping);
    /// beyond this, the longest unused dormant ones are forgotten.</summary>
    internal const int MaxIdleSchedulers = 256;

    private readonly object _registryGate = new();
    private readonly Dictionary<string, Scheduler> _schedulers = new(StringComparer.Ordinal);
    private long _inputOrder;

    /// <summary>The engine every cmdlet invocation in this process uses.</summary>
    public static SnapshotEngine Shared { get; } = new(TimeProvider.System);

    /// <param name="timeProvider">Clock for waits, polls, timeouts and timestamps (tests pass a virtual clock).</param>
    /// <param name="regionCopyLimit">Pending copies EC2 allows per destination region and account (20).</param>
    public SnapshotEngine(TimeProvider timeProvider, int regionCopyLimit = 20)
    {
        if (regionCopyLimit < 1) throw new ArgumentOutOfRangeException(nameof(regionCopyLimit), regionCopyLimit, "Must be at least 1.");
        TimeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        RegionCopyLimit = regionCopyLimit;
    }

    public TimeProvider TimeProvider { get; }

    public int RegionCopyLimit { get; }

    /// <summary>Account-regions some job uses now.</summary>
    public int AccountRegionsInUse
    {
        get { lock (_registryGate) return _schedulers.Values.Count(s => s.Attached > 0); }
    }

    /// <summary>The engine's pending work (commands not applied, calls in flight): zero means idle.</summary>
    internal Activity Activity { get; } = new();

    /// <summary>Nothing is under way: no command waits to be applied and no EC2 call is in flight. Only the clock (a due
    /// timer) or a caller can start something.</summary>
    internal bool IsIdle => Activity.IsIdle;

    /// <summary>Blocks until <see cref="IsIdle"/> (real time, at most <paramref name="timeout"/>).</summary>
    internal bool WaitForIdle(TimeSpan timeout) => Activity.WaitIdle(timeout);

    /// <summary>How long a copy that finds a free slot waits for the copies checked with it to join the queue, so the free
    /// slots go to the longest expected copies first.</summary>
    internal TimeSpan CopyOrderingDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The next number in the order requests reached the engine (all jobs): ties in the copy windows go by it.</summary>
    internal long NextInputOrder() => Interlocked.Increment(ref _inputOrder);

    /// <summary>How often a copy window shrunk by ResourceLimitExceeded grows back by one slot while in use.</summary>
    internal TimeSpan CopyWindowRecovery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tokens of each of EC2's request buckets the client-side buckets keep in reserve, for other clients in the
    /// account and network jitter.</summary>
    internal int PacingMargin { get; set; } = 5;
    /// <summary>EC2's per-volume rules: pending (and error) snapshots per volume, 1 for st1/sc1, and the spacing.</summary>
    internal int MaxPendingPerVolume { get; set; } = 5;
    internal int MaxPendingPerThroughputVolume { get; set; } = 1;
    internal TimeSpan VolumeSnapshotSpacing { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Resolves credentials and region in the AWS Tools order from plain inputs (parameters, the caller's
    /// variables read by shape, the environment, profiles, the SDK's default chain). This and <see cref="OpenClients"/>
    /// are the only way in: no AWSSDK type crosses to the caller, so the engine and its AWSSDK copy can live in their
    /// own load context beside any other AWSSDK build (AWS.Tools).</summary>
    /// <exception cref="AwsContextException">Nothing resolves; the message names what fixes it and never a secret.</exception>
    public static AwsContext ResolveContext(AwsContextInputs inputs) => new AwsContextResolver(inputs).Resolve();

    /// <summary>The region alone, in the same order as <see cref="ResolveContext"/> (for a cmdlet deciding what its own
    /// region parameters default to), and where it came from.</summary>
    /// <exception cref="AwsContextException">No region is set anywhere.</exception>
    public static (string Region, string Source) ResolveRegion(AwsContextInputs inputs) => new AwsContextResolver(inputs).ResolveRegion();

    /// <summary>EC2 clients for a resolved context, with <paramref name="userAgentComponent"/> in every request's
    /// User-Agent. The caller disposes them at the end of its invocation.</summary>
    public static Ec2ClientSource OpenClients(AwsContext context, string userAgentComponent)
    {
        if (context == null) throw new ArgumentNullException(nameof(context));
        return new Ec2ClientSource(context.Credentials, context.EndpointUrl, userAgentComponent);
    }

    /// <summary>Starts a copy job (Copy-AvSnapshot). Requests may be added while the caller's pipeline is still producing.</summary>
    public CopyJob StartCopyJob(IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken) =>
        new(this, Check(clients), options ?? throw new ArgumentNullException(nameof(options)), cancellationToken);

    /// <summary>Starts a plan (Measure-AvSnapshotCopy): a copy job that makes read-only calls only and finishes each copy
    /// in state DryRun with its kind, reason and expected duration; <see cref="Planning.CopyPlan.From"/> sums them up.</summary>
    public CopyJob StartPlanJob(IEc2ClientSource clients, CopyJobOptions options, CancellationToken cancellationToken)
    {
        if (options == null) throw new ArgumentNullException(nameof(options));
        options.Plan = true;
        return StartCopyJob(clients, options, cancellationToken);
    }

    /// <summary>Starts a snapshot creation job (New-AvSnapshot).</summary>
    public CreateJob StartCreateJob(IEc2ClientSource clients, CreateJobOptions options, CancellationToken cancellationToken) =>
        new(this, Check(clients), options ?? throw new ArgumentNullException(nameof(options)), cancellationToken);

    /// <summary>Starts a wait job (Wait-AvSnapshot).</summary>
    public WaitJob StartWaitJob(IEc2ClientSource clients, WaitJobOptions options, CancellationToken cancellationToken) =>
        new(this, Check(clients), options ?? throw new ArgumentNullException(nameof(options)), cancellationToken);

    /// <summary>The scheduler of (endpoint, account, region), created on first use, with one more job attached.</summary>
    internal Scheduler Attach(string endpointKey, string account, string region)
    {
        var key = endpointKey + "|" + account + "|" + region;
        lock (_registryGate)
        {
            if (!_schedulers.TryGetValue(key, out var scheduler))
            {
                _schedulers[key] = scheduler = new Scheduler(this, key, endpointKey, account, region);
                EvictLocked();
            }
            scheduler.Attached++;
            return scheduler;
        }
    }

    /// <summary>A job is done with <paramref name="scheduler"/>.</summary>
    internal void Detach(Scheduler scheduler)
    {
        lock (_registryGate)
        {
            scheduler.Attached--;
            scheduler.LastUsed = TimeProvider.GetUtcNow();
        }
    }

    /// <summary>What the scheduler of <paramref name="clients"/>' account in <paramref name="region"/> last published
    /// (tests and diagnostics); null when there is none.</summary>
    internal SchedulerView? View(IEc2ClientSource clients, string region)
    {
        lock (_registryGate)
            return _schedulers.TryGetValue(Check(clients).EndpointKey(region) + "|" + clients.Account + "|" + region, out var scheduler) ? scheduler.View : null;
    }

    /// <summary>The scheduler itself (tests that look at its model or buckets).</summary>
    internal Scheduler? Find(IEc2ClientSource clients, string region)
    {
        lock (_registryGate)
            return _schedulers.TryGetValue(Check(clients).EndpointKey(region) + "|" + clients.Account + "|" + region, out var scheduler) ? scheduler : null;
    }

    /// <summary>Schedulers known (in use or kept: tests).</summary>
    internal int SchedulersKept
    {
        get { lock (_registryGate) return _schedulers.Count; }
    }

    private void EvictLocked()
    {
        if (_schedulers.Count <= MaxIdleSchedulers) return;
        var idle = _schedulers.Values.Where(s => s.Attached == 0 && s.IsDormant).OrderBy(s => s.LastUsed).ToList();
        foreach (var scheduler in idle.Take(_schedulers.Count - MaxIdleSchedulers))
        {
            _schedulers.Remove(scheduler.Key);
            scheduler.Post(s => s.Retire());
        }
    }

    private static IEc2ClientSource Check(IEc2ClientSource clients) => clients ?? throw new ArgumentNullException(nameof(clients));
}
