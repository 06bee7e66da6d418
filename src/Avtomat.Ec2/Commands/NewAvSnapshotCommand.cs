using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Create;
using Avtomat.Ec2.Progress;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// <para type="synopsis">Creates EBS snapshots of volumes, or crash-consistent sets of all volumes of instances, paced
/// under EC2's limits, and waits for them to complete (or, with -NoWait, outputs each as soon as EC2 accepted it).</para>
/// </summary>
/// <remarks>
/// A thin cmdlet: it binds parameters, asks ShouldProcess per volume or instance, hands
/// <see cref="SnapshotCreateRequest"/>s and <see cref="InstanceSnapshotRequest"/>s to the shared engine's
/// <see cref="CreateJob"/> and turns its events into Write* calls on the pipeline thread. Pacing, per-volume rules,
/// duplicate protection and polling live in the engine.
/// </remarks>
[Cmdlet(VerbsCommon.New, "AvSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ByVolumeSet, HelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage")]
[OutputType(typeof(SnapshotResult))]
public sealed class NewAvSnapshotCommand : StartCmdlet<object, SnapshotResult>
{
    public const string ByVolumeSet = "ByVolume";
    public const string ByInstanceSet = "ByInstance";

    /// <summary>The engine adds provenance tags (source volume or instance, request token) to each snapshot.</summary>
    private const int ProvenanceTags = 3;

    // ---- Parameters -------------------------------------------------------------------------------------------

    /// <summary>The volumes to snapshot. Binds strings, Get-EC2Volume output (Amazon.EC2.Model.Volume), objects with a
    /// VolumeId property and the module's own results.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByVolumeSet)]
    [RejectBoolean]
    [ValidateNotNullOrEmpty]
    [ValidateVolumeId]
    public string[] VolumeId { get; set; } = Array.Empty<string>();

    /// <summary>Snapshot all volumes of these instances together, crash-consistent (CreateSnapshots): one result per volume.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByInstanceSet)]
    [ValidateNotNullOrEmpty]
    [ValidateInstanceId]
    public string[] InstanceId { get; set; } = Array.Empty<string>();

    /// <summary>With -InstanceId: leave the root (boot) volume out of the set.</summary>
    [Parameter(ParameterSetName = ByInstanceSet)]
    public SwitchParameter ExcludeBootVolume { get; set; }

    /// <summary>The region of the volumes or instances: the region the calls go to, as in New-EC2Snapshot. From the command
    /// line it wins; default: the input object's Region (or the region of its AvailabilityZone), else the region of the
    /// AWS context.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("RegionToCall")]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }

    /// <summary>Description template: {VolumeId}, {VolumeName} (the Name tag), {InstanceId}. Position 1, as in
    /// New-EC2Snapshot.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNull]
    public string? Description { get; set; }

    /// <summary>Tags for the snapshots, set at creation.</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable? Tag { get; set; }

    /// <summary>Copy each volume's tags onto its snapshot (aws: keys are skipped; -Tag wins).</summary>
    [Parameter]
    public SwitchParameter CopyVolumeTags { get; set; }

    /// <summary>Create the snapshots on this Outpost (for volumes on an Outpost).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutpostArn { get; set; }

    /// <summary>Where the snapshots are stored: regional (in the region) or local (on the Outpost or in the Local Zone of the volume).</summary>
    [Parameter]
    [ValidateSet("regional", "local")]
    public string? Location { get; set; }

    /// <summary>Do not ask for confirmation (AWS.Tools' -Force); -WhatIf still wins.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The pipeline object as a whole (hidden): lets the cmdlet read the region of objects that carry no Region
    /// property but an AvailabilityZone (Get-EC2Volume output), so volumes are snapshotted where they live.</summary>
    [PipelineInput]
    public PSObject? InputObject { get; set; }

    // ---- State ------------------------------------------------------------------------------------------------

    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private bool _regionFromCommandLine;
    private Dictionary<string, string> _tags = new(StringComparer.Ordinal);

    private protected override string CommandLabel => "New-AvSnapshot";

    private protected override string? LeftRunningHint => "Wait for them with Wait-AvSnapshot -SnapshotId <id> -Region <region>.";

    private protected override string RunningLabel(SnapshotResult result) => $"{result.SnapshotId} ({result.Region}, of {result.VolumeId ?? result.InstanceId})";

    private protected override (string Singular, string Plural) SummaryNoun =>
        ParameterSetName == ByInstanceSet ? ("instance", "instances") : ("volume", "volumes");

    // ---- Pipeline ---------------------------------------------------------------------------------------------

    protected override void BeginProcessing()
    {
        CheckAwsToolsHabits("New-AvSnapshot ...");
        _regionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Region));
        if (DescriptionPlaceholders.Warning(Description, new[] { "{VolumeId}", "{VolumeName}", "{InstanceId}" }) is { } unknown)
        {
            WriteWarning(unknown);
        }
        // The description's length as far as it is known now: ids at their shortest, the Name tag empty. Each volume's or
        // instance's is checked again in ProcessRecord.
        if (Description is { } description
            && DescriptionPlaceholders.TooLong(description, DescriptionTemplate.FillForSnapshot(description, "vol-00000000", null,
                ParameterSetName == ByInstanceSet ? "i-00000000" : null)) is { } tooLong)
        {
            ThrowTerminatingError(tooLong);
        }
        if (OutpostArn is { } outpost && Validation.OutpostArn.RegionOf(outpost) is null)
        {
            Fail("InvalidOutpostArn", nameof(OutpostArn), outpost, $"'{outpost}' is not an Outpost ARN ({Validation.OutpostArn.Example}).",
                "Pass the ARN of the Outpost the volumes are on, e.g. from Get-OUTPOutpostList or the Outposts console.");
        }
        try
        {
            _tags = TagParameter.Convert(Tag, TagSpecification, ProvenanceTags, "each snapshot");
        }
        catch (ParameterValueException e)
        {
            ThrowTerminatingError(e.ErrorRecord);
        }
        if (!IsWhatIf() && (_regionFromCommandLine || !MyInvocation.ExpectingInput))
        {
            EnsureJob(null);
        }
        if (Region is { } region)
        {
            WarnOnce(region.Trim(), "-Region");
        }
    }

    protected override void ProcessRecord() => Guarded(() =>
    {
        var (inputRegion, inputFrom) = RecordRegion();
        if (inputRegion is not null && !_regionFromCommandLine && !CheckInputRegion(inputRegion, nameof(Region)))
        {
            return;
        }
        var record = inputRegion is null ? ((string, string)?)null : (inputRegion, inputFrom!);
        var byInstance = ParameterSetName == ByInstanceSet;
        foreach (var raw in byInstance ? InstanceId : VolumeId)
        {
            var id = raw.Trim();
            var region = inputRegion ?? Context(record).Region;
            WriteProvenance(byInstance ? "Instance region" : "Volume region", region, inputFrom ?? ContextLabel);
            if (Description is { } description
                && DescriptionPlaceholders.TooLong(description, byInstance
                    ? DescriptionTemplate.FillForSnapshot(description, "vol-00000000", null, id)
                    : DescriptionTemplate.FillForSnapshot(description, id, null, null), $"{id} ({region})") is { } tooLong)
            {
                WriteError(tooLong);
                continue;
            }
            if (!_queued.Add($"{region}/{id}"))
            {
                WriteWarning($"{id} ({region}) was already given; it is snapshotted once.");
                continue;
            }
            var action = byInstance
                ? ExcludeBootVolume ? "Create snapshots of all volumes except the boot volume (crash-consistent set)" : "Create snapshots of all volumes (crash-consistent set)"
                : "Create snapshot";
            if (!ConfirmShouldProceed(Force.IsPresent, $"{id} ({region})", action))
            {
                _queued.Remove($"{region}/{id}");
                continue;
            }
            var job = EnsureJob(record);
            if (byInstance)
            {
                job.Add(new InstanceSnapshotRequest
                {
                    InstanceId = id,
                    Region = region,
                    ExcludeBootVolume = ExcludeBootVolume.IsPresent,
                    DescriptionTemplate = Description ?? InstanceSnapshotRequest.DefaultDescriptionTemplate,
                    Tags = new Dictionary<string, string>(_tags, StringComparer.Ordinal),
                    CopyVolumeTags = CopyVolumeTags.IsPresent,
                    OutpostArn = OutpostArn,
                    Location = Location,
                });
            }
            else
            {
                job.Add(new SnapshotCreateRequest
                {
                    VolumeId = id,
                    Region = region,
                    DescriptionTemplate = Description ?? SnapshotCreateRequest.DefaultDescriptionTemplate,
                    Tags = new Dictionary<string, string>(_tags, StringComparer.Ordinal),
                    CopyVolumeTags = CopyVolumeTags.IsPresent,
                    OutpostArn = OutpostArn,
                    Location = Location,
                });
            }
            Requests++;
        }
    });

    private protected override IReadOnlyList<ProgressNode> ToProgress(IReadOnlyList<RegionProgress> progress) =>
        SnapshotProgressView.ForCreate(progress);

    private protected override string? AcceptedMessage(SnapshotResult result)
    {
        var source = result.InstanceId is { Length: > 0 } instance && result.VolumeId is { Length: > 0 } volume
            ? $"{volume} of {instance}"
            : result.VolumeId ?? result.InstanceId;
        return $"{source} ({result.Region}) → {result.SnapshotId} accepted";
    }

    // ---- Job ----------------------------------------------------------------------------------------------------

    /// <summary>The region of the current record and where it came from: -Region from the command line wins; then the
    /// input object's Region, or the region of its AvailabilityZone; then -Region bound by property name; else null (the
    /// context's region).</summary>
    private (string? Region, string? Source) RecordRegion()
    {
        if (_regionFromCommandLine)
        {
            return (Region!.Trim(), "-Region");
        }
        if (InputObjectRegion.Read(InputObject, fromAvailabilityZone: true) is { } region)
        {
            return (region, PipedObject);
        }
        return string.IsNullOrWhiteSpace(Region) ? (null, null) : (Region!.Trim(), PipedObject);
    }

    private CreateJob EnsureJob((string Region, string Source)? record) =>
        StartOnce(() => Context(record), SnapshotProgressSlots,
            new CreateJobOptions { DryRun = DryRun.IsPresent, NoWait = NoWait.IsPresent }, SnapshotEngine.Shared.StartCreateJob);

    /// <summary>The AWS context: its region is -Region from the command line, else the defaults ($StoredAWSRegion, …),
    /// else — with no default set — the first input object's region.</summary>
    private AwsContext Context((string Region, string Source)? record) =>
        EnsureContext(_regionFromCommandLine ? Region : null, "-Region", _regionFromCommandLine ? null : record);
}
