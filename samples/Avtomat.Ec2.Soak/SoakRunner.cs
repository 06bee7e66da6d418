using System.Diagnostics;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Ec2ClientSource = Avtomat.Ec2.Engine.Aws.Ec2ClientSource;

namespace Avtomat.Ec2.Soak;

/// <summary>One finished item as a run reported it.</summary>
public sealed record FinishedItem(SnapshotCopyRequest Request, SnapshotCopyResult Result, EngineError? Error);

/// <summary>What one run of the engine (one "Copy-AvSnapshot" invocation) produced.</summary>
public sealed class RunOutcome
{
    public string Name { get; init; } = "";
    public TimeSpan Elapsed { get; set; }
    /// <summary>When the job was started (UTC; the emulator runs on the system clock too).</summary>
    public DateTime StartedUtc { get; set; }
    public List<FinishedItem> Finished { get; } = new();
    public int Accepted { get; set; }
    /// <summary>Copy ids EC2 accepted in this run (accepted and finished events), with what the run said last.</summary>
    public Dictionary<string, string> CopyIds { get; } = new(StringComparer.Ordinal);
    /// <summary>Finished items when the stop was requested (run 1), null when the run was not stopped.</summary>
    public int? StoppedAtFinished { get; set; }
    /// <summary>The safety limit stopped the run.</summary>
    public bool HitLimit { get; set; }
    /// <summary>The job did not finish even after the stop: given up on.</summary>
    public bool Abandoned { get; set; }
    public JobStatistics Statistics { get; set; } = new();
    public Dictionary<MessageLevel, int> Messages { get; } = new();
    /// <summary>Distinct warning texts (first ones), for the log.</summary>
    public List<string> Warnings { get; } = new();
    /// <summary>The engine's per-destination summary lines.</summary>
    public List<string> Summaries { get; } = new();
}

/// <summary>EC2 as the audit saw it after run 2, per input (faults off, through the SDK, DescribeSnapshots owner self,
/// all pages, filtered by the provenance tag).</summary>
public sealed class Ec2Copies
{
    /// <summary>Per (destination, source id): the tagged copies found.</summary>
    public Dictionary<(string Destination, string Source), List<Snapshot>> BySource { get; } = new();
    public int DescribePages { get; set; }
    /// <summary>Outside copies still pending at the audit, per destination (they held their slots throughout).</summary>
    public Dictionary<string, int> OutsideStillPending { get; } = new(StringComparer.Ordinal);
}

/// <summary>Runs the soak: seeds an emulator with faults and outside copies, runs the engine, stops it at a share of the
/// copies, runs "the same command again" on a new engine and client source, audits EC2, then runs the same copies
/// fault-free on a separate emulator for the wall-time ratio.</summary>
public static class SoakRunner
{
    private const string AccessKey = "AKIDSOAK00000EXAMPLE";
    private const string SecretKey = "soak-secret-not-a-real-one";
    private const string UserAgent = "Avtomat.Ec2.Soak/0";
    /// <summary>Copy durations scale with the source's size (ReferenceSizeGiB = 1): our sources are 1 GiB (CopySeconds),
    /// the outside copies' sources 16 TiB (16384 × CopySeconds: hours), so only those stay pending.</summary>
    private const int SourceSizeGiB = 1;
    private const int OutsideSizeGiB = 16384;

    public static async Task<SoakReport> RunAsync(SoakOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        log ??= _ => { };
        var total = Stopwatch.StartNew();
        var report = new SoakReport { Options = options };

        // ---- the faulted emulator: sources, outside copies, then the faults --------------------------------------------
        await using (var ec2 = await Ec2Emulator.StartAsync(EmulatorFor(options), cancellationToken))
        {
            var sources = ec2.Seed(new SeedRequest { Region = options.SourceRegion, Snapshots = options.Count, SizeGiB = SourceSizeGiB, Description = "soak" })
                .SnapshotIds;
            var outsideIds = await StartOutsideCopiesAsync(ec2, options, cancellationToken);
            log($"emulator {ec2.BaseUrl}: {sources.Count} sources in {options.SourceRegion}; " +
                $"{options.OutsideCopies} outside copies pending per destination ({string.Join(", ", options.Destinations)})");
            ApplyFaults(ec2.Config.Faults, options);
            var before = ec2.GetStats();

            var requests = Requests(sources, options);
            if (!options.NoStop)
            {
                var stopAfter = (int)Math.Ceiling(options.StopAt * requests.Count);
                report.Run1 = await RunJobAsync("run 1", options, ec2.BaseUrl, requests, stopAfter, log, cancellationToken);
                if (options.RerunDelay > TimeSpan.Zero) await Task.Delay(options.RerunDelay, cancellationToken);
            }
            // "The same command again": a new engine, a new client source (a new process, in effect), new request objects.
            report.Run2 = await RunJobAsync(options.NoStop ? "run" : "run 2", options, ec2.BaseUrl, Requests(sources, options), null, log,
                cancellationToken);
            var after = ec2.GetStats();
            report.SetEmulatorFigures(before, after);

            // ---- audit: faults off, let invisible copies become visible, then DescribeSnapshots through the SDK ----------
            ec2.Config.Faults = new FaultConfig();
            await Task.Delay(TimeSpan.FromSeconds(options.InvisibleSeconds + 0.5), cancellationToken);
            report.Ec2 = await AuditAsync(ec2.BaseUrl, options, outsideIds, cancellationToken);
            report.Inputs = Inputs(sources, options);
        }

        // ---- the same copies fault-free, on a third emulator (no faults, no outside copies) -------------------------------
        if (!options.NoBaseline)
        {
            var clean = new SoakOptions
            {
                Count = options.Count, Destinations = options.Destinations, SourceRegion = options.SourceRegion, Seed = options.Seed,
                CopySeconds = options.CopySeconds, PollInterval = options.PollInterval, VisibilityGrace = options.VisibilityGrace,
                RunLimit = options.RunLimit, NoStop = true,
            }.WithoutFaults();
            await using var ec2 = await Ec2Emulator.StartAsync(EmulatorFor(clean), cancellationToken);
            var sources = ec2.Seed(new SeedRequest { Region = clean.SourceRegion, Snapshots = clean.Count, SizeGiB = SourceSizeGiB, Description = "soak" })
                .SnapshotIds;
            var before = ec2.GetStats();
            report.Baseline = await RunJobAsync("fault-free", clean, ec2.BaseUrl, Requests(sources, clean), null, log, cancellationToken);
            var after = ec2.GetStats();
            report.BaselineEc2Calls = SoakReport.Ec2Calls(before, after).Values.Sum();
            report.BaselineCopyErrors = SoakReport.CopySnapshotErrors(before, after);
        }
        report.TotalElapsed = total.Elapsed;
        return report;
    }

    private static EmulatorOptions EmulatorFor(SoakOptions o) => new()
    {
        RandomSeed = o.Seed,
        Config = new EmulatorConfig
        {
            Durations = new DurationConfig
            {
                Copy = new DurationModel { Kind = DurationKind.Fixed, Seconds = o.CopySeconds, ReferenceSizeGiB = SourceSizeGiB },
                CrossRegionFactor = 1,
            },
        },
    };

    private static void ApplyFaults(FaultConfig f, SoakOptions o)
    {
        f.Actions = new List<string>(); // every EC2 action (STS is never faulted by the emulator)
        f.ThrottleRate = o.ThrottleRate;
        f.InternalErrorRate = o.InternalErrorRate;
        f.UnavailableRate = o.UnavailableRate;
        f.DropBeforeActionRate = o.DropBeforeRate;
        f.DropAfterActionRate = o.DropAfterRate;
        f.CopyErrorRate = o.CopyErrorRate;
        f.InvisibleRate = o.InvisibleRate;
        f.InvisibleSeconds = o.InvisibleSeconds;
    }

    private static List<SnapshotCopyRequest> Requests(IReadOnlyList<string> sources, SoakOptions o) =>
        sources.SelectMany(id => o.Destinations.Select(d => new SnapshotCopyRequest
        {
            SourceSnapshotId = id, SourceRegion = o.SourceRegion, DestinationRegion = d,
        })).ToList();

    private static List<(string Destination, string Source)> Inputs(IReadOnlyList<string> sources, SoakOptions o) =>
        sources.SelectMany(id => o.Destinations.Select(d => (d, id))).ToList();

    private static AmazonEC2Client PlainClient(Uri url, string region, string accessKey) => new(
        new BasicAWSCredentials(accessKey, SecretKey),
        new AmazonEC2Config
        {
            ServiceURL = url.ToString(), AuthenticationRegion = region, MaxErrorRetry = 5, RetryMode = RequestRetryMode.Standard,
            Timeout = TimeSpan.FromSeconds(30),
        });

    /// <summary>"Someone else" in the account starts copies that stay pending for hours: they hold slots of EC2's 20.
    /// Started before the faults are switched on, through a plain SDK client, untagged.</summary>
    private static async Task<Dictionary<string, List<string>>> StartOutsideCopiesAsync(Ec2Emulator ec2, SoakOptions o, CancellationToken ct)
    {
        var ids = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (o.OutsideCopies == 0) return ids;
        var outsideSources = ec2.Seed(new SeedRequest
        {
            Region = o.SourceRegion, Snapshots = o.OutsideCopies * o.Destinations.Count, SizeGiB = OutsideSizeGiB, Description = "outside",
        }).SnapshotIds;
        var next = 0;
        foreach (var destination in o.Destinations)
        {
            using var client = PlainClient(ec2.BaseUrl, destination, "AKIDOUTSIDE000EXAMPLE");
            ids[destination] = new List<string>();
            for (var i = 0; i < o.OutsideCopies; i++)
            {
                var response = await client.CopySnapshotAsync(new CopySnapshotRequest
                {
                    SourceRegion = o.SourceRegion, SourceSnapshotId = outsideSources[next++], Description = "outside copy",
                }, ct);
                ids[destination].Add(response.SnapshotId);
            }
        }
        return ids;
    }

    /// <summary>One invocation: a new engine and a new module client source; stops the job (its CancellationToken, as
    /// Ctrl+C does) after <paramref name="stopAfterFinished"/> finished items, or at the safety limit.</summary>
    private static async Task<RunOutcome> RunJobAsync(string name, SoakOptions o, Uri url, IReadOnlyList<SnapshotCopyRequest> requests,
        int? stopAfterFinished, Action<string> log, CancellationToken ct)
    {
        var engine = new SnapshotEngine(TimeProvider.System);
        using var clients = new Ec2ClientSource(new BasicAWSCredentials(AccessKey, SecretKey), url.ToString(), UserAgent);
        var (account, problem) = clients.ResolveAccount(o.SourceRegion, ct);
        if (problem is not null) log($"{name}: account not learned ({problem}); using {account}");
        var jobOptions = new CopyJobOptions { PollInterval = o.PollInterval, VisibilityGrace = o.VisibilityGrace };
        return await Task.Run(() => Drive(name, engine, clients, jobOptions, requests, stopAfterFinished, o.RunLimit, log, ct), ct);
    }

    private static RunOutcome Drive(string name, SnapshotEngine engine, IEc2ClientSource clients, CopyJobOptions jobOptions,
        IReadOnlyList<SnapshotCopyRequest> requests, int? stopAfterFinished, TimeSpan limit, Action<string> log, CancellationToken ct)
    {
        var outcome = new RunOutcome { Name = name };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clock = Stopwatch.StartNew();
        outcome.StartedUtc = DateTime.UtcNow;
        using var job = engine.StartCopyJob(clients, jobOptions, stop.Token);
        foreach (var request in requests) job.Add(request);
        job.CompleteAdding();
        var destinations = requests.Select(r => r.DestinationRegion + ":").Distinct().ToList();
        var stopRequested = false;
        var giveUpAt = TimeSpan.MaxValue;
        var nextLog = TimeSpan.FromSeconds(10);
        log($"{name}: {requests.Count} copies added");

        void Stop(string why)
        {
            if (stopRequested) return;
            stopRequested = true;
            stop.Cancel();
            giveUpAt = clock.Elapsed + TimeSpan.FromSeconds(90);
            log($"{name}: stopping at {clock.Elapsed.TotalSeconds:0.0} s ({why}): {outcome.Finished.Count} finished, {outcome.Accepted} accepted");
        }

        while (!job.IsFinished)
        {
            if (clock.Elapsed > limit && !stopRequested)
            {
                outcome.HitLimit = true;
                Stop($"safety limit {limit.TotalMinutes:0.#} min");
            }
            if (clock.Elapsed > giveUpAt)
            {
                outcome.Abandoned = true;
                log($"{name}: the job did not finish within 90 s of the stop; giving up on it");
                break;
            }
            if (job.TryTake(out var e, TimeSpan.FromMilliseconds(100)) && e is not null)
            {
                switch (e)
                {
                    case ItemAcceptedEvent<SnapshotCopyRequest, SnapshotCopyResult> a:
                        outcome.Accepted++;
                        if (a.Result.SnapshotId is { } accepted) outcome.CopyIds[accepted] = "accepted";
                        break;
                    case ItemFinishedEvent<SnapshotCopyRequest, SnapshotCopyResult> f:
                        outcome.Finished.Add(new FinishedItem(f.Request!, f.Result, f.Error));
                        if (f.Result.SnapshotId is { } id) outcome.CopyIds[id] = f.Result.Reused ? "reused" : f.Result.State.ToString();
                        break;
                    case JobMessageEvent<SnapshotCopyRequest> m:
                        outcome.Messages[m.Level] = outcome.Messages.GetValueOrDefault(m.Level) + 1;
                        if (m.Level == MessageLevel.Warning && outcome.Warnings.Count < 12 && !outcome.Warnings.Contains(m.Message))
                            outcome.Warnings.Add(m.Message);
                        if (m.Request is null && destinations.Any(d => m.Message.StartsWith(d, StringComparison.Ordinal)))
                            outcome.Summaries.Add(m.Message);
                        break;
                }
            }
            if (stopAfterFinished is { } n && outcome.Finished.Count >= n) Stop($"{n} of {requests.Count} finished");
            if (clock.Elapsed > nextLog)
            {
                nextLog += TimeSpan.FromSeconds(10);
                log($"{name}: {clock.Elapsed.TotalSeconds:0} s: {outcome.Finished.Count}/{requests.Count} finished, {outcome.Accepted} accepted");
            }
        }
        if (stopRequested && !outcome.HitLimit) outcome.StoppedAtFinished = stopAfterFinished;
        outcome.Elapsed = clock.Elapsed;
        outcome.Statistics = job.Statistics;
        log($"{name}: done in {outcome.Elapsed.TotalSeconds:0.0} s: {outcome.Finished.Count} finished");
        foreach (var s in outcome.Summaries) log($"  {s}");
        foreach (var w in outcome.Warnings) log($"  warning: {w}");
        return outcome;
    }

    private static async Task<Ec2Copies> AuditAsync(Uri url, SoakOptions o, Dictionary<string, List<string>> outsideIds, CancellationToken ct)
    {
        var result = new Ec2Copies();
        foreach (var destination in o.Destinations)
        {
            using var client = PlainClient(url, destination, AccessKey);
            string? token = null;
            do
            {
                var page = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
                {
                    OwnerIds = ["self"],
                    Filters = [new Filter { Name = "tag-key", Values = [CopyTagNames.SourceSnapshotId] }],
                    MaxResults = 1000,
                    NextToken = token,
                }, ct);
                result.DescribePages++;
                foreach (var s in page.Snapshots ?? [])
                {
                    var tags = (s.Tags ?? []).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
                    if (!tags.TryGetValue(CopyTagNames.SourceSnapshotId, out var source)) continue;
                    if (tags.TryGetValue(CopyTagNames.SourceRegion, out var sourceRegion) && sourceRegion != o.SourceRegion) continue;
                    var key = (destination, source);
                    if (!result.BySource.TryGetValue(key, out var list)) result.BySource[key] = list = new List<Snapshot>();
                    list.Add(s);
                }
                token = page.NextToken;
            } while (!string.IsNullOrEmpty(token));

            if (outsideIds.TryGetValue(destination, out var outside) && outside.Count > 0)
            {
                var response = await client.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = outside }, ct);
                result.OutsideStillPending[destination] = (response.Snapshots ?? []).Count(s => s.State?.Value == "pending");
            }
        }
        return result;
    }
}
