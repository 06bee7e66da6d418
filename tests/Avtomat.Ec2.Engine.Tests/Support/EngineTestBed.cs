using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine.Copy;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>
/// What every engine test starts from: the one model of EC2 (the emulator's own request handling, limits, buckets and
/// lifecycles, in process), real AWSSDK.EC2 clients over it, an engine of the test's own, and one virtual clock for
/// both. <see cref="Run(EngineJob, TimeSpan?, Action{DateTimeOffset}?)"/> drives time exactly: it lets the engine run
/// until it is idle (nothing to apply, no call in flight), takes the jobs' events, and only then jumps the clock to the
/// next due timer — no clock stepped by the wall clock, no sleep. Copies and snapshots take exactly
/// <see cref="CopyDuration"/> and <see cref="SnapshotDuration"/> unless <see cref="Shape"/> says otherwise;
/// <see cref="Intercept"/> decides a call's fate deterministically (errors, lost responses).
/// </summary>
public abstract class EngineTestBed : IDisposable
{
    protected const string East = "us-east-1";
    protected const string West = "us-west-2";
    public const string AccessKey = "AKIDENGINETEST000001";
    public const string AccountId = "123456789012";
    public static readonly DateTimeOffset Epoch = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    protected readonly VirtualClock _clock = new(Epoch, inlineCallbacks: true);
    protected readonly Ec2Emulator _ec2;
    protected readonly SnapshotEngine _engine;
    protected readonly VirtualTimeDriver _driver;
    protected readonly InProcessClients _clients;
    private readonly List<InProcessClients> _opened = new();

    protected EngineTestBed()
    {
        var options = new EmulatorOptions
        {
            TimeProvider = _clock,
            ShapeOf = info => Shape?.Invoke(info) ?? SnapshotShape.Takes((info.IsCopy ? CopyDuration : SnapshotDuration).TotalSeconds),
            Interceptor = call => Intercept?.Invoke(call),
        };
        Configure(options);
        _ec2 = Ec2Emulator.CreateInProcess(options);
        _engine = NewEngine();
        // The clock moves only when every engine of the test is idle (a second engine is another process, in effect).
        _driver = new VirtualTimeDriver(_clock, () => { lock (_engines) return _engines.All(e => e.IsIdle); }) { StallLimit = TimeSpan.FromSeconds(30) };
        _clients = Clients(AccessKey);
    }

    private readonly List<SnapshotEngine> _engines = new();

    /// <summary>Another engine on the same clock and EC2: another process, in effect (nothing shared with the others).</summary>
    protected SnapshotEngine NewEngine()
    {
        var engine = new SnapshotEngine(_clock);
        lock (_engines) _engines.Add(engine);
        return engine;
    }

    /// <summary>Changes the emulator's options before it is made (accounts, limits).</summary>
    protected virtual void Configure(EmulatorOptions options)
    {
    }

    /// <summary>How long a copy takes unless <see cref="Shape"/> says otherwise.</summary>
    protected TimeSpan CopyDuration { get; set; } = TimeSpan.FromSeconds(4);
    /// <summary>How long a new snapshot takes unless <see cref="Shape"/> says otherwise.</summary>
    protected TimeSpan SnapshotDuration { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Shapes each new copy or snapshot (duration, final state, invisibility); null: the durations above.</summary>
    protected Func<NewSnapshotInfo, SnapshotShape?>? Shape { get; set; }
    /// <summary>Decides a call's fate before or after its action (null: as EC2 would).</summary>
    protected Func<CallInfo, CallDecision?>? Intercept { get; set; }

    /// <summary>Clients with another access key (mapped to another account with <see cref="Configure"/>, or the same).</summary>
    protected InProcessClients Clients(string accessKey, int maxErrorRetry = 2)
    {
        var clients = new InProcessClients(_ec2, _driver, accessKey, new EmulatorCost(), maxErrorRetry);
        _opened.Add(clients);
        return clients;
    }

    protected DateTimeOffset Now => _clock.GetUtcNow();

    // ------------------------------------------------------------------ seeding

    protected List<string> SeedSnapshots(string region, int count, int sizeGiB = 8, string state = "completed", double? durationSeconds = null,
        bool encrypted = false, Dictionary<string, string>? tags = null, string? description = null, string? outpostArn = null,
        string? statusMessage = null, string? accessKey = null) =>
        _ec2.Seed(new SeedRequest
        {
            Region = region, Snapshots = count, SizeGiB = sizeGiB, State = state, DurationSeconds = durationSeconds, Encrypted = encrypted,
            Tags = tags, Description = description, OutpostArn = outpostArn, StatusMessage = statusMessage, AccessKeyId = accessKey,
        }).SnapshotIds;

    protected string SeedSnapshot(string region, int sizeGiB = 8, string state = "completed", double? durationSeconds = null, bool encrypted = false,
        Dictionary<string, string>? tags = null, string? description = null, string? outpostArn = null, string? statusMessage = null) =>
        SeedSnapshots(region, 1, sizeGiB, state, durationSeconds, encrypted, tags, description, outpostArn, statusMessage)[0];

    protected List<string> SeedVolumes(string region, int count, string volumeType = "gp3", int sizeGiB = 8, Dictionary<string, string>? tags = null) =>
        _ec2.Seed(new SeedRequest { Region = region, Volumes = count, VolumeType = volumeType, SizeGiB = sizeGiB, Tags = tags }).VolumeIds;

    // ------------------------------------------------------------------ what EC2 saw

    protected IReadOnlyList<CallInfo> Calls(string action, string? region = null) => _ec2.GetCalls(action, region);

    protected int MaxPendingCopies(string region, string account = AccountId) =>
        _ec2.GetStats().MaxPendingCopies.GetValueOrDefault($"{account}/{region}");

    /// <summary>Every snapshot the account owns in <paramref name="region"/> (through the SDK, outside any job).</summary>
    protected List<Amazon.EC2.Model.Snapshot> OwnSnapshots(string region)
    {
        var client = _clients.For(region);
        var response = client.DescribeSnapshotsAsync(new Amazon.EC2.Model.DescribeSnapshotsRequest { OwnerIds = ["self"] }).GetAwaiter().GetResult();
        return response.Snapshots ?? new List<Amazon.EC2.Model.Snapshot>();
    }

    // ------------------------------------------------------------------ running jobs in exact virtual time

    /// <summary>Runs until every job in <paramref name="jobs"/> is finished, taking their events as they come (in the
    /// order the jobs are given) and calling <paramref name="onInstant"/> at every virtual instant the clock moves to.</summary>
    protected void RunAll(IReadOnlyList<EngineJob> jobs, TimeSpan? maxVirtual = null, Action<DateTimeOffset>? onInstant = null,
        Func<bool>? drainMore = null)
    {
        _driver.Run(() =>
        {
            var any = false;
            foreach (var job in jobs)
                if (Drain(job)) any = true;
            if (drainMore?.Invoke() == true) any = true;
            onInstant?.Invoke(Now);
            return any;
        }, () => jobs.All(j => j.IsFinished), maxVirtual ?? TimeSpan.FromHours(2));
    }

    /// <summary>Runs one copy job to its end; exactly one finished event per request.</summary>
    protected JobOutcome Run(CopyJob job, TimeSpan? maxVirtual = null, Action<JobOutcome, DateTimeOffset>? onInstant = null)
    {
        var started = Now;
        var outcome = Outcome(job);
        RunAll([job], maxVirtual, now => onInstant?.Invoke(outcome, now));
        outcome.Elapsed = Now - started;
        outcome.EndedAt = Now;
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        Assert.All(outcome.Finished.GroupBy(f => f.Request), g => Assert.Single(g));
        return outcome;
    }

    /// <summary>Runs one create or wait job to its end.</summary>
    protected SnapshotOutcome Run(SnapshotJob<object, SnapshotResult> job, TimeSpan? maxVirtual = null, Action<SnapshotOutcome, DateTimeOffset>? onInstant = null)
    {
        var started = Now;
        var outcome = Outcome(job);
        RunAll([job], maxVirtual, now => onInstant?.Invoke(outcome, now));
        outcome.Elapsed = Now - started;
        outcome.EndedAt = Now;
        outcome.ProgressSamples.Add(job.GetProgress());
        outcome.Statistics = job.Statistics;
        return outcome;
    }

    /// <summary>Lets the engine do what it can now, without moving the clock.</summary>
    protected void Settle() => _driver.WaitUntilQuiet();

    /// <summary>Moves the clock to <paramref name="until"/> (firing what is due on the way, and letting the engine work
    /// after each), taking the jobs' events.</summary>
    protected void AdvanceTo(DateTimeOffset until, params EngineJob[] jobs)
    {
        Settle();
        foreach (var job in jobs) Drain(job);
        _clock.AdvanceTo(until, () => { Settle(); foreach (var job in jobs) Drain(job); });
        Settle();
        foreach (var job in jobs) Drain(job);
    }

    private readonly Dictionary<EngineJob, Func<bool>> _drains = new();

    /// <summary>Where a job's events go: its outcome, from the first run on.</summary>
    protected JobOutcome Outcome(CopyJob job) =>
        OutcomeOf<JobOutcome, CopyEvent>(job, (out CopyEvent? e) => job.TryTake(out e, TimeSpan.Zero), o => o.Events);

    protected SnapshotOutcome Outcome(SnapshotJob<object, SnapshotResult> job) =>
        OutcomeOf<SnapshotOutcome, SnapshotEvent>(job, (out SnapshotEvent? e) => job.TryTake(out e, TimeSpan.Zero), o => o.Events);

    private delegate bool TryTakeEvent<TEvent>(out TEvent? jobEvent);

    /// <summary>The job's outcome, made on first use with a drain (run at each idle step) that moves every event the job
    /// has into it.</summary>
    private TOutcome OutcomeOf<TOutcome, TEvent>(EngineJob job, TryTakeEvent<TEvent> take, Func<TOutcome, List<TEvent>> events)
        where TOutcome : class, new() where TEvent : class
    {
        if (_outcomes.TryGetValue(job, out var known)) return (TOutcome)known;
        var outcome = new TOutcome();
        _outcomes[job] = outcome;
        _drains[job] = () =>
        {
            var any = false;
            while (take(out var e)) { events(outcome).Add(e!); any = true; }
            return any;
        };
        return outcome;
    }

    private readonly Dictionary<EngineJob, object> _outcomes = new();

    /// <summary>Lets go of every job this bed saw (tests that look at what stays reachable).</summary>
    protected void ForgetOutcomes()
    {
        _outcomes.Clear();
        _drains.Clear();
    }

    private bool Drain(EngineJob job)
    {
        if (!_drains.TryGetValue(job, out var drain))
        {
            if (job is CopyJob copy) Outcome(copy);
            else Outcome((SnapshotJob<object, SnapshotResult>)job);
            drain = _drains[job];
        }
        return drain();
    }

    public void Dispose()
    {
        foreach (var clients in _opened) clients.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>What a copy job produced, in order.</summary>
public sealed class JobOutcome
{
    public List<CopyEvent> Events { get; } = new();
    public List<CopyAcceptedEvent> Accepted => Events.OfType<CopyAcceptedEvent>().ToList();
    public List<CopyFinishedEvent> Finished => Events.OfType<CopyFinishedEvent>().ToList();
    public List<string> Messages => Events.OfType<EngineMessageEvent>().Select(m => m.Message).ToList();
    public List<string> Warnings => Events.OfType<EngineMessageEvent>().Where(m => m.Level == MessageLevel.Warning).Select(m => m.Message).ToList();
    public JobStatistics Statistics { get; set; } = new();
    public List<IReadOnlyList<RegionProgress>> ProgressSamples { get; } = new();
    /// <summary>Virtual time from the run's start to the job's end.</summary>
    public TimeSpan Elapsed { get; set; }
    public DateTimeOffset EndedAt { get; set; }

    public CopyFinishedEvent FinishedFor(string sourceSnapshotId) => Finished.Single(f => f.Request!.SourceSnapshotId == sourceSnapshotId);
}

/// <summary>What a create or wait job produced, in order.</summary>
public sealed class SnapshotOutcome
{
    public List<SnapshotEvent> Events { get; } = new();
    public List<SnapshotAcceptedEvent> Accepted => Events.OfType<SnapshotAcceptedEvent>().ToList();
    public List<SnapshotFinishedEvent> Finished => Events.OfType<SnapshotFinishedEvent>().ToList();
    public List<SnapshotMessageEvent> MessageEvents => Events.OfType<SnapshotMessageEvent>().ToList();
    public List<string> Messages => MessageEvents.Select(m => m.Message).ToList();
    public List<string> Warnings => MessageEvents.Where(m => m.Level == MessageLevel.Warning).Select(m => m.Message).ToList();
    public JobStatistics Statistics { get; set; } = new();
    public List<IReadOnlyList<RegionProgress>> ProgressSamples { get; } = new();
    public TimeSpan Elapsed { get; set; }
    public DateTimeOffset EndedAt { get; set; }
}
