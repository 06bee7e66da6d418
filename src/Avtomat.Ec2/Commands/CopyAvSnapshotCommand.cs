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
/// <see cref="SnapshotEngine"/> and turns the job's events into Write* calls on the pipeline thread. Every AWS call, retry,
/// poll and limit lives in the engine.
/// </remarks>
[Cmdlet(VerbsCommon.Copy, "AvSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ToRegionSet, HelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage")]
[OutputType(typeof(SnapshotCopyResult))]
public sealed class CopyAvSnapshotCommand : StartCmdlet<SnapshotCopyRequest, SnapshotCopyResult>
{
    public const string ToRegionSet = "ToRegion";
    public const string ToOutpostSet = "ToOutpost";
    public const string ToLocalZoneSet = "ToLocalZone";

    /// <summary>The engine adds three provenance tags to each copy.</summary>
    private static readonly int ProvenanceTags = CopyTagNames.All.Length;

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

    /// <summary>Copy even when this module already copied the source to the destination. Without it the command resumes:
    /// completed copies from earlier runs are output as Reused, pending ones are waited for.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The pipeline object as a whole (hidden). By-property-name binding prefers a property named like the
    /// parameter (SourceRegion) over its alias (Region); for objects that carry a SnapshotId together with the Region it
    /// lives in — our own results, whose SourceRegion is where the *previous* copy came from — the snapshot must be
    /// read from Region. This parameter lets the cmdlet see the whole object to get that right.</summary>
    [PipelineInput]
    public PSObject? InputObject { get; set; }

    // ---- State ------------------------------------------------------------------------------------------------

    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private bool _sourceRegionFromCommandLine;
    private string? _outpostRegion;
    private string? _localZoneRegion;
    private bool _encrypt;
    private Dictionary<string, string> _tags = new(StringComparer.Ordinal);

    // ---- Pipeline ---------------------------------------------------------------------------------------------

    protected override void BeginProcessing()
    {
        _sourceRegionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(SourceRegion));
        ValidateParameterCombinations();
        if (DescriptionPlaceholders.Warning(Description, new[] { "{SourceSnapshotId}", "{SourceRegion}", "{SourceDescription}" }) is { } unknown)
        {
            WriteWarning(unknown);
        }

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

    protected override void ProcessRecord() => Guarded(() =>
    {
        var sourceRegion = RecordSourceRegion();
        if (sourceRegion is not null && !_sourceRegionFromCommandLine && !CheckInputRegion(sourceRegion, nameof(SourceRegion)))
        {
            return;
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
                Requests++;
            }
        }
    });

    // ---- Engine events → Write* (pipeline thread only) -----------------------------------------------------------

    private protected override string CommandLabel => "Copy-AvSnapshot";

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

    /// <param name="regionHint">The region of the current input object, used as the context's region when no
    /// -SourceRegion was given on the command line.</param>
    private CopyJob EnsureJob(string? regionHint) =>
        StartOnce(_sourceRegionFromCommandLine ? SourceRegion : regionHint, ThrottleLimit,
            new CopyJobOptions { ThrottleLimit = ThrottleLimit, DryRun = DryRun.IsPresent, NoWait = NoWait.IsPresent, Force = Force.IsPresent },
            SnapshotEngine.Shared.StartCopyJob);

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
        if (InputObjectRegion.Has(InputObject, "SnapshotId") && InputObjectRegion.Read(InputObject, fromAvailabilityZone: false) is { } region)
        {
            return region;
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

        try
        {
            _tags = TagParameter.Convert(Tag, ProvenanceTags, "each copy");
        }
        catch (ParameterValueException e)
        {
            ThrowTerminatingError(e.ErrorRecord);
        }
    }
}
