using System.Net;
using Avtomat.Ec2.Emulator.Actions;
using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Avtomat.Ec2.Emulator;

/// <summary>An EC2 emulator (and STS: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity) listening on 127.0.0.1 over real HTTP.</summary>
/// <example><code>await using var ec2 = await Ec2Emulator.StartAsync(new EmulatorOptions { TimeProvider = fake });</code></example>
public sealed partial class Ec2Emulator : IAsyncDisposable
{
    private readonly EmulatorState _state;
    private readonly WebApplication _app;
    private readonly RequestDelegate _handle;
    private Uri? _baseUrl;
    private bool _started;

    private Ec2Emulator(EmulatorOptions options)
    {
        _state = new EmulatorState(options);
        // An empty builder: no environment/appsettings configuration and no logging providers (quiet, and
        // independent of ASPNETCORE_* variables of the host process).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.AddServerHeader = false;
        });
        _app = builder.Build();
        var aws = new ServiceRouter(_state);
        _handle = http =>
        {
            // Tolerate "http://host:port//_emulator/..." (base URL ends with '/').
            var path = "/" + (http.Request.Path.Value ?? "").TrimStart('/');
            if (!path.StartsWith(ControlApi.Prefix, StringComparison.Ordinal)) return aws.HandleAsync(http);
            http.Request.Path = path;
            return ControlApi.HandleAsync(http, this);
        };
        _app.Run(_handle);
    }

    public static async Task<Ec2Emulator> StartAsync(EmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var emulator = new Ec2Emulator(options ?? new EmulatorOptions());
        await emulator._app.StartAsync(cancellationToken);
        emulator._started = true;
        var address = emulator._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        var port = new Uri(address).Port;
        emulator._baseUrl = new Uri($"http://127.0.0.1:{port}/");
        return emulator;
    }

    /// <summary>An emulator that does not listen: calls reach it only through <see cref="CreateHandler"/>, in-process.
    /// For runs where sockets would dominate (a benchmark of 10,000 copies in virtual time).</summary>
    public static Ec2Emulator CreateInProcess(EmulatorOptions? options = null) => new(options ?? new EmulatorOptions());

    /// <summary>An <see cref="HttpMessageHandler"/> that hands each request to the same request handling the listener
    /// uses (EC2, STS and the control API: limits, faults, counters and all), in-process and without sockets: give it to
    /// the SDK through an <c>HttpClientFactory</c>. A connection the emulator drops (an injected fault) surfaces as an
    /// <see cref="HttpRequestException"/> over an <see cref="IOException"/>, as it does over TCP. Works whether or not
    /// the emulator listens.</summary>
    public HttpMessageHandler CreateHandler() => new InProcessHandler(_handle);

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:4566/</c>: the SDK's ServiceURL and the CLI's --endpoint-url.</summary>
    public Uri BaseUrl => _baseUrl ?? throw new InvalidOperationException("The emulator has not started (or runs in-process only).");

    public EmulatorOptions Options => _state.Options;

    /// <summary>The live run-time configuration (same object <c>/_emulator/config</c> reads and replaces).</summary>
    public EmulatorConfig Config => _state.Options.Config;

    /// <summary>Replaces the run-time configuration (PUT <c>/_emulator/config</c>).</summary>
    public void Configure(EmulatorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_state.Gate) _state.Options.Config = config;
    }

    /// <summary>Creates snapshots, volumes and instances directly (POST <c>/_emulator/seed</c>). Seeded snapshots are completed unless asked otherwise, and visible at once.</summary>
    public SeedResult Seed(SeedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_state.Gate)
        {
            try
            {
                if (request.Ids is { Count: > 0 } ids) _state.PresetIds(ids);
                return Seeder.Seed(_state, request);
            }
            finally
            {
                _state.ClearPresetIds();
            }
        }
    }

    /// <summary>The call log: the latest <see cref="EmulatorOptions.CallLogCapacity"/> EC2 and STS calls that reached the
    /// emulator since start or the last reset, oldest first, each with its parameters and outcome
    /// (GET <c>/_emulator/calls</c>).</summary>
    public IReadOnlyList<CallInfo> GetCalls()
    {
        lock (_state.Gate) return _state.Calls.Kept;
    }

    /// <summary>The logged calls of <paramref name="action"/> (e.g. <c>CopySnapshot</c>, <c>GetCallerIdentity</c>),
    /// optionally only those signed for <paramref name="region"/> and acting in <paramref name="accountId"/>.</summary>
    public IReadOnlyList<CallInfo> GetCalls(string action, string? region = null, string? accountId = null)
    {
        lock (_state.Gate)
            return _state.Calls.Kept.Where(c => c.Action == action && (region is null || c.Region == region)
                && (accountId is null || c.Account == accountId)).ToList();
    }

    /// <summary>A silent duplicate of a snapshot: what an HTTP re-send nobody saw leaves behind. A new snapshot with the
    /// same account, region, source, volume, size, description, encryption, tags, transfer type and lifecycle (duration
    /// and final state), started <paramref name="after"/> (default 10 ms) after the original and visible to DescribeSnapshots when the original is.
    /// No call is logged and no token taken; a copy counts in the stats' copies per source and destination. EC2 refuses a
    /// second CreateSnapshot of one volume within 15 s, so a realistic duplicate of a created snapshot is ≥ 15 s later
    /// (not enforced). POST <c>/_emulator/duplicate</c>.</summary>
    /// <returns>The new snapshot's id.</returns>
    /// <exception cref="ArgumentException">No snapshot has that id.</exception>
    public string Duplicate(string snapshotId, TimeSpan? after = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(snapshotId);
        lock (_state.Gate) return Seeder.Duplicate(_state, snapshotId, after ?? TimeSpan.FromMilliseconds(10));
    }

    /// <summary>Someone else in the account spends <paramref name="count"/> tokens of a token bucket now (the bucket
    /// names of <see cref="LimitConfig.Buckets"/>: <c>CopySnapshot</c>, <c>DescribeSnapshots</c>,
    /// <c>DescribeSnapshots.Unfiltered</c>, …), so the next calls of this account and region meet a shorter bucket.
    /// Never below zero. Account: the default account unless given.</summary>
    public void SpendTokens(string bucket, int count, string region, string? accountId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_state.Gate)
        {
            if (!_state.IsKnownRegion(region)) throw new ArgumentException($"Unknown region '{region}'.", nameof(region));
            var regionState = _state.Region(accountId ?? _state.Options.DefaultAccountId, region);
            var limits = _state.Config.Limits;
            var config = limits.Buckets.GetValueOrDefault(bucket) ?? limits.DefaultBucket;
            if (!regionState.Buckets.TryGetValue(bucket, out var tokens)) regionState.Buckets[bucket] = tokens = new TokenBucket();
            tokens.Spend(config, _state.Now, count);
        }
    }

    /// <summary>Creates a customer managed KMS key owned by <paramref name="accountId"/> in <paramref name="region"/>
    /// (POST <c>/_emulator/kms/keys</c>). Its owner may use it at once; other accounts once granted
    /// (<see cref="GrantKmsKey"/>). With an alias, the key is the one that alias already named in that account and region
    /// (a snapshot seeded or copied with <c>alias/NAME</c> before is encrypted with this key).</summary>
    /// <exception cref="ArgumentException">Not a 12-digit account, an unknown region, a malformed or reserved alias, or an
    /// alias that names a created key already.</exception>
    public KmsKeyInfo CreateKmsKey(string accountId, string region, string? alias = null)
    {
        RequireAccountId(accountId);
        lock (_state.Gate)
        {
            if (!_state.IsKnownRegion(region)) throw new ArgumentException($"Unknown region '{region}'.", nameof(region));
            return Info(_state.Kms.Create(accountId, region, alias));
        }
    }

    /// <summary>The keys created through <see cref="CreateKmsKey"/>, then the AWS managed EBS keys (alias/aws/ebs) of the
    /// account-regions the emulator has state for, optionally only those of <paramref name="accountId"/> and/or
    /// <paramref name="region"/> (with both, that account-region's AWS managed key is always listed). GET
    /// <c>/_emulator/kms/keys[?account=ID&amp;region=R]</c>.</summary>
    public IReadOnlyList<KmsKeyInfo> GetKmsKeys(string? accountId = null, string? region = null)
    {
        lock (_state.Gate)
        {
            var pairs = _state.KnownRegions.ToHashSet();
            if (accountId is not null && region is not null) pairs.Add((accountId, region));
            var managed = pairs.Where(p => (accountId is null || p.Account == accountId) && (region is null || p.Region == region))
                .OrderBy(p => p.Account, StringComparer.Ordinal).ThenBy(p => p.Region, StringComparer.Ordinal)
                .Select(p => KmsRegistry.DefaultKey(p.Account, p.Region));
            return _state.Kms.Created.Where(k => (accountId is null || k.Account == accountId) && (region is null || k.Region == region))
                .Concat(managed).Select(Info).ToList();
        }
    }

    /// <summary>Lets <paramref name="accountId"/> use a customer managed key of another account (its key policy and the
    /// account's IAM policy allow the KMS actions a copy needs). POST <c>/_emulator/kms/grants</c>.</summary>
    /// <param name="keyIdOrArn">A created key's id, key ARN or alias ARN.</param>
    /// <exception cref="ArgumentException">No such created key, an AWS managed key, the key's own account, or not a 12-digit account.</exception>
    public KmsKeyInfo GrantKmsKey(string keyIdOrArn, string accountId)
    {
        RequireAccountId(accountId);
        lock (_state.Gate)
        {
            var key = FindKmsKey(keyIdOrArn);
            _state.Kms.Grant(key, accountId);
            return Info(key);
        }
    }

    /// <summary>Takes a grant back (DELETE <c>/_emulator/kms/grants</c>); copies started afterwards with the key end in
    /// <c>error</c> "Given key ID is not accessible". Revoking a grant that is not there changes nothing.</summary>
    public KmsKeyInfo RevokeKmsKey(string keyIdOrArn, string accountId)
    {
        RequireAccountId(accountId);
        lock (_state.Gate)
        {
            var key = FindKmsKey(keyIdOrArn);
            _state.Kms.Revoke(key, accountId);
            return Info(key);
        }
    }

    /// <summary>The account a seed or key body means: its AccountId, else its access key's account, else the default.</summary>
    internal string AccountOf(string? accountId, string? accessKeyId)
    {
        lock (_state.Gate) return accountId ?? _state.AccountFor(accessKeyId);
    }

    private KmsKeyRecord FindKmsKey(string keyIdOrArn)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyIdOrArn);
        return _state.Kms.Find(keyIdOrArn) ?? throw new ArgumentException($"No key '{keyIdOrArn}' was created (POST /_emulator/kms/keys).");
    }

    private static void RequireAccountId(string accountId)
    {
        if (accountId is null || !SnapshotActions.IsAccountId(accountId))
            throw new ArgumentException($"'{accountId}' is not a 12-digit account id.");
    }

    private static KmsKeyInfo Info(KmsKeyRecord key) => new()
    {
        KeyId = key.KeyId, Arn = key.Arn, AccountId = key.Account, Region = key.Region, Alias = key.Alias,
        KeyManager = key.Manager, GrantedAccounts = key.GrantedAccounts.ToList(),
    };

    /// <summary>Counters since start or the last reset (GET <c>/_emulator/stats</c>).</summary>
    public EmulatorStats GetStats()
    {
        lock (_state.Gate) return _state.Stats.Snapshot();
    }

    /// <summary>Forgets every resource and counter (POST <c>/_emulator/reset</c>); the configuration stays.</summary>
    public void Reset()
    {
        lock (_state.Gate) _state.Reset();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_started)
        {
            await _app.DisposeAsync();
            return;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await _app.StopAsync(timeout.Token); }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync();
    }
}

/// <summary>Body of POST <c>/_emulator/seed</c>.</summary>
public sealed class SeedRequest
{
    /// <summary>Account id; or give <see cref="AccessKeyId"/> to use its mapped account. Default: the default account.</summary>
    public string? AccountId { get; set; }
    public string? AccessKeyId { get; set; }
    public string Region { get; set; } = "us-east-1";
    /// <summary>Number of snapshots to create (each with its own new volume id unless <see cref="VolumeId"/> is set).</summary>
    public int Snapshots { get; set; }
    /// <summary>Number of unattached volumes to create (available, in <see cref="AvailabilityZone"/>).</summary>
    public int Volumes { get; set; }
    /// <summary>Number of instances to create (one reservation), each with an attached gp3 root volume of
    /// <see cref="RootSizeGiB"/> at <c>/dev/xvda</c> and <see cref="DataVolumesPerInstance"/> data volumes
    /// (<see cref="VolumeType"/>, sizes as for <see cref="Volumes"/>) at <c>/dev/sdf</c>, <c>/dev/sdg</c>, ….</summary>
    public int Instances { get; set; }
    /// <summary>Data volumes per instance, 0..20.</summary>
    public int DataVolumesPerInstance { get; set; } = 1;
    public int RootSizeGiB { get; set; } = 8;
    /// <summary>running (default) or stopped.</summary>
    public string InstanceState { get; set; } = "running";
    public string InstanceType { get; set; } = "t3.micro";
    /// <summary>Tags of the instances (Tags go to volumes and snapshots).</summary>
    public Dictionary<string, string>? InstanceTags { get; set; }
    /// <summary>When set, Name tags: "P-1", "P-2" … for volumes and for instances, and "P-1-root", "P-1-data1" … for
    /// the volumes of instance "P-1".</summary>
    public string? NamePrefix { get; set; }
    /// <summary>Size of every snapshot/volume in GiB, or cycle through <see cref="SizesGiB"/> when given.</summary>
    public int SizeGiB { get; set; } = 8;
    public List<int>? SizesGiB { get; set; }
    public string? VolumeType { get; set; }
    public string? AvailabilityZone { get; set; }
    public string? VolumeId { get; set; }
    /// <summary>Ids for what this seed creates, in order per prefix: the snapshots take the snap- ones, the volumes (and
    /// instances' volumes) the vol- ones, the instances the i- ones; the rest get new ids. For the ids a documentation
    /// example names (snap-0123456789abcdef0).</summary>
    public List<string>? Ids { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public string? Description { get; set; }
    public bool Encrypted { get; set; }
    public string? KmsKeyId { get; set; }
    /// <summary>completed (default), pending or error.</summary>
    public string State { get; set; } = "completed";
    public string? StatusMessage { get; set; }
    /// <summary>How long each seeded snapshot takes, in seconds of the emulator's clock. Completed and error snapshots
    /// started that long before now and ended now (a completed one's <c>completionTime</c> is now, its <c>startTime</c>
    /// that much earlier: a copy made before the client started); pending ones start now and stay pending that long.
    /// Null: completed and error snapshots start and end now, pending ones take a sampled snapshot duration.</summary>
    public double? DurationSeconds { get; set; }
    /// <summary>Seeds the snapshots on an Outpost.</summary>
    public string? OutpostArn { get; set; }
    /// <summary>When set, the seeded snapshots are copies of this snapshot (made by someone else in the account): volume
    /// <c>vol-ffffffff</c>, and while <c>pending</c> they count against the destination's 20 concurrent copies. The
    /// source need not exist; when it does (in <see cref="SourceRegion"/>), its size and lineage are used.</summary>
    public string? SourceSnapshotId { get; set; }
    /// <summary>The region of <see cref="SourceSnapshotId"/>; default: <see cref="Region"/>.</summary>
    public string? SourceRegion { get; set; }
    /// <summary>Account ids the seeded snapshots are shared with (their createVolumePermission), as an earlier
    /// ModifySnapshotAttribute would have left them. Refused for snapshots encrypted with the AWS managed key, as EC2 does.</summary>
    public List<string>? CreateVolumePermissionUserIds { get; set; }
    /// <summary>The seeded snapshots are public (createVolumePermission group <c>all</c>); refused when encrypted.</summary>
    public bool Public { get; set; }
}

public sealed class SeedResult
{
    public List<string> SnapshotIds { get; set; } = new();
    /// <summary>Every volume created: the unattached ones, then each instance's root and data volumes.</summary>
    public List<string> VolumeIds { get; set; } = new();
    public List<string> InstanceIds { get; set; } = new();
    /// <summary>Volumes per instance id, root first.</summary>
    public Dictionary<string, List<string>> InstanceVolumeIds { get; set; } = new();
}

/// <summary>Counters. Keys: "ACCOUNT/REGION" for regions, action names for actions (STS ones as "sts:GetCallerIdentity"),
/// "REGION/snap-…" for sources.</summary>
public sealed class EmulatorStats
{
    /// <summary>Calls that reached an action, per "ACCOUNT/REGION" then per action (including failed ones, credential faults
    /// included). STS calls count under their signing region as "sts:GetCallerIdentity".</summary>
    public Dictionary<string, Dictionary<string, long>> Calls { get; set; } = new();
    /// <summary>RequestLimitExceeded answers (bucket or injected) per "ACCOUNT/REGION" then per action.</summary>
    public Dictionary<string, Dictionary<string, long>> Throttled { get; set; } = new();
    /// <summary>Injected faults per kind (InternalError, Unavailable, DropBeforeAction, DropAfterAction, SlowResponse, CopyError, SnapshotError, Invisible).</summary>
    public Dictionary<string, long> Faults { get; set; } = new();
    /// <summary>Error codes returned per action (e.g. CopySnapshot → ResourceLimitExceeded → 3; sts:GetCallerIdentity → ExpiredToken → 1).</summary>
    public Dictionary<string, Dictionary<string, long>> Errors { get; set; } = new();
    /// <summary>Highest number of pending copies seen at once per destination "ACCOUNT/REGION".</summary>
    public Dictionary<string, int> MaxPendingCopies { get; set; } = new();
    /// <summary>Copies created per source "REGION/snap-…" per destination region (to prove nothing was duplicated).</summary>
    public Dictionary<string, Dictionary<string, int>> CopiesPerSource { get; set; } = new();
    /// <summary>Copies created per source "REGION/snap-…" per destination "ACCOUNT/REGION": which account copied a source
    /// (shared with it or its own) how often, and where to.</summary>
    public Dictionary<string, Dictionary<string, int>> CopiesPerSourceAndDestination { get; set; } = new();
    /// <summary>Copies created per destination "ACCOUNT/REGION" (to prove each landed in the account that asked).</summary>
    public Dictionary<string, int> CopiesPerDestination { get; set; } = new();
    /// <summary>Snapshots created per volume id (CreateSnapshot/CreateSnapshots).</summary>
    public Dictionary<string, int> SnapshotsPerVolume { get; set; } = new();
    /// <summary>Highest number of pending snapshots seen at once per volume id.</summary>
    public Dictionary<string, int> MaxPendingSnapshotsPerVolume { get; set; } = new();
    /// <summary>Per-volume rule violations answered with an error (ConcurrentSnapshotLimitExceeded, SnapshotCreationPerVolumeRateExceeded).</summary>
    public long VolumeRuleRejections { get; set; }
    /// <summary>Smallest gap in seconds between two accepted snapshots of one volume (null until a volume has two):
    /// never below <see cref="LimitConfig.MinSecondsBetweenVolumeSnapshots"/>, since closer ones are rejected.</summary>
    public double? MinSecondsBetweenVolumeSnapshots { get; set; }
    /// <summary>Start of the first accepted CopySnapshot (emulator clock).</summary>
    public DateTimeOffset? FirstCopyStartTime { get; set; }
    /// <summary>Start of the last snapshot accepted by CreateSnapshot/CreateSnapshots (emulator clock).</summary>
    public DateTimeOffset? LastSnapshotStartTime { get; set; }
    /// <summary>Latest time a snapshot from CreateSnapshot/CreateSnapshots leaves <c>pending</c> (fixed when it is created).</summary>
    public DateTimeOffset? LastSnapshotEndTime { get; set; }
    public long TotalCalls { get; set; }
    /// <summary>Every copy accepted (CopySnapshot, and duplicates of one) by copy snapshot id: full or incremental by EC2's
    /// rules, the bytes it transfers and, for time-based copies, the throughput it got and whether it finished late.</summary>
    public Dictionary<string, CopyStats> CopyDetails { get; set; } = new();
    /// <summary>Sum of <see cref="CopyStats.TransferredBytes"/> over <see cref="CopyDetails"/>.</summary>
    public long TransferredBytes { get; set; }
}

/// <summary>One copy in <see cref="EmulatorStats.CopyDetails"/>.</summary>
public sealed class CopyStats
{
    /// <summary>The source, "REGION/snap-…".</summary>
    public string Source { get; set; } = "";
    /// <summary>The destination, "ACCOUNT/REGION".</summary>
    public string Destination { get; set; } = "";
    /// <summary><c>Full</c> or <c>Incremental</c>.</summary>
    public string Kind { get; set; } = "";
    /// <summary>Why (e.g. "no earlier completed copy of the volume here", "incremental against snap-…").</summary>
    public string Reason { get; set; } = "";
    /// <summary>The copy (or, within one account and region, the source) an incremental copy is based on.</summary>
    public string? BaseSnapshotId { get; set; }
    /// <summary>The source volume lineage, "REGION/vol-…".</summary>
    public string LineageVolume { get; set; } = "";
    /// <summary>Bytes transferred: a full copy the volume size (GiB × 2^30), an incremental one
    /// <see cref="DurationConfig.IncrementalChangedShare"/> of it, a copy within one account, region and key 0.</summary>
    public long TransferredBytes { get; set; }
    public DateTimeOffset StartTime { get; set; }
    /// <summary>When it leaves pending.</summary>
    public DateTimeOffset EndTime { get; set; }
    /// <summary><c>standard</c> or <c>time-based</c>.</summary>
    public string TransferType { get; set; } = "standard";
    public int? CompletionDurationMinutes { get; set; }
    /// <summary>Time-based: when its completion duration started (later than StartTime when an earlier time-based copy of
    /// the same snapshot was still pending).</summary>
    public DateTimeOffset? TransferStart { get; set; }
    /// <summary>Time-based: TransferStart + CompletionDurationMinutes.</summary>
    public DateTimeOffset? DueTime { get; set; }
    /// <summary>Time-based: transferred MiB ÷ the completion duration.</summary>
    public double? RequiredMiBps { get; set; }
    /// <summary>Time-based: what it got (at most 500 MiB/s and what the region pair's quota had left).</summary>
    public double? GrantedMiBps { get; set; }
    /// <summary>Time-based: it ends after <see cref="DueTime"/> (the throughput it got was below the required).</summary>
    public bool Late { get; set; }
}

/// <summary>A KMS key as the control API shows it (<c>/_emulator/kms/keys</c>, <c>/_emulator/kms/grants</c>).</summary>
public sealed class KmsKeyInfo
{
    public string KeyId { get; set; } = "";
    public string Arn { get; set; } = "";
    public string AccountId { get; set; } = "";
    public string Region { get; set; } = "";
    public string? Alias { get; set; }
    /// <summary><c>CUSTOMER</c> (created through the control API) or <c>AWS</c> (an account-region's alias/aws/ebs).</summary>
    public string KeyManager { get; set; } = "";
    /// <summary>Other accounts that may use the key (always empty for AWS managed keys).</summary>
    public List<string> GrantedAccounts { get; set; } = new();
}

/// <summary>Body of POST <c>/_emulator/kms/keys</c>.</summary>
public sealed class KmsKeyRequest
{
    /// <summary>The owner account; or give <see cref="AccessKeyId"/> to use its mapped account. Default: the default account.</summary>
    public string? AccountId { get; set; }
    public string? AccessKeyId { get; set; }
    public string Region { get; set; } = "us-east-1";
    /// <summary>Optional alias (<c>alias/NAME</c>, not <c>alias/aws/…</c>): the key is the one the alias named before.</summary>
    public string? Alias { get; set; }
}

/// <summary>Body of POST and DELETE <c>/_emulator/kms/grants</c>: the key (<see cref="KeyId"/> or <see cref="Arn"/>, a key
/// or alias ARN) and the account to grant or revoke.</summary>
public sealed class KmsGrantRequest
{
    public string? KeyId { get; set; }
    public string? Arn { get; set; }
    public string? AccountId { get; set; }
}
