using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Errors;
using Avtomat.Ec2.Progress;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// <para type="synopsis">Copies EBS snapshots within a region, across regions or to an Outpost, at most ThrottleLimit
/// at a time per destination, and waits for the copies to complete.</para>
/// </summary>
/// <remarks>
/// A thin cmdlet: it binds parameters, asks ShouldProcess, hands <see cref="SnapshotCopyRequest"/>s to the shared
/// <see cref="CopyEngine"/> and turns the job's events into Write* calls on the pipeline thread. Every AWS call, retry,
/// poll and limit lives in the engine.
/// </remarks>
[Cmdlet(VerbsCommon.Copy, "AvSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ToRegionSet)]
[OutputType(typeof(SnapshotCopyResult))]
public sealed class CopyAvSnapshotCommand : AwsCmdlet, IDisposable
{
    public const string ToRegionSet = "ToRegion";
    public const string ToOutpostSet = "ToOutpost";
    public const string ToLocalZoneSet = "ToLocalZone";

    /// <summary>Reserved tag prefixes: AWS's own, and the module's provenance tags (duplicate protection relies on them).</summary>
    private static readonly string[] ReservedTagPrefixes = { "aws:", "avtomat:" };
    private const int MaxTagKeyLength = 128;
    private const int MaxTagValueLength = 256;
    /// <summary>EC2 allows 50 tags per resource; the engine adds three provenance tags.</summary>
    private const int MaxUserTags = 47;
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(300);

    private static readonly Regex OutpostArnPattern = new(
        @"^arn:aws[a-z-]*:outposts:(?<region>[a-z]{2}(-[a-z]+)+-\d+):(?<account>\d{12}):outpost/op-[0-9a-f]{17}$",
        RegexOptions.CultureInvariant);
    private static readonly Regex LocalZonePattern = new(
        @"^(?<region>[a-z]{2}(-[a-z]+)+-\d+)-[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant);
    private static readonly Regex KmsArnPattern = new(
        @"^arn:aws[a-z-]*:kms:(?<region>[a-z]{2}(-[a-z]+)+-\d+):\d{12}:(key|alias)/.+$", RegexOptions.CultureInvariant);

    // ---- Parameters -------------------------------------------------------------------------------------------

    /// <summary>The snapshots to copy. Binds strings, Amazon.EC2.Model.Snapshot objects (Get-EC2Snapshot), objects with
    /// a SnapshotId or SourceSnapshotId property and the module's own results.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("SourceSnapshotId")]
    [ValidateNotNullOrEmpty]
    [ValidateSnapshotId]
    public string[] SnapshotId { get; set; } = Array.Empty<string>();

    /// <summary>The region the snapshots are in. Default: the region of the AWS context (-Region rules of AWS Tools).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Region")]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? SourceRegion { get; set; }

    /// <summary>Where the copies go. Default: the source region. Several regions fan out, each with its own window.</summary>
    [Parameter]
    [Alias("TargetRegion")]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string[]? DestinationRegion { get; set; }

    /// <summary>Copy to this Outpost (in the destination region). Copies to an Outpost are always encrypted.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ToOutpostSet)]
    [ValidateNotNullOrEmpty]
    public string? DestinationOutpostArn { get; set; }

    /// <summary>Copy to this Local Zone of the destination region.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ToLocalZoneSet)]
    [ValidateNotNullOrEmpty]
    public string? DestinationAvailabilityZone { get; set; }

    /// <summary>Encrypt the copies (with -KmsKeyId, or the destination's default EBS key).</summary>
    [Parameter]
    public SwitchParameter Encrypted { get; set; }

    /// <summary>The KMS key for the copies (id, alias or ARN in the destination region). Implies -Encrypted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KmsKeyId { get; set; }

    /// <summary>Description template: {SourceSnapshotId}, {SourceRegion}, {SourceDescription}.</summary>
    [Parameter]
    [ValidateNotNull]
    public string? Description { get; set; }

    /// <summary>Tags for the copies, set at creation.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Tag { get; set; }

    /// <summary>Copy the source snapshot's tags onto the copy (aws: keys are skipped; -Tag wins).</summary>
    [Parameter]
    public SwitchParameter CopyTags { get; set; }

    /// <summary>Time-based copy: complete within this many minutes (15..2880, in steps of 15).</summary>
    [Parameter]
    [ValidateRange(15, 2880)]
    [ValidateMultipleOf(15)]
    public int? CompletionDurationMinutes { get; set; }

    /// <summary>Concurrent copies per destination region (EC2 allows 20 per region; the engine enforces that on top).</summary>
    [Parameter]
    [Alias("PendingLimit")]
    [ValidateRange(1, 100)]
    public int ThrottleLimit { get; set; } = 20;

    /// <summary>Seconds to wait for all copies; -1 waits as long as it takes.</summary>
    [Parameter]
    [Alias("TimeoutSec")]
    [ValidateTimeout]
    public int Timeout { get; set; } = -1;

    /// <summary>Ask EC2 to check each copy (DryRun=true) and copy nothing.</summary>
    [Parameter]
    public SwitchParameter DryRun { get; set; }

    /// <summary>The pipeline object as a whole (hidden). By-property-name binding prefers a property named like the
    /// parameter (SourceRegion) over its alias (Region); for objects that carry a SnapshotId together with the Region it
    /// lives in — our own results, whose SourceRegion is where the *previous* copy came from — the snapshot must be
    /// read from Region. This parameter lets the cmdlet see the whole object to get that right.</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    // ---- State ------------------------------------------------------------------------------------------------

    private readonly CancellationTokenSource _cancellation = new();
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly HashSet<string> _checkedRegions = new(StringComparer.Ordinal);
    private readonly object _disposeGate = new();
    private bool _sourceRegionFromCommandLine;
    private string? _outpostRegion;
    private string? _localZoneRegion;
    private bool _encrypt;
    private Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private AwsContext? _context;
    private IEc2ClientSourceLifetime? _clients;
    private CopyJob? _job;
    private CopyProgressWriter? _progress;
    private DateTime _startedUtc;
    private int _requests;
    private int _completed;
    private int _failed;
    private int _timedOut;
    private int _dryRun;
    private int _other;
    private bool _disposed;

    // ---- Pipeline ---------------------------------------------------------------------------------------------

    protected override void BeginProcessing()
    {
        _sourceRegionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(SourceRegion));
        ValidateParameterCombinations();

        // Start at once, so copying starts while upstream still produces. Two exceptions: under -WhatIf nothing is
        // resolved and no AWS call is made; and when input objects may carry their own region (no -SourceRegion on the
        // command line), the context waits for the first one, whose region then serves as the context's region, so
        // `$copies | Copy-AvSnapshot` works without a default region.
        if (!IsWhatIf() && (_sourceRegionFromCommandLine || !MyInvocation.ExpectingInput))
        {
            EnsureJob(null);
        }
        if (SourceRegion is { } source)
        {
            WarnOnce(source.Trim(), "-SourceRegion");
        }
        foreach (var region in DestinationRegion ?? Array.Empty<string>())
        {
            WarnOnce(region.Trim(), "-DestinationRegion");
        }
    }

    protected override void ProcessRecord()
    {
        try
        {
            var sourceRegion = RecordSourceRegion();
            if (sourceRegion is not null && !_sourceRegionFromCommandLine)
            {
                if (!RegionNames.IsWellFormed(sourceRegion))
                {
                    // Bound from a property (no parameter validation ran on the Region we read ourselves).
                    WriteError(ErrorRecordFactory.InvalidParameter("InvalidRegion", nameof(SourceRegion), sourceRegion,
                        RegionNames.MalformedMessage(sourceRegion)));
                    return;
                }
                WarnOnce(sourceRegion, "the input object");
            }
            foreach (var id in SnapshotId)
            {
                var snapshotId = id.Trim();
                var source = sourceRegion ?? EnsureContext(null).Region;
                foreach (var destination in Destinations(source))
                {
                    var key = $"{source}/{snapshotId}→{destination}";
                    if (_queued.Contains(key))
                    {
                        WriteWarning($"{snapshotId} ({source}) → {DestinationLabel(destination)} was already given; it is copied once.");
                        continue;
                    }
                    if (!ShouldProcess($"{snapshotId} ({source})", $"Copy to {DestinationLabel(destination)}"))
                    {
                        continue;
                    }
                    var job = EnsureJob(sourceRegion);
                    _queued.Add(key);
                    job.Add(CreateRequest(snapshotId, source, destination));
                    _requests++;
                }
            }
            Drain(TimeSpan.Zero);
        }
        catch
        {
            CancelAndRelease();
            throw;
        }
    }

    protected override void EndProcessing()
    {
        if (_job is null)
        {
            return; // nothing was queued (-WhatIf, or every item declined)
        }
        try
        {
            _job.CompleteAdding();
            while (!_job.IsFinished)
            {
                if (Stopping)
                {
                    throw new PipelineStoppedException();
                }
                Drain(DrainInterval);
                RefreshProgress(force: false);
            }
            Drain(TimeSpan.Zero);
            _progress?.Complete(SafeProgress());
            WriteSummary();
        }
        catch
        {
            CancelAndRelease();
            throw;
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Ctrl+C (or PowerShell.Stop): cancel only. The pipeline thread notices, stops waiting and releases.
    /// Copies EC2 already accepted keep running; their ids were written to the verbose stream as they were accepted.</summary>
    protected override void StopProcessing() => _cancellation.Cancel();

    public void Dispose()
    {
        lock (_disposeGate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        CancelAndRelease();
        // _cancellation is not disposed: StopProcessing may still run on another thread, and a source without timers
        // holds nothing that needs disposing.
    }

    // ---- Engine events → Write* (pipeline thread only) -----------------------------------------------------------

    /// <summary>Takes events: waits up to <paramref name="wait"/> for the first, then takes whatever else is ready.</summary>
    private void Drain(TimeSpan wait)
    {
        var job = _job;
        if (job is null)
        {
            return;
        }
        var timeout = wait;
        while (job.TryTake(out var copyEvent, timeout))
        {
            if (copyEvent is not null)
            {
                Handle(copyEvent);
            }
            timeout = TimeSpan.Zero;
            RefreshProgress(force: false);
        }
        RefreshProgress(force: false);
    }

    private void Handle(CopyEvent copyEvent)
    {
        switch (copyEvent)
        {
            case CopyAcceptedEvent accepted:
                WriteVerbose(AcceptedMessage(accepted.Result));
                break;
            case CopyFinishedEvent finished:
                Count(finished.Result);
                WriteObject(finished.Result);
                if (finished.Error is not null)
                {
                    WriteError(ErrorRecordFactory.FromEngineError(finished.Error, finished.Result));
                }
                break;
            case EngineMessageEvent message:
                switch (message.Level)
                {
                    case MessageLevel.Warning:
                        WriteWarning(message.Message);
                        break;
                    case MessageLevel.Debug:
                        WriteDebug(message.Message);
                        break;
                    default:
                        WriteVerbose(message.Message);
                        break;
                }
                break;
        }
    }

    private static string AcceptedMessage(SnapshotCopyResult result)
    {
        var destination = result.DestinationOutpostArn is { Length: > 0 } outpost ? $"{result.Region}, Outpost {outpost}" : result.Region;
        return $"{result.SourceSnapshotId} ({result.SourceRegion}) → {result.SnapshotId} ({destination}) accepted";
    }

    private void Count(SnapshotCopyResult result)
    {
        switch (result.State)
        {
            case SnapshotCopyState.Completed: _completed++; break;
            case SnapshotCopyState.Failed: _failed++; break;
            case SnapshotCopyState.TimedOut: _timedOut++; break;
            case SnapshotCopyState.DryRun: _dryRun++; break;
            default: _other++; break;
        }
    }

    private void RefreshProgress(bool force)
    {
        if (_progress is null || (!force && !_progress.IsDue))
        {
            return;
        }
        var progress = SafeProgress();
        if (progress is not null)
        {
            _progress.Write(progress);
        }
    }

    private IReadOnlyList<RegionProgress>? SafeProgress()
    {
        try
        {
            return _job?.GetProgress();
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    private void WriteSummary()
    {
        if (_requests == 0)
        {
            return;
        }
        var elapsed = DateTime.UtcNow - _startedUtc;
        var parts = new List<string>();
        if (_completed > 0) parts.Add($"{_completed} completed");
        if (_dryRun > 0) parts.Add($"{_dryRun} dry run");
        if (_failed > 0) parts.Add($"{_failed} failed");
        if (_timedOut > 0) parts.Add($"{_timedOut} timed out");
        if (_other > 0) parts.Add($"{_other} other");
        var summary = string.Format(CultureInfo.InvariantCulture, "Copy-AvSnapshot: {0} {1} in {2:hh\\:mm\\:ss}: {3}.",
            _requests, _requests == 1 ? "copy" : "copies", elapsed, parts.Count == 0 ? "none finished" : string.Join(", ", parts));
        WriteVerbose(summary);
        try
        {
            var statistics = _job?.Statistics;
            if (statistics is not null)
            {
                var calls = string.Join(", ", statistics.Calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
                WriteVerbose(string.Format(CultureInfo.InvariantCulture,
                    "EC2 calls: {0}; throttled {1}, retries {2}, copy limit hits {3}, uncertain outcomes {4}, duplicates removed {5}.",
                    calls.Length == 0 ? "none" : calls, statistics.Throttled, statistics.Retries, statistics.LimitExceeded,
                    statistics.UncertainOutcomes, statistics.DuplicatesRemoved));
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    // ---- Job and context ------------------------------------------------------------------------------------

    /// <param name="regionHint">The region of the current input object, used as the context's region when no
    /// -SourceRegion was given on the command line.</param>
    private AwsContext EnsureContext(string? regionHint)
    {
        if (_context is null)
        {
            // Writes where credentials and region came from (never a secret) and warns about an unknown region.
            _context = ResolveAwsContext(_sourceRegionFromCommandLine ? SourceRegion : regionHint);
            _checkedRegions.Add(_context.Region);
        }
        return _context;
    }

    private CopyJob EnsureJob(string? regionHint)
    {
        if (_job is not null)
        {
            return _job;
        }
        var context = EnsureContext(regionHint);
        _clients = CreateClientSource(context);
        var options = new CopyJobOptions
        {
            ThrottleLimit = ThrottleLimit,
            Timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null,
            DryRun = DryRun.IsPresent,
        };
        _startedUtc = DateTime.UtcNow;
        _job = CopyEngine.Shared.StartJob(_clients, options, _cancellation.Token);
        _progress = new CopyProgressWriter(WriteProgress, ThrottleLimit, ProgressInterval);
        return _job;
    }

    private void CancelAndRelease()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        Release();
    }

    private void Release()
    {
        var job = Interlocked.Exchange(ref _job, null);
        var clients = Interlocked.Exchange(ref _clients, null);
        try
        {
            job?.Dispose();
        }
        finally
        {
            clients?.Dispose();
        }
    }

    private bool IsWhatIf()
    {
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound))
        {
            return LanguagePrimitives.IsTrue(bound);
        }
        return LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));
    }

    // ---- Parameters → requests ----------------------------------------------------------------------------

    /// <summary>The source region of the current pipeline record: -SourceRegion from the command line wins; an input
    /// object with a SnapshotId and a Region lives in that Region (see <see cref="InputObject"/>); otherwise whatever
    /// bound by property name (SourceRegion, then Region), else the context's region (null here).</summary>
    private string? RecordSourceRegion()
    {
        if (_sourceRegionFromCommandLine)
        {
            return SourceRegion;
        }
        if (InputObject is { } input && input.BaseObject is not string)
        {
            var id = input.Properties["SnapshotId"]?.Value;
            var region = input.Properties["Region"]?.Value;
            // A RegionEndpoint (of any AWSSDK load) carries its name in SystemName; anything else is read as text.
            var systemName = region is null || region is string ? null : PSObject.AsPSObject(region).Properties["SystemName"]?.Value as string;
            var regionText = systemName ?? (region is null ? null : LanguagePrimitives.ConvertTo<string>(region));
            if (id is not null && !string.IsNullOrWhiteSpace(regionText))
            {
                return regionText!.Trim();
            }
        }
        return string.IsNullOrWhiteSpace(SourceRegion) ? null : SourceRegion!.Trim();
    }

    private IEnumerable<string> Destinations(string sourceRegion)
    {
        if (DestinationRegion is { Length: > 0 } regions)
        {
            return regions.Select(r => r.Trim()).Distinct(StringComparer.Ordinal);
        }
        if (_outpostRegion is not null)
        {
            return new[] { _outpostRegion };
        }
        if (_localZoneRegion is not null)
        {
            return new[] { _localZoneRegion };
        }
        return new[] { sourceRegion };
    }

    private string DestinationLabel(string destination) =>
        DestinationOutpostArn is { Length: > 0 } outpost ? $"{destination} (Outpost {outpost})"
        : DestinationAvailabilityZone is { Length: > 0 } zone ? $"{destination} (Local Zone {zone})"
        : destination;

    private SnapshotCopyRequest CreateRequest(string snapshotId, string sourceRegion, string destination) => new()
    {
        SourceSnapshotId = snapshotId,
        SourceRegion = sourceRegion,
        DestinationRegion = destination,
        DestinationOutpostArn = DestinationOutpostArn,
        DestinationAvailabilityZone = DestinationAvailabilityZone,
        Encrypted = _encrypt,
        KmsKeyId = KmsKeyId,
        DescriptionTemplate = Description ?? SnapshotCopyRequest.DefaultDescriptionTemplate,
        Tags = new Dictionary<string, string>(_tags, StringComparer.Ordinal),
        CopyTags = CopyTags.IsPresent,
        CompletionDurationMinutes = CompletionDurationMinutes,
    };

    /// <summary>Rules that can be checked before any call: Outpost and Local Zone destinations, KMS key region, tags,
    /// region names. Violations are terminating InvalidArgument errors.</summary>
    private void ValidateParameterCombinations()
    {
        _encrypt = Encrypted.IsPresent || KmsKeyId is not null;
        var destinations = DestinationRegion?.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).ToArray();

        if (DestinationOutpostArn is { } outpostArn)
        {
            var match = OutpostArnPattern.Match(outpostArn.Trim());
            if (!match.Success)
            {
                Fail("InvalidOutpostArn", nameof(DestinationOutpostArn), outpostArn,
                    $"'{outpostArn}' is not an Outpost ARN (arn:aws:outposts:REGION:ACCOUNT:outpost/op-0123456789abcdef0).",
                    "Pass the ARN of the Outpost, e.g. from Get-OUTPOutpostList or the Outposts console.");
            }
            _outpostRegion = match.Groups["region"].Value;
            if (destinations is { Length: > 0 } && (destinations.Length != 1 || destinations[0] != _outpostRegion))
            {
                Fail("OutpostRegionMismatch", nameof(DestinationOutpostArn), outpostArn,
                    $"The Outpost {outpostArn} belongs to {_outpostRegion}; -DestinationRegion must be that one region (or be left out).",
                    $"Leave out -DestinationRegion or pass -DestinationRegion {_outpostRegion}.");
            }
            if (!_encrypt)
            {
                WriteVerbose("Copies to an Outpost are always encrypted: -Encrypted is implied.");
            }
            _encrypt = true;
        }

        if (DestinationAvailabilityZone is { } zone)
        {
            var match = LocalZonePattern.Match(zone.Trim());
            if (!match.Success)
            {
                Fail("InvalidLocalZone", nameof(DestinationAvailabilityZone), zone,
                    $"'{zone}' is not a Local Zone name (e.g. us-west-2-lax-1a).",
                    "Pass the name of a Local Zone of the destination region (Get-EC2AvailabilityZone -Filter @{Name='zone-type';Values='local-zone'}).");
            }
            if (destinations is { Length: > 0 })
            {
                var mismatch = destinations.Length != 1 || !zone.StartsWith(destinations[0] + "-", StringComparison.Ordinal);
                if (mismatch)
                {
                    Fail("LocalZoneRegionMismatch", nameof(DestinationAvailabilityZone), zone,
                        $"The Local Zone {zone} is not in {string.Join(", ", destinations)}; a Local Zone belongs to exactly one region.",
                        "Pass the one region the Local Zone belongs to as -DestinationRegion, or leave -DestinationRegion out.");
                }
                _localZoneRegion = destinations[0];
            }
            else
            {
                _localZoneRegion = match.Groups["region"].Value;
            }
        }

        if (KmsKeyId is { } key)
        {
            var match = KmsArnPattern.Match(key.Trim());
            if (match.Success)
            {
                var keyRegion = match.Groups["region"].Value;
                var targets = destinations is { Length: > 0 } ? destinations
                    : _outpostRegion is not null ? new[] { _outpostRegion }
                    : _localZoneRegion is not null ? new[] { _localZoneRegion }
                    : null; // default destination = the source region: checked by EC2
                var foreign = targets?.Where(t => t != keyRegion).ToArray();
                if (foreign is { Length: > 0 })
                {
                    Fail("KmsKeyRegionMismatch", nameof(KmsKeyId), key,
                        $"The KMS key {key} is in {keyRegion}, but copies go to {string.Join(", ", foreign)}; KMS keys are regional.",
                        "Copy to each region in its own call with a key of that region, or pass a key alias (e.g. alias/backup) that exists in every destination.");
                }
            }
        }

        _tags = ConvertTags(Tag);
    }

    private Dictionary<string, string> ConvertTags(Hashtable? table)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null)
        {
            return tags;
        }
        foreach (DictionaryEntry entry in table)
        {
            var key = entry.Key is PSObject pk ? pk.BaseObject?.ToString() : entry.Key?.ToString();
            var value = entry.Value is null ? "" : LanguagePrimitives.ConvertTo<string>(entry.Value) ?? "";
            if (string.IsNullOrWhiteSpace(key))
            {
                Fail("InvalidTagKey", nameof(Tag), key, "Tag keys must not be empty.", null);
            }
            var prefix = ReservedTagPrefixes.FirstOrDefault(p => key!.StartsWith(p, StringComparison.OrdinalIgnoreCase));
            if (prefix is not null)
            {
                Fail("ReservedTagKey", nameof(Tag), key,
                    $"The tag key '{key}' uses the reserved prefix '{prefix}' (aws: belongs to AWS; avtomat: marks the provenance of copies).",
                    "Choose a tag key without the aws: or avtomat: prefix.");
            }
            if (key!.Length > MaxTagKeyLength)
            {
                Fail("InvalidTagKey", nameof(Tag), key, $"The tag key '{key}' is longer than {MaxTagKeyLength} characters.", null);
            }
            if (value.Length > MaxTagValueLength)
            {
                Fail("InvalidTagValue", nameof(Tag), key, $"The value of the tag '{key}' is longer than {MaxTagValueLength} characters.", null);
            }
            if (tags.ContainsKey(key))
            {
                Fail("DuplicateTagKey", nameof(Tag), key, $"The tag key '{key}' is given twice.", null);
            }
            tags.Add(key, value);
        }
        if (tags.Count > MaxUserTags)
        {
            Fail("TooManyTags", nameof(Tag), tags.Count,
                $"{tags.Count} tags given; a snapshot holds 50 and each copy also gets 3 provenance tags, so at most {MaxUserTags}.", null);
        }
        return tags;
    }

    /// <summary>Warns once per region name that is well-formed but unknown to the SDK (the context warns for its own).</summary>
    private void WarnOnce(string region, string source)
    {
        if (_checkedRegions.Add(region))
        {
            WarnIfUnknownRegion(region, source);
        }
    }

    private void Fail(string errorId, string parameterName, object? value, string message, string? recommendedAction) =>
        ThrowTerminatingError(ErrorRecordFactory.InvalidParameter(errorId, parameterName, value, message, recommendedAction));
}
