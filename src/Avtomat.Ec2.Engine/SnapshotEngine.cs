using System;
using System.Threading;
using Avtomat.Ec2.Engine.Accounts;
using Avtomat.Ec2.Engine.Aws;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Engine.Waiting;

namespace Avtomat.Ec2.Engine;

/// <summary>
/// The process-wide snapshot engine: starts copy, create and wait jobs, and keeps what they share per (endpoint,
/// account, region) in its <see cref="Registry"/> — the copy window (EC2's 20 pending copies per region and account),
/// the batched poller, request pacing and per-volume rules — so concurrent invocations respect EC2's limits together.
/// </summary>
public sealed class SnapshotEngine
{
    /// <summary>The engine every cmdlet invocation in this process uses.</summary>
    public static SnapshotEngine Shared { get; } = new(TimeProvider.System);

    /// <param name="timeProvider">Clock for waits, polls, timeouts and timestamps (tests pass a FakeTimeProvider).</param>
    /// <param name="regionCopyLimit">Pending copies EC2 allows per destination region and account (20).</param>
    public SnapshotEngine(TimeProvider timeProvider, int regionCopyLimit = 20)
    {
        if (regionCopyLimit < 1) throw new ArgumentOutOfRangeException(nameof(regionCopyLimit), regionCopyLimit, "Must be at least 1.");
        TimeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        RegionCopyLimit = regionCopyLimit;
        Registry = new AccountRegistry((key, region) => new AccountRegion(this, key, region));
    }

    public TimeProvider TimeProvider { get; }

    public int RegionCopyLimit { get; }

    /// <summary>Account-regions some job uses now (each holds a copy window, a poller, pacers and volume rules).</summary>
    public int AccountRegionsInUse => Registry.Count;

    internal AccountRegistry Registry { get; }

    /// <summary>How long a copy that finds a free slot waits for the copies checked with it to join the queue, so the free
    /// slots go to the longest expected copies first (see <see cref="Copy.CopyWindow"/>).</summary>
    internal TimeSpan CopyOrderingDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    private long _inputOrder;

    /// <summary>The next number in the order requests reached the engine (all jobs): ties in the copy windows go by it.</summary>
    internal long NextInputOrder() => System.Threading.Interlocked.Increment(ref _inputOrder);

    /// <summary>How often a copy window shrunk by ResourceLimitExceeded grows back by one slot while in use.</summary>
    internal TimeSpan CopyWindowRecovery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tokens of each of EC2's request buckets (<see cref="Internal.Ec2Buckets"/>) the client-side buckets keep in
    /// reserve, for other clients in the account and network jitter.</summary>
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

    /// <summary>Starts a snapshot creation job (New-AvSnapshot).</summary>
    public CreateJob StartCreateJob(IEc2ClientSource clients, CreateJobOptions options, CancellationToken cancellationToken) =>
        new(this, Check(clients), options ?? throw new ArgumentNullException(nameof(options)), cancellationToken);

    /// <summary>Starts a wait job (Wait-AvSnapshot) on the shared poller.</summary>
    public WaitJob StartWaitJob(IEc2ClientSource clients, WaitJobOptions options, CancellationToken cancellationToken) =>
        new(this, Check(clients), options ?? throw new ArgumentNullException(nameof(options)), cancellationToken);

    /// <summary>Holds what is shared in (the clients' endpoint and account, <paramref name="region"/>) as a job would,
    /// so it outlives the jobs (tests look at the copy window after a job).</summary>
    internal AccountRegionLease Lease(IEc2ClientSource clients, string region) =>
        Registry.Lease(Check(clients).EndpointKey(region), clients.Account, region);

    private static IEc2ClientSource Check(IEc2ClientSource clients) => clients ?? throw new ArgumentNullException(nameof(clients));
}
