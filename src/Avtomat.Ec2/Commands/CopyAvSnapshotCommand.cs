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
using Avtomat.Ec2.Engine.Context;
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
/// <see cref="SnapshotEngine"/> and turns the job's events into Write* calls on the pipeline thread. Every AWS call, retry,
/// poll and limit lives in the engine.
/// </remarks>
/// <summary>Copy-AvSnapshot's parameters, input and requests, shared with Measure-AvSnapshotCopy (which plans the same
/// requests instead of copying them).</summary>
public abstract class CopySnapshotsCmdlet : StartCmdlet<SnapshotCopyRequest, SnapshotCopyResult>
{
    public const string ToRegionSet = "ToRegion";
    public const string ToOutpostSet = "ToOutpost";
    public const string ToLocalZoneSet = "ToLocalZone";

    /// <summary>The provenance tags the engine adds to each copy (<see cref="CopyTagNames.All"/>).</summary>
    private static readonly int ProvenanceTags = CopyTagNames.All.Length;

    private static readonly Regex LocalZonePattern = new(
        @"^(?<region>[a-z]{2}(-[a-z]+)+-\d+)-[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant);
    private static readonly Regex KmsArnPattern = new(
        @"^arn:aws[a-z-]*:kms:(?<region>[a-z]{2}(-[a-z]+)+-\d+):\d{12}:(key|alias)/.+$", RegexOptions.CultureInvariant);

    // ---- Parameters -------------------------------------------------------------------------------------------

    /// <summary>The snapshots to copy. Binds strings, Amazon.EC2.Model.Snapshot objects (Get-EC2Snapshot), objects with
    /// a SnapshotId or SourceSnapshotId property and the module's own results. Position 0, as in Copy-EC2Snapshot.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("SourceSnapshotId")]
    [RejectBoolean]
    [ValidateNotNullOrEmpty]
    [ValidateSnapshotId]
    public string[] SnapshotId { get; set; } = Array.Empty<string>();

    /// <summary>The region the snapshots are in. Default: the input object's region, else the region of the AWS context.
    /// Position 1, as in Copy-EC2Snapshot.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [RejectBoolean]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? SourceRegion { get; set; }

    /// <summary>Where the copy is made: the region the CopySnapshot call goes to, as in Copy-EC2Snapshot (and AWS Tools'
    /// -Region: the AWS context's region). Default: the AWS context's region ($StoredAWSRegion, …). Never read from
    /// input objects. With -DestinationRegion it must name that same one region.</summary>
    [Parameter]
    [Alias("RegionToCall")]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    /// <summary>Where the copies go, several regions fanning out, each with its own window. Default: -Region, else the
    /// AWS context's region.</summary>
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

    /// <summary>Description template: {SourceSnapshotId}, {SourceRegion}, {SourceDescription}. Position 2, as in
    /// Copy-EC2Snapshot.</summary>
    [Parameter(Position = 2)]
    [ValidateNotNull]
    public string? Description { get; set; }

    /// <summary>Tags for the copies, set at creation.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Tag { get; set; }

    /// <summary>Copy the source snapshot's tags onto the copy (aws: keys are skipped; -Tag wins).</summary>
    [Parameter]
    public SwitchParameter CopyTags { get; set; }

    /// <summary>Time-based copy: complete within this many minutes (15..2880, in steps of 15). AWS.Tools spells it
    /// -CompletionDurationMinute.</summary>
    [Parameter]
    [Alias("CompletionDurationMinute")]
    [ValidateRange(15, 2880)]
    [ValidateMultipleOf(15)]
    public int? CompletionDurationMinutes { get; set; }

    /// <summary>Time-based copies: the account's cumulative snapshot copy throughput quota between a source and a
    /// destination region, in MiB/s (EC2's default 2,000; Service Quotas code L-E137849C). Copies are started only while
    /// their throughput fits under it, so none finishes late or is refused.</summary>
    [Parameter]
    [ValidateRange(1, 1_000_000)]
    public double CopyThroughputQuota { get; set; } = CopyJobOptions.DefaultTimeBasedThroughputQuota;

    /// <summary>Concurrent copies per destination region (EC2 allows 20 per region; the engine enforces that on top).</summary>
    [Parameter]
    [Alias("PendingLimit")]
    [ValidateRange(1, 100)]
    public int ThrottleLimit { get; set; } = 20;

    /// <summary>Do not ask for confirmation, as AWS.Tools' -Force; -WhatIf still wins. It does not change what is copied:
    /// the command still resumes (see -CopyAgain).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Copy again what an earlier run (or another process) already copied to the destination. Without it the
    /// command resumes: completed copies from earlier runs are output as Reused, pending ones are waited for.</summary>
    [Parameter]
    public SwitchParameter CopyAgain { get; set; }

    /// <summary>Make the copies in the account of this profile (a vault account), while the sources are read with the
    /// usual credentials (-ProfileName, -Credential, Set-AWSCredential, …): each source is shared with that account for
    /// its copy unless it already is, and the permission this command added is removed once its copies are final. Read
    /// from -ProfileLocation when given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DestinationProfileName { get; set; }

    /// <summary>As -DestinationProfileName, with an AWSCredentials object (Get-AWSCredential, New-AWSCredential, any
    /// AWSSDK build) for the destination account.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? DestinationCredential { get; set; }

    /// <summary>Copy-EC2Snapshot's presigned URL: not supported (hidden; an error says what to type instead).</summary>
    [Parameter(DontShow = true)]
    public string? PresignedUrl { get; set; }

    /// <summary>The pipeline object as a whole (hidden). Objects that carry a SnapshotId together with the Region it
    /// lives in — our own results, whose SourceRegion is where the *previous* copy came from — are copied from that
    /// Region; objects with only a Region (no SourceRegion) are read from it too (-Region is where the copy is made,
    /// never bound from input objects). This parameter lets the cmdlet see the whole object to get that right.</summary>
    [PipelineInput]
    public PSObject? InputObject { get; set; }

    // ---- State ------------------------------------------------------------------------------------------------

    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private bool _sourceRegionFromCommandLine;
    private bool _regionFromCommandLine;
    private string? _outpostRegion;
    private string? _localZoneRegion;
    private bool _encrypt;
    private Dictionary<string, string> _tags = new(StringComparer.Ordinal);

    // ---- Pipeline ---------------------------------------------------------------------------------------------

    protected override void BeginProcessing()
    {
        CheckAwsToolsHabits("Copy-AvSnapshot ...");
        if (MyInvocation.BoundParameters.ContainsKey(nameof(PresignedUrl)))
        {
            ThrowTerminatingError(AwsToolsHabits.NotSupported(nameof(PresignedUrl), RedactedUrl(PresignedUrl), "Copy-AvSnapshot",
                "the SDK signs a presigned URL for every copy itself (for the source region, as CopySnapshot needs).",
                "Leave -PresignedUrl out; -SourceRegion names the region the snapshot is in."));
        }
        _sourceRegionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(SourceRegion));
        _regionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Region));
        ValidateParameterCombinations();
        // The description's length as far as it is known now: ids and regions at their shortest ("snap-" and 8 digits,
        // a 9-letter region), the source's own description empty. Each snapshot's is checked again in ProcessRecord.
        if (Description is { } description
            && DescriptionPlaceholders.TooLong(description, DescriptionTemplate.Fill(description, "snap-00000000", "us-east-1", null)) is { } tooLong)
        {
            ThrowTerminatingError(tooLong);
        }
        if (DescriptionPlaceholders.Warning(Description, new[] { "{SourceSnapshotId}", "{SourceRegion}", "{SourceDescription}" }) is { } unknown)
        {
            WriteWarning(unknown);
        }

        // Start at once, so copying starts while upstream still produces. Two exceptions: under -WhatIf nothing is
        // resolved and no AWS call is made; and when input objects may carry their own region (no -Region or
        // -SourceRegion on the command line), the context waits for the first one, whose region serves as the context's
        // region when no default region is set, so `$copies | Copy-AvSnapshot` works without one.
        if (!IsWhatIf() && (_regionFromCommandLine || _sourceRegionFromCommandLine || !MyInvocation.ExpectingInput))
        {
            EnsureJob(null);
        }
        if (Region is { } region)
        {
            WarnOnce(region.Trim(), "-Region");
        }
        if (SourceRegion is { } source)
        {
            WarnOnce(source.Trim(), "-SourceRegion");
        }
        foreach (var destination in DestinationRegion ?? Array.Empty<string>())
        {
            WarnOnce(destination.Trim(), "-DestinationRegion");
        }
    }

    protected override void ProcessRecord() => Guarded(() =>
    {
        var (sourceRegion, sourceFrom) = RecordSourceRegion();
        if (sourceRegion is not null && !_sourceRegionFromCommandLine && !CheckInputRegion(sourceRegion, nameof(SourceRegion)))
        {
            return;
        }
        var record = sourceRegion is null ? ((string, string)?)null : (sourceRegion, sourceFrom!);
        foreach (var id in SnapshotId)
        {
            var snapshotId = id.Trim();
            var source = sourceRegion ?? Context(record).Region;
            WriteProvenance("Source region", source, sourceFrom ?? AssumedSourceLabel);
            if (Description is { } description
                && DescriptionPlaceholders.TooLong(description, DescriptionTemplate.Fill(description, snapshotId, source, null), $"{snapshotId} ({source})") is { } tooLong)
            {
                WriteError(tooLong);
                continue;
            }
            foreach (var destination in Destinations(source, record))
            {
                var key = $"{source}/{snapshotId}→{destination}";
                if (_queued.Contains(key))
                {
                    WriteWarning($"{snapshotId} ({source}) → {DestinationLabel(destination)} was already given; it is copied once.");
                    continue;
                }
                var action = IsVaultCopy
                    ? $"Share with {DestinationLabelForMessages} unless already shared, copy to {DestinationLabel(destination)} in that account, " +
                      "then remove the permission this command added"
                    : $"Copy to {DestinationLabel(destination)}";
                if (!ConfirmShouldProceed(Force.IsPresent, $"{snapshotId} ({source})", action))
                {
                    continue;
                }
                var job = EnsureJob(record);
                _queued.Add(key);
                job.Add(CreateRequest(snapshotId, source, destination));
                Requests++;
            }
        }
    });

    // ---- Engine events → Write* (pipeline thread only) -----------------------------------------------------------

    private protected override string CommandLabel => "Copy-AvSnapshot";

    private protected override string RegionParameterForHints => nameof(SourceRegion);

    /// <summary>Where a source region that neither -SourceRegion nor the input object named came from: it is assumed to
    /// be the AWS context's region, which is where the copy is made when that is -Region, so the line says so.</summary>
    private string AssumedSourceLabel =>
        ContextRegionIsFallback
            ? ContextLabel
            : $"the AWS context's region ({ContextRegionSource}), assumed because neither -SourceRegion nor the input names the snapshot's region";

    private protected override string? LeftRunningHint =>
        "Run the same command again to wait for them without copying again (it resumes), or pipe the results to Wait-AvSnapshot.";

    private protected override string RunningLabel(SnapshotCopyResult result) => $"{result.SnapshotId} ({result.Region}, from {result.SourceSnapshotId})";

    private protected override (string Singular, string Plural) SummaryNoun => ("copy", "copies");

    private protected override IReadOnlyList<ProgressNode> ToProgress(IReadOnlyList<RegionProgress> progress) => CopyProgressView.From(progress);

    private protected override string? AcceptedMessage(SnapshotCopyResult result)
    {
        var destination = result.DestinationOutpostArn is { Length: > 0 } outpost ? $"{result.Region}, Outpost {outpost}" : result.Region;
        return $"{result.SourceSnapshotId} ({result.SourceRegion}) → {result.SnapshotId} ({destination}) accepted";
    }

    // ---- Job ----------------------------------------------------------------------------------------------------

    /// <param name="record">The source region of the current input object and where it came from: the context's
    /// region when no -Region (and no default region) is set.</param>
    private CopyJob EnsureJob((string Region, string Source)? record) =>
        StartOnce(() => Context(record), ThrottleLimit,
            new CopyJobOptions
            {
                ThrottleLimit = ThrottleLimit, DryRun = DryRun.IsPresent, NoWait = NoWait.IsPresent, CopyAgain = CopyAgain.IsPresent,
                TimeBasedThroughputQuota = CopyThroughputQuota, Plan = Measuring,
            },
            IsVaultCopy ? StartVaultCopy : (Func<IEc2ClientSource, CopyJobOptions, CancellationToken, CopyJob>)SnapshotEngine.Shared.StartCopyJob);

    /// <summary>Measure-AvSnapshotCopy: the same requests, planned (read-only calls) instead of copied.</summary>
    private protected virtual bool Measuring => false;

    private bool IsVaultCopy => DestinationProfileName is not null || DestinationCredential is not null;

    /// <summary>A vault copy: the context's clients read (and share) the sources; the job makes its copies with the
    /// destination account's clients.</summary>
    private CopyJob StartVaultCopy(IEc2ClientSource sourceClients, CopyJobOptions options, System.Threading.CancellationToken cancellation)
    {
        var source = Context(null);
        var destination = OpenDestinationClients(source, DestinationProfileName, DestinationCredential);
        if (destination.Account == sourceClients.Account)
        {
            WriteWarning($"The destination credentials act in the same account as the source ({destination.Account.Replace("account:", "")}): " +
                         "the copies are made as usual, nothing is shared.");
            return SnapshotEngine.Shared.StartCopyJob(destination, options, cancellation);
        }
        foreach (var (account, which) in new[] { (sourceClients.Account, "source"), (destination.Account, "destination") })
        {
            if (!account.StartsWith("account:", StringComparison.Ordinal))
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                        $"The {which} account could not be learned (STS GetCallerIdentity did not answer), so the source cannot be shared with the destination account: " +
                        "a permission names an account id."),
                    "VaultAccountUnknown", ErrorCategory.ConnectionError, which == "source" ? "source credentials" : DestinationLabelForMessages)
                {
                    ErrorDetails = new ErrorDetails("") { RecommendedAction = "Check that STS is reachable (AWS_ENDPOINT_URL_STS for a private endpoint) and run the command again." },
                });
            }
        }
        options.SourceClients = sourceClients;
        return SnapshotEngine.Shared.StartCopyJob(destination, options, cancellation);
    }

    private string DestinationLabelForMessages =>
        DestinationProfileName is { } profile ? $"the account of profile '{profile}' (-DestinationProfileName)" : "the account of -DestinationCredential";

    /// <summary>The AWS context: its region is -Region (where the copy is made), else the defaults ($StoredAWSRegion, …),
    /// else — with no default set — -SourceRegion or the first input object's region.</summary>
    private AwsContext Context((string Region, string Source)? record) =>
        EnsureContext(_regionFromCommandLine ? Region : null, "-Region",
            _sourceRegionFromCommandLine ? (SourceRegion!.Trim(), "-SourceRegion") : record);

    // ---- Parameters → requests ----------------------------------------------------------------------------

    /// <summary>The source region of the current pipeline record and where it came from: -SourceRegion from the command
    /// line wins; an input object with a SnapshotId and a Region lives in that Region (see <see cref="InputObject"/>);
    /// then its SourceRegion (bound by property name), then its Region; else the context's region (null here).</summary>
    private (string? Region, string? Source) RecordSourceRegion()
    {
        if (_sourceRegionFromCommandLine)
        {
            return (SourceRegion!.Trim(), "-SourceRegion");
        }
        if (InputObjectRegion.Has(InputObject, "SnapshotId") && InputObjectRegion.Read(InputObject, fromAvailabilityZone: false) is { } region)
        {
            return (region, PipedObject);
        }
        if (!string.IsNullOrWhiteSpace(SourceRegion))
        {
            return (SourceRegion!.Trim(), PipedObject);
        }
        return InputObjectRegion.Read(InputObject, fromAvailabilityZone: false) is { } own ? (own, PipedObject) : (null, null);
    }

    /// <summary>Where the copies of a snapshot in <paramref name="sourceRegion"/> are made: -DestinationRegion (fan-out),
    /// the Outpost's or Local Zone's region, -Region, else the AWS context's region — as Copy-EC2Snapshot makes it —
    /// or, when no region is set anywhere, the source region itself.</summary>
    private IEnumerable<string> Destinations(string sourceRegion, (string Region, string Source)? record)
    {
        if (DestinationRegion is { Length: > 0 } regions)
        {
            return Provenance(regions.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).ToArray(), "-DestinationRegion");
        }
        if (_outpostRegion is not null)
        {
            return Provenance(new[] { _outpostRegion }, "-DestinationOutpostArn (the Outpost's region)");
        }
        if (_localZoneRegion is not null)
        {
            return Provenance(new[] { _localZoneRegion }, "-DestinationAvailabilityZone (the Local Zone's region)");
        }
        if (_regionFromCommandLine)
        {
            return Provenance(new[] { Region!.Trim() }, "-Region");
        }
        var context = Context(record);
        return ContextRegionIsFallback
            ? Provenance(new[] { sourceRegion }, "the source region (no -Region, -DestinationRegion or default region is set)")
            : Provenance(new[] { context.Region }, ContextLabel);
    }

    private string[] Provenance(string[] destinations, string source)
    {
        foreach (var destination in destinations)
        {
            WriteProvenance("Destination region", destination, source);
        }
        return destinations;
    }

    /// <summary>A URL for messages: scheme, host and path only (a presigned URL's query holds a signature and may hold a
    /// session token).</summary>
    private static string? RedactedUrl(string? url) =>
        url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}{uri.AbsolutePath}" : "(not a URL)";

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

    /// <summary>Rules that can be checked before any call: -Region with -DestinationRegion, Outpost and Local Zone
    /// destinations, KMS key region, tags, region names. Violations are terminating InvalidArgument errors.</summary>
    private void ValidateParameterCombinations()
    {
        _encrypt = Encrypted.IsPresent || KmsKeyId is not null;
        if (DestinationProfileName is not null && DestinationCredential is not null)
        {
            Fail("DestinationCredentialsConflict", nameof(DestinationCredential), DestinationCredential,
                "-DestinationProfileName and -DestinationCredential both name the destination account's credentials: give one.",
                "Leave out -DestinationCredential, or -DestinationProfileName.");
        }
        if (IsVaultCopy && NoWait.IsPresent)
        {
            Fail("VaultCopyNoWait", nameof(NoWait), true,
                "A copy into another account waits for its copies: it removes the permission it added on each source once its copies are final, which -NoWait would leave behind.",
                "Leave out -NoWait (a stopped run leaves running copies shared and says so; run the same command again to finish and clean up).");
        }
        if (IsVaultCopy && DestinationOutpostArn is not null)
        {
            Fail("VaultCopyToOutpost", nameof(DestinationOutpostArn), DestinationOutpostArn,
                "A copy into another account cannot go to an Outpost: the Outpost belongs to the account that makes the copy, and this command was not built for that.",
                "Copy to the Outpost with the destination account's credentials (-ProfileName) in a second command.");
        }
        var destinations = DestinationRegion?.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).ToArray();
        var destinationParameter = "-DestinationRegion";
        if (_regionFromCommandLine)
        {
            var region = Region!.Trim();
            // -Region is where the copy is made (the region Copy-EC2Snapshot calls); -DestinationRegion, in
            // Copy-EC2Snapshot the region named in the presigned URL, may repeat it but not contradict it.
            if (destinations is { Length: > 0 } && (destinations.Length != 1 || destinations[0] != region))
            {
                var sources = _sourceRegionFromCommandLine ? SourceRegion!.Trim() : region;
                Fail("RegionConflictsWithDestinationRegion", nameof(Region), Region,
                    $"-Region {region} names where the copy is made (the region Copy-EC2Snapshot calls), but -DestinationRegion names {string.Join(", ", destinations)}: give one or the other. (-Region is no longer an alias of -SourceRegion.)",
                    $"To copy from {sources} to {string.Join(", ", destinations)}, type -SourceRegion {sources} -DestinationRegion {string.Join(", ", destinations)}; to make the copy in {region}, leave -DestinationRegion out.");
            }
            destinations ??= new[] { region };
            destinationParameter = DestinationRegion is null ? "-Region" : destinationParameter;
        }

        if (DestinationOutpostArn is { } outpostArn)
        {
            _outpostRegion = OutpostArn.RegionOf(outpostArn);
            if (_outpostRegion is null)
            {
                Fail("InvalidOutpostArn", nameof(DestinationOutpostArn), outpostArn,
                    $"'{outpostArn}' is not an Outpost ARN ({OutpostArn.Example}).",
                    "Pass the ARN of the Outpost, e.g. from Get-OUTPOutpostList or the Outposts console.");
            }
            if (destinations is { Length: > 0 } && (destinations.Length != 1 || destinations[0] != _outpostRegion))
            {
                Fail("OutpostRegionMismatch", nameof(DestinationOutpostArn), outpostArn,
                    $"The Outpost {outpostArn} belongs to {_outpostRegion}; {destinationParameter} must be that one region (or be left out).",
                    $"Leave out {destinationParameter} or pass {destinationParameter} {_outpostRegion}.");
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
                        $"Pass the one region the Local Zone belongs to as {destinationParameter}, or leave {destinationParameter} out.");
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
                    : null; // default destination = the context's region: checked by EC2
                var foreign = targets?.Where(t => t != keyRegion).ToArray();
                if (foreign is { Length: > 0 })
                {
                    Fail("KmsKeyRegionMismatch", nameof(KmsKeyId), key,
                        $"The KMS key {key} is in {keyRegion}, but copies go to {string.Join(", ", foreign)}; KMS keys are regional.",
                        "Copy to each region in its own call with a key of that region, or pass a key alias (e.g. alias/backup) that exists in every destination.");
                }
            }
        }

        try
        {
            _tags = TagParameter.Convert(Tag, TagSpecification, ProvenanceTags, "each copy");
        }
        catch (ParameterValueException e)
        {
            ThrowTerminatingError(e.ErrorRecord);
        }
    }
}

[Cmdlet(VerbsCommon.Copy, "AvSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ToRegionSet, HelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage")]
[OutputType(typeof(SnapshotCopyResult))]
public sealed class CopyAvSnapshotCommand : CopySnapshotsCmdlet
{
}
