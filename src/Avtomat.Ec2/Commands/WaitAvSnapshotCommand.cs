using System;
using System.Collections.Generic;
using System.Management.Automation;
using Avtomat.Ec2.Context;
using Avtomat.Ec2.Engine;
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
    [ValidateNotNullOrEmpty]
    [ValidateSnapshotId]
    public string[] SnapshotId { get; set; } = Array.Empty<string>();

    /// <summary>The region the snapshots are in. Default: the input object's Region, else the region of the AWS context.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
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
        if (recordRegion is not null && !_regionFromCommandLine)
        {
            WarnOnce(recordRegion, "the input object");
        }
        foreach (var raw in SnapshotId)
        {
            var id = raw.Trim();
            var region = recordRegion ?? EnsureContext(null).Region;
            if (!_queued.Add($"{region}/{id}"))
            {
                WriteWarning($"{id} ({region}) was already given; it is waited for once.");
                continue;
            }
            var job = EnsureJob(recordRegion);
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

    private WaitJob EnsureJob(string? regionHint) =>
        StartOnce(_regionFromCommandLine ? Region : regionHint, SnapshotProgressSlots, new WaitJobOptions { Any = Any.IsPresent },
            SnapshotEngine.Shared.StartWaitJob);
}
