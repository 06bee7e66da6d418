using System;
using System.Collections.Generic;
using System.Management.Automation;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
using Avtomat.Ec2.Engine.Context;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Engine.Waiting;
using Avtomat.Ec2.Progress;
using Avtomat.Ec2.Validation;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// <para type="synopsis">Waits for EBS snapshots (new snapshots or copies) to complete, with progress, and outputs each as
/// it completes.</para>
/// </summary>
/// <remarks>
/// A thin cmdlet over the engine's <see cref="WaitJob"/>: every snapshot any cmdlet in the process tracks in a region is
/// covered by one batched DescribeSnapshots call per tick (the shared poller).
/// </remarks>
[Cmdlet(VerbsLifecycle.Wait, "AvSnapshot", HelpUri = "https://github.com/avtomat/Avtomat.Ec2#usage")]
[OutputType(typeof(SnapshotResult))]
public sealed class WaitAvSnapshotCommand : EngineCmdlet<object, SnapshotResult>
{
    // ---- Parameters -------------------------------------------------------------------------------------------

    /// <summary>The snapshots to wait for. Binds strings, New-AvSnapshot and Copy-AvSnapshot results (their SnapshotId
    /// and Region), Get-EC2Snapshot output and any object with a SnapshotId property.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("SnapshotIds")]
    [ValidateNotNullOrEmpty]
    [ValidateSnapshotId]
    public string[] SnapshotId { get; set; } = Array.Empty<string>();

    /// <summary>The region the snapshots are in (the region the calls go to, like AWS Tools' -Region and the AWS CLI's
    /// --region). From the command line it wins; default: the input object's Region, else the region of the AWS context.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("RegionToCall")]
    [ValidateNotNullOrEmpty]
    [ValidateRegion]
    [ArgumentCompleter(typeof(RegionCompleter))]
    public string? Region { get; set; }


    /// <summary>Return as soon as the first snapshot finishes (completed or error), like Wait-Job -Any.</summary>
    [Parameter]
    public SwitchParameter Any { get; set; }

    // ---- State ------------------------------------------------------------------------------------------------

    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private bool _regionFromCommandLine;

    private protected override string CommandLabel => "Wait-AvSnapshot";

    private protected override (string Singular, string Plural) SummaryNoun => ("snapshot", "snapshots");

    // ---- Pipeline ---------------------------------------------------------------------------------------------

    protected override void BeginProcessing()
    {
        CheckSwitchValues();
        _regionFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Region));
        // As for the other cmdlets: when input objects may carry their own region, the context waits for the first one.
        if (_regionFromCommandLine || !MyInvocation.ExpectingInput)
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
        var recordRegion = string.IsNullOrWhiteSpace(Region) ? null : Region!.Trim();
        var recordFrom = _regionFromCommandLine ? "-Region" : PipedObject;
        if (recordRegion is not null && !_regionFromCommandLine)
        {
            WarnOnce(recordRegion, "the input object");
        }
        var record = recordRegion is null ? ((string, string)?)null : (recordRegion, recordFrom);
        foreach (var raw in SnapshotId)
        {
            var id = raw.Trim();
            var region = recordRegion ?? Context(record).Region;
            WriteProvenance("Snapshot region", region, recordRegion is null ? ContextLabel : recordFrom);
            if (!_queued.Add($"{region}/{id}"))
            {
                WriteWarning($"{id} ({region}) was already given; it is waited for once.");
                continue;
            }
            var job = EnsureJob(record);
            if (Any && job.IsFinished)
            {
                break; // -Any: a snapshot already finished; the wait is over
            }
            try
            {
                job.Add(id, region);
            }
            catch (InvalidOperationException) when (Any)
            {
                break; // -Any: the first snapshot finished while input was still arriving
            }
            Requests++;
        }
    });

    private protected override IReadOnlyList<ProgressNode> ToProgress(IReadOnlyList<RegionProgress> progress) =>
        SnapshotProgressView.ForWait(progress);

    private WaitJob EnsureJob((string Region, string Source)? record) =>
        StartOnce(() => Context(record), SnapshotProgressSlots, new WaitJobOptions { Any = Any.IsPresent },
            SnapshotEngine.Shared.StartWaitJob);

    /// <summary>The AWS context: its region is -Region from the command line, else the defaults ($StoredAWSRegion, …),
    /// else — with no default set — the first input object's region.</summary>
    private AwsContext Context((string Region, string Source)? record) =>
        EnsureContext(_regionFromCommandLine ? Region : null, "-Region", _regionFromCommandLine ? null : record);
}
